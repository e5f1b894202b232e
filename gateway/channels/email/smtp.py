"""The SMTP listener: aiosmtpd on the gateway's own event loop.

- RCPT: only the meldpunt's addresses (550 otherwise: never an open relay).
- DATA is read by `smtp_data.read_data` (not aiosmtpd's own loop, which splits at CRLF only and
  removes dots before a hook sees them): 552 above `max_mail_bytes`, 500 for a line over 1,000
  bytes (lines end at CRLF or a bare LF).
- 250 only once `MailIntake.accept` returned (stored and queued); any failure to
  store answers 451 so that the sending server tries again later (a store outage,
  `StoreUnavailable`, is logged as a warning, anything else with its trace).
- SMTP smuggling: DATA ends only at <CRLF>.<CRLF>. A message that holds a lone "."
  line ended or started by a bare LF or CR (<LF>.<LF>, <LF>.<CRLF>, <CRLF>.<LF>,
  <CR>.<CR>) is refused with 554: another server may read it as the end of the data
  and a second, forged message after it. Other bare LFs are accepted: ordinary
  clients (Python's smtplib with bytes, scripts) send them.
- Every permanent refusal (550, 552, 554, 500) counts in
  `gateway_intake_rejected_total{channel="email",code}`.
- STARTTLS when a certificate is configured.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.channels.email.mailintake import CHANNEL, MailIntake
from gateway.channels.email.smtp_data import SMUGGLED, read_data
from gateway.config import ConfigError, Settings
from gateway.logs import mask_email
from gateway.store import StoreUnavailable

log = logging.getLogger(__name__)


class MeldpuntHandler:
    """aiosmtpd handler: the hooks decide, `MailIntake` stores."""

    def __init__(self, mail: MailIntake, addresses: set[str]):
        self.mail = mail
        self.addresses = {a.lower() for a in addresses}

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self.addresses:
            log.info("recipient refused", extra={"recipient": mask_email(address), "peer": str(session.peer)})
            self.refused("550")
            return (
                f"550 5.1.1 <{address}>: no such mailbox here; this server takes mail for the meldpunt only"
            )
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def refused(self, code: str) -> None:
        """A permanent refusal, counted as the HTTP channels count theirs (by its reply code)."""
        self.mail.intake.metrics.rejected(CHANNEL, code)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            outcome = await self.mail.accept(raw, envelope_from=envelope.mail_from, source="smtp")
        except StoreUnavailable as exc:  # an outage, not a bug: no trace, the sender retries
            log.warning("could not store an incoming mail, the sender will retry: %s", exc)
            return "451 4.3.0 the meldpunt cannot store messages right now; please try again later"
        except Exception:
            log.exception("could not store an incoming mail; the sender will retry")
            return "451 4.3.0 temporary failure storing the message; please try again later"
        return f"250 2.0.0 OK {outcome.reference or outcome.kind}"


class MeldpuntSMTP(SMTP):
    """aiosmtpd's session with DATA read by `read_data`; the rest of the protocol is aiosmtpd's."""

    def __init__(self, handler: MeldpuntHandler, **kwargs: Any):
        super().__init__(handler, **kwargs)
        self.meldpunt = handler

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 (aiosmtpd command name)
        # the checks before the data, as aiosmtpd's own smtp_DATA makes them
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None and self.session is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            data = await read_data(self._reader, size_limit=self.data_size_limit)
        except asyncio.CancelledError:
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        if data.refused:
            if data.refused == SMUGGLED:
                log.warning(
                    "message refused: end-of-data with bare LF/CR inside",
                    extra={"peer": str(self.session.peer)},
                )
            self.meldpunt.refused(data.refused[:3])
            status = data.refused
        else:
            self.envelope.original_content = data.content
            self.envelope.content = data.content
            status = await self.meldpunt.handle_DATA(self, self.session, self.envelope)
        self._set_post_data_state()
        await self.push(status)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.smtp_tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key or None)
    return context


async def start_smtp(settings: Settings, mail: MailIntake, *, port: int | None = None) -> asyncio.Server:
    """Listen on `smtp_host:smtp_port` (or `port`) on the running loop; close the server to stop."""
    handler = MeldpuntHandler(mail, {settings.email_address, *settings.email_aliases})
    context = tls_context(settings)

    def factory() -> Any:
        return MeldpuntSMTP(
            handler,
            data_size_limit=settings.max_mail_bytes,
            hostname=settings.smtp_hostname,
            ident="Meldpunt 1777",
            tls_context=context,
            enable_SMTPUTF8=True,
            timeout=120,
        )

    port = settings.smtp_port if port is None else port
    try:
        server = await asyncio.get_running_loop().create_server(factory, host=settings.smtp_host, port=port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen for SMTP on {settings.smtp_host}:{port} ({exc.strerror}); see GATEWAY_SMTP_PORT"
        ) from exc
    log.info(
        "SMTP listener on %s:%d for %s%s",
        settings.smtp_host, server.sockets[0].getsockname()[1], ", ".join(sorted(handler.addresses)),
        " (STARTTLS)" if context else "",
    )  # fmt: skip
    return server
