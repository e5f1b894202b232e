"""Status notifications to the reporter, as rule + action pairs (after Signalen).

A rule says whether a status change warrants a message on a channel, and names the action
that sends it: `email` (through `GATEWAY_SMTP_RELAY`, below) or `sms` (through Twilio,
workers/sms.py). E-mail: the acknowledgement of a mail and every status change of a reporter
with an address. SMS: every status change of a melding that came by SMS (the TwiML answer
acknowledged it already), the desk's question when it waits for the reporter's answer (a reply
SMS is threaded onto the melding), and an acknowledgement to a caller on a mobile number.

The reporter's own choice (`Reporter.feedback`, the web form's "by e-mail, SMS or not at all")
overrides the channel's way: `email` gets the acknowledgement and every status change by e-mail
only, `sms` by SMS only (question included, its reply threaded as for an SMS melding), `none`
nothing at all. No choice (None) is the channel's way above.

Every decision (sent, skipped and why, failed) is recorded per status change and channel, so
the desk can see it.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway import texts
from gateway.config import Settings
from gateway.melding import Channel, Melding, Stage, Status, StatusChange
from gateway.phonenumber import is_mobile


class NotificationError(Exception):
    pass


NOT_RELEVANT = "not relevant"  # the rule is not about this change: nothing is recorded


EMAIL, SMS = "email", "sms"  # the actions (and the reporter's choices of them, Reporter.feedback)
NONE = "none"  # the reporter's choice of no messages at all


@dataclass(frozen=True)
class Rule:
    channel: str  # recorded per status change: one decision per (change, channel)
    # None: send; NOT_RELEVANT: not this rule's business; anything else: why it is not sent
    applies: Callable[[Melding, StatusChange, Settings], str | None]
    template: str  # a message of gateway.texts: gateway/texts/<lang>/<template>.txt
    rate_limited: bool = False  # per sender and hour (GATEWAY_ACK_RATE_LIMIT)
    action: str = EMAIL


def by_sms(m: Melding) -> bool:
    """The reporter hears from us by SMS: chose it, or wrote by SMS and chose nothing."""
    return m.reporter.feedback == SMS or (m.reporter.feedback is None and m.channel == Channel.SMS)


def _acknowledge(m: Melding, change: StatusChange, settings: Settings) -> str | None:
    if change.status != Status.ONTVANGEN:
        return NOT_RELEVANT
    chosen = m.reporter.feedback
    if chosen != EMAIL and not (chosen is None and m.channel == Channel.EMAIL):
        return NOT_RELEVANT  # another way chosen, or a channel that answered the receipt itself
    if not m.reporter.email:
        return "sender address unknown"
    return None


def _status_mail(m: Melding, change: StatusChange, settings: Settings) -> str | None:
    if change.status == Status.ONTVANGEN:
        return NOT_RELEVANT  # receipt is acknowledged by the channel, not by a status mail
    if m.reporter.feedback == SMS:
        return NOT_RELEVANT  # the SMS rules tell this reporter
    if m.reporter.feedback == NONE:
        return "reporter chose no messages (follows the tracking page)"
    if not m.reporter.email:
        return "reporter gave no e-mail address"
    return None


def _status_sms(m: Melding, change: StatusChange, settings: Settings) -> str | None:
    # Receipt was answered by TwiML or the sms-ack rule; a question has its own rule.
    if not by_sms(m) or change.status in (Status.ONTVANGEN, Status.WACHTEN_OP_ANTWOORD):
        return NOT_RELEVANT
    return None if m.reporter.phone else "reporter gave no phone number"


def _question_sms(m: Melding, change: StatusChange, settings: Settings) -> str | None:
    if not by_sms(m) or change.status != Status.WACHTEN_OP_ANTWOORD:
        return NOT_RELEVANT
    return None if m.reporter.phone else "reporter gave no phone number"


def _acknowledge_call(m: Melding, change: StatusChange, settings: Settings) -> str | None:
    if m.channel != Channel.PHONE or change.status != Status.ONTVANGEN:
        return NOT_RELEVANT
    if m.reporter.feedback not in (None, SMS):
        return NOT_RELEVANT
    if m.stage == Stage.ANSWERED:
        return "call answered at once by the desk"
    if not settings.sms_ack_phone_calls:
        return "sms_ack_phone_calls is off"
    if not m.reporter.phone:
        return "caller number unknown"
    return None if is_mobile(m.reporter.phone) else "caller number is not a mobile number"


def _acknowledge_by_sms(m: Melding, change: StatusChange, settings: Settings) -> str | None:
    """The receipt of a melding whose reporter chose SMS (a call has its own text, above)."""
    if m.reporter.feedback != SMS or m.channel in (Channel.PHONE, Channel.SMS):
        return NOT_RELEVANT  # an SMS melding's receipt was the TwiML answer
    if change.status != Status.ONTVANGEN:
        return NOT_RELEVANT
    return None if m.reporter.phone else "reporter gave no phone number"


RULES: tuple[Rule, ...] = (
    Rule("email-ack", _acknowledge, "ack", rate_limited=True),
    Rule("email", _status_mail, "status"),
    Rule("sms-ack", _acknowledge_call, "sms.ack", action=SMS),
    # the same decision channel as a call's: the two never apply to one melding
    Rule("sms-ack", _acknowledge_by_sms, "sms.received", action=SMS),
    Rule("sms", _status_sms, "sms.status", action=SMS),
    Rule("sms-question", _question_sms, "sms.question", action=SMS),
)


def details(change: StatusChange, lang: str) -> list[str]:
    """The note written for the reporter, planned date and partner of a status change, as lines of a
    message; a duplicate link said in the reporter's language."""
    lines = []
    if change.citizen_note:
        lines.append(change.citizen_note)
    if change.links_duplicate:
        lines.append(texts.text("notification.linked", lang))
    if change.planned_date:
        lines.append(texts.text("notification.planned", lang, date=change.planned_date.strftime("%d/%m/%Y")))
    if change.external_partner:
        lines.append(texts.text("notification.partner", lang, partner=change.external_partner))
    return lines


