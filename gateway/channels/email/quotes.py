"""Cut quoted replies and signatures from a mail body, so that only the reporter's words remain.

Rule-based (like Zammad, email_reply_parser and talon's plain-text mode) for the
clients Flemish, French and English citizens use: Outlook, Gmail, Apple Mail,
Thunderbird, phones. Every cut needs strong evidence (a client's separator, a
header block with three fields, an attribution line with an address or a time)
because cutting a report short is worse than leaving a quote in.
"""

from __future__ import annotations

import re

__all__ = [
    "FORWARD_SUBJECT",
    "find_phone",
    "split_forward",
    "split_signature",
    "strip_reply",
    "subject_says_forward",
]

_QUOTED = re.compile(r"^[ \t]*>")
_REPLY_SEPARATOR = re.compile(
    r"^[ \t]*[-=_*]{2,}[ \t]*(original message|oorspronkelijk bericht|origineel bericht|"
    r"oorspronkelijk e-?mailbericht|message d'origine|message original|ursprüngliche nachricht|"
    r"originalnachricht|mensaje original)"
    r"[ \t]*[-=_*]{2,}[ \t]*$",
    re.IGNORECASE,
)
_FORWARD_SEPARATOR = re.compile(
    r"^[ \t]*[-=_*]{2,}[ \t]*(forwarded message|doorgestuurd bericht|message transféré|message réexpédié|"
    r"weitergeleitete nachricht)[ \t]*[-=_*]{2,}[ \t]*$",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^[ \t]*_{25,}[ \t]*$")
_FORWARD_INTRO = re.compile(
    r"^[ \t]*(begin forwarded message|begin doorgestuurd bericht|début du message réexpédié|"
    r"anfang der weitergeleiteten nachricht)[ \t]*:[ \t]*$",
    re.IGNORECASE,
)
# Header names of a quoted or forwarded message, per field, in the languages we meet.
_HEADER_FIELDS: dict[str, str] = {
    "from": r"from|van|de|von|expéditeur|от|od|fra|från",
    "date": r"sent|date|datum|verzonden|verstuurd|envoyé|envoyé le|gesendet|отправлено|дата",
    "to": r"to|aan|à|a|an|destinataire|pour|кому",
    "cc": r"cc|kopie|copie à|copie",
    "subject": r"subject|onderwerp|objet|betreff|sujet|тема",
}
_HEADER_LINE = re.compile(
    r"^[ \t]*\*{0,2}(" + "|".join(f"(?P<{k}>{v})" for k, v in _HEADER_FIELDS.items()) + r")\*{0,2}[ \t]*:",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^[-*\s]*(on|op|le|am|el|il)\s", re.IGNORECASE)
_ATTRIBUTION_VERB = re.compile(
    r"\b(wrote|writes|schreef|schrijft|geschreven|a écrit|écrit|schrieb|escribió|ha scritto|написал|"
    r"het volgende geschreven)\b",
    re.IGNORECASE,
)
_EVIDENCE = re.compile(r"@|\b\d{1,2}[:.h]\d{2}\b|\b(19|20)\d{2}\b")


def strip_reply(text: str) -> str:
    """The text without quoted earlier messages, their attribution lines and reply header blocks."""
    lines = _normalize(text).split("\n")
    lines = lines[: _first_cut(lines)]
    return _tidy(_drop_quoted_blocks(lines))


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\u200e", "")


def _first_cut(lines: list[str]) -> int:
    """Index of the first line where an unprefixed quote starts (len(lines) when none)."""
    fields = [_header_field(line) for line in lines]
    for i, line in enumerate(lines):
        if _QUOTED.match(line) or not line.strip():
            continue
        if _is_separator(line) or _is_forward_marker(line):
            return i
        if fields[i] and _is_header_block(lines, fields, i):
            return i
        span = _attribution_span(lines, i)
        if span and not _quote_follows(lines, i + span):
            return i
    return len(lines)


def _header_field(line: str) -> str | None:
    match = _HEADER_LINE.match(line)
    return next((k for k, v in match.groupdict().items() if v), None) if match else None


def _is_separator(line: str) -> bool:
    return bool(_REPLY_SEPARATOR.match(line) or _OUTLOOK_RULE.match(line))


def _is_forward_marker(line: str) -> bool:
    return bool(_FORWARD_SEPARATOR.match(line) or _FORWARD_INTRO.match(line))


def _is_header_block(lines: list[str], fields: list[str | None], start: int) -> bool:
    """Three or more distinct header fields, one of them the sender, from `start` on."""
    found: set[str] = set()
    for line, name in zip(lines[start : start + 10], fields[start : start + 10], strict=True):
        if name:
            found.add(name)
        elif not line.strip() and len(found) >= 3:
            break
    return len(found) >= 3 and "from" in found and bool(found & {"date", "subject", "to"})


def _attribution_span(lines: list[str], start: int) -> int:
    """How many lines (1-3) form an "On <date>, <name> wrote:" line starting here, or 0."""
    if not _ATTRIBUTION_START.match(lines[start]) and not _ATTRIBUTION_VERB.search(lines[start]):
        return 0
    joined = ""
    for span in range(1, 4):
        if start + span > len(lines) or not lines[start + span - 1].strip():
            return 0
        joined = f"{joined} {lines[start + span - 1].strip()}".strip()
        if len(joined) > 300:
            return 0
        if joined.endswith(":") and _ATTRIBUTION_VERB.search(joined) and _EVIDENCE.search(joined):
            return span
    return 0


def _quote_follows(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _drop_quoted_blocks(lines: list[str]) -> list[str]:
    """Remove every run of ">" lines and the attribution (up to 3 lines ending in ':') above it."""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        if not _QUOTED.match(lines[i]):
            kept.append(lines[i])
            i += 1
            continue
        _drop_attribution(kept)
        i = _quote_end(lines, i)
    return kept


def _quote_end(lines: list[str], start: int) -> int:
    """Index after the run of ">" lines starting at `start` (blank lines inside the run included)."""
    end = start
    for j in range(start, len(lines)):
        if _QUOTED.match(lines[j]):
            end = j + 1
        elif lines[j].strip():
            break
    return end


def _drop_attribution(kept: list[str]) -> None:
    """Drop the attribution above a quote: a line ending in ':', plus up to two wrapped lines before it."""
    end = len(kept)
    while end and not kept[end - 1].strip():
        end -= 1
    last = kept[end - 1].strip() if end else ""
    evidence = _EVIDENCE.search(last) or _ATTRIBUTION_VERB.search(last)
    if not (last.endswith(":") and len(last) <= 300 and evidence):
        return
    start = end - 1
    # A wrapped attribution ("Op 2 apr. 2024 om 10:00 schreef Jan <" / "jan@example.be>:").
    while start > max(0, end - 3) and _continues_attribution(kept[start - 1]):
        start -= 1
    del kept[start:]


def _continues_attribution(line: str) -> bool:
    line = line.strip()
    return bool(line) and len(line) <= 200 and bool(_EVIDENCE.search(line) or _ATTRIBUTION_START.match(line))


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# ---------------------------------------------------------------- forwarded messages


# A subject that says the mail forwards another ("Fwd:", "TR:", "Doorst:", "WG:", "RV:").
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|doorst|tr|wg|trans|rv)\s*:", re.IGNORECASE)


def subject_says_forward(subject: str | None) -> bool:
    return bool(subject and FORWARD_SUBJECT.match(subject))


def split_forward(text: str, subject_says_forward: bool) -> tuple[str, dict[str, str], str] | None:
    """(note above, forwarded headers by field, forwarded body) when the text forwards a message.

    A client's forward marker decides on its own; Outlook forwards look like its replies
    (a separator or a "Van:/Verzonden:" block), so for those the subject must say "FW:".
    Only the first quote-like line counts: a forward deep in a reply's history is history.
    """
    lines = _normalize(text).split("\n")
    if not subject_says_forward and not any(_is_forward_marker(x) for x in lines):
        return None  # the common case, decided without the full scan
    cut = _first_cut(lines)
    if cut == len(lines):
        return None
    line, window = lines[cut], lines[cut : cut + 10]
    if _is_forward_marker(line) or (subject_says_forward and _is_separator(line)):
        rest = lines[cut + 1 :]
    elif subject_says_forward and _is_header_block(window, [_header_field(x) for x in window], 0):
        rest = lines[cut:]
    else:
        return None
    if all(_QUOTED.match(x) for x in rest if x.strip()):
        rest = [re.sub(r"^[ \t]*> ?", "", x) for x in rest]  # older Apple Mail quotes the forward
    headers, body_start = _read_headers(rest)
    return _tidy(lines[:cut]), headers, _tidy(rest[body_start:])


def _read_headers(lines: list[str]) -> tuple[dict[str, str], int]:
    """The forwarded message's header lines by field, and where its body starts."""
    headers: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    last: str | None = None
    while i < len(lines) and lines[i].strip():
        match = _HEADER_LINE.match(lines[i])
        if match:
            last = _header_field(lines[i])
            value = lines[i][match.end() :].strip().strip("*").strip()
            headers.setdefault(last or "", value)
        elif last in ("to", "cc"):
            pass  # a wrapped address list
        else:
            break
        i += 1
    return headers, i


# ---------------------------------------------------------------- signatures

_SIG_DELIMITER = re.compile(r"^--[ \t]*$")
_DASH_RULE = re.compile(r"^[ \t]*[-_=]{4,}[ \t]*$")
_DEVICE_FOOTER = re.compile(
    r"^[ \t]*(sent from|sent with|sent via|sent using|get outlook for|download outlook|"
    r"verzonden (vanaf|met|vanuit|via|van)|verstuurd (vanaf|met|vanuit|via|van)|outlook voor (ios|android)|"
    r"envoyé (de|depuis|avec|à partir de|via)|obtenir outlook pour|télécharger outlook|"
    r"von meinem .{1,40} gesendet|gesendet von)\b",
    re.IGNORECASE,
)
# The phrase in any case, then optionally a capitalised name on the same line ("Mvg, Jan Peeters").
_CLOSING = re.compile(
    r"^[ \t]*(?i:(met )?(vriendelijke|hartelijke|beste|warme|lieve|veel|vriendelijk) groet(en|jes)?|"
    r"m\.?v\.?g\.?|groetjes|groeten|groet|hoogachtend|alvast bedankt|bedankt|dank u( wel)?|dank je( wel)?|"
    r"(kind|best|warm|kindest|many) regards|regards|cheers|thanks( again| a lot)?|thank you|many thanks|"
    r"sincerely|yours sincerely|yours truly|best wishes|"
    r"(bien )?cordialement|bien à vous|(meilleures |sincères |mes )?salutations( distinguées)?|"
    r"merci( d'avance| beaucoup| bien)?|bàv|bonne journée)"
    r"[ \t]*[,.!]*[ \t]*([A-ZÀ-Ý][\w'.-]*([ \t]+[A-ZÀ-Ý][\w'.-]*){0,3})?[ \t]*$"
)
_CONTACT = re.compile(r"@|https?://|www\.|\+?\d[\d ./()-]{7,}\d")
_NAME_LINE = re.compile(r"^[ \t]*[A-ZÀ-Ý][\w'.,-]*([ \t]+[\w'.,-]+){0,4}[ \t]*$")


def split_signature(text: str) -> tuple[str, str | None]:
    """(body, signature) where the signature is the closing block at the end, or None."""
    lines = _normalize(text).rstrip().split("\n")
    start = _signature_start(lines)
    if start is None:
        return text.strip("\n"), None
    end = start
    while end > 0 and (not lines[end - 1].strip() or _DASH_RULE.match(lines[end - 1])):
        end -= 1  # a rule the writer drew above the signature belongs to neither
    body = _tidy(lines[:end])
    skip = 1 if _SIG_DELIMITER.match(lines[start]) else 0
    signature = _tidy(lines[start + skip :])
    return body, signature or None


def _signature_start(lines: list[str]) -> int | None:
    filled = [i for i in range(len(lines)) if lines[i].strip()][-20:]  # only the tail can sign off
    for k, i in enumerate(filled):
        line = lines[i]
        rest = [lines[j] for j in filled[k + 1 :]]
        if _SIG_DELIMITER.match(line) and len(rest) <= 15:
            return i
        if _DEVICE_FOOTER.match(line) and len(rest) <= 3:
            return i
        if _CLOSING.match(line) and _short_block(rest) and k > 0:
            return i
        if _DASH_RULE.match(line) and len(rest) <= 15 and any(_CONTACT.search(x) for x in rest):
            return i  # "----------" above a contact block
    return _contact_block(lines)


def _short_block(rest: list[str]) -> bool:
    """A name/contact block: a few short lines, none of them a sentence of the report."""
    return len(rest) <= 8 and all(len(x.strip()) <= 70 and not _is_sentence(x) for x in rest)


def _is_sentence(line: str) -> bool:
    words = line.split()
    return len(words) >= 6 and line.rstrip()[-1:] in ".?!"


def _contact_block(lines: list[str]) -> int | None:
    """A last paragraph that starts with a name and holds an address, phone or URL."""
    end = len(lines)
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    block = lines[start:end]
    if start == 0 or not 2 <= len(block) <= 8 or not _NAME_LINE.match(block[0]):
        return None
    if not any(_CONTACT.search(x) for x in block) or not _short_block(block):
        return None
    return start


# ---------------------------------------------------------------- phone numbers

# Belgian numbers as people write them: 0470 12 34 56, 0470/12.34.56, 056 27 72 60,
# +32 470 12 34 56, 0032 (0)56 27 72 60; other countries only in international form.
# Candidates are digit runs with short separators, matched without overlap (linear time).
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(\+|00)?\d([ \t./()-]{0,3}\d){7,15}")


def find_phone(text: str) -> str | None:
    """The first plausible phone number in the text, as written."""
    for match in _PHONE_CANDIDATE.finditer(text):
        candidate = match.group(0)
        # The longest prefix that is a plausible number ("0470 12 34 56 056 ..." is two numbers).
        for end in range(len(candidate), 0, -1):
            head = candidate[:end]
            if head[-1].isdigit() and _plausible_phone(head) and not _word_follows(text, match.start() + end):
                return head.strip()
    return None


def _word_follows(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isalnum() or text[index] == "_")


def _plausible_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith(("+", "00")):
        digits = digits[2:] if candidate.startswith("00") else digits
        if digits.startswith("32"):
            national = "0" + digits[2:].removeprefix("0")  # "+32 (0)56 ..." is 056 ...
            return _belgian(national)
        # Foreign numbers only with "+": "00.6000.16525" is more often an id than a phone.
        return candidate.startswith("+") and 9 <= len(digits) <= 15
    return _belgian(digits)


def _belgian(digits: str) -> bool:
    """Mobile numbers are 04xx plus six digits; landlines 0 plus eight."""
    if digits.startswith("04"):
        return len(digits) == 10
    return digits.startswith("0") and not digits.startswith("00") and len(digits) == 9