def render_email(
    m: Melding, change: StatusChange, settings: Settings, templates: Path, template: str = "status"
) -> EmailMessage:
    lang = texts.language(m.language)
    lines = details(change, lang)
    text = texts.render(
        template,
        lang,
        templates_dir=templates,
        reference=m.reference,
        status=texts.status_label(change.status, lang),
        name=m.reporter.name or texts.text("mail.greeting_name", lang),
        details="\n".join(lines) + ("\n" if lines else ""),
        tracking_url=f"{settings.public_url}/t/{m.tracking_token}",
        original_subject=f": {m.subject}" if m.subject else "",
    )
    subject_line, body = text.split("\n", 1)
    msg = EmailMessage()
    msg["Subject"] = subject_line.removeprefix("Subject:").strip()
    msg["From"] = formataddr((texts.text("mail.from_name", lang), settings.email_address))
    msg["To"] = formataddr((m.reporter.name or "", m.reporter.email or ""))
    # Our Message-IDs carry the reference: a reply's In-Reply-To finds its melding again.
    msg["Message-ID"] = make_msgid(idstring=m.reference, domain=settings.email_address.split("@")[-1])
    if m.channel == Channel.EMAIL and m.external_id and not m.external_id.startswith("sha256:"):
        msg["In-Reply-To"] = f"<{m.external_id}>"
        msg["References"] = f"<{m.external_id}>"
    # Loop protection: auto-responders must not answer, and we recognise our own mail.
    msg["Auto-Submitted"] = "auto-replied" if template == "ack" else "auto-generated"
    msg["X-Loop"] = settings.email_address
    msg["X-Meldpunt-Reference"] = m.reference
    msg["Date"] = change.at.astimezone(ZoneInfo(settings.timezone))
    msg.set_content(body.lstrip("\n"))
    return msg


def _send_smtp(relay: str, msg: EmailMessage) -> None:
    host, _, port = relay.rpartition(":")
    if not host or not port.isdigit():
        raise NotificationError(f"GATEWAY_SMTP_RELAY must be host:port, got {relay!r}")
    try:
        with smtplib.SMTP(host, int(port), timeout=30) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotificationError(f"relay {relay}: {exc}") from exc


async def send_email(relay: str, msg: EmailMessage) -> None:
    await asyncio.to_thread(_send_smtp, relay, msg)
