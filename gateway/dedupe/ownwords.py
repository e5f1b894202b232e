"""A reporter's own words: what a melding says about its problem, apart from what it quotes.

A reply carries the thread it answers: "Re: Lamp Kanonstraat" and the quoted earlier mail name the
earlier problem, while the new text may report another one ("bedankt voor de lamp; nu ligt er
puin"). The quoted history, greeting and signature are cut as routing cuts them
(`gateway.classify.mailtext.routing_text`), and so is a thank-you for work done or "na de
herstelling van vorige week" (`gateway.followups.drop_done`): they name what was fixed, not what is wrong.
Problem kinds and content words are read from the own words only; where those name no place, the
place is still read from the whole mail (a reply about the same thread is about its place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.classify.mailtext import routing_text

# "Re:", "RE: RE:", "Antw:", "TR:", "Fwd:" in front of a subject: a reply or a forward.
_REPLY = re.compile(r"^\s*(?:(?:re|antw|aw|tr|fw|fwd|wg|sv)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)

# A question about a report rather than a report: "is er al iets gebeurd met mijn melding?", "any
# update on what I reported?". Without a problem named it can only point the desk to one.
_QUESTION = re.compile(
    r"\?|\b(?:any (?:update|news)|des nouvelles|hoe staat het|wanneer komt er|nog niets gehoord"
    r"|iets laten weten|iets gebeurd met)\b",
    re.IGNORECASE,
)


def asks(text: str) -> bool:
    """Whether the own words ask something (whether they also name a problem is the caller's)."""
    return _QUESTION.search(text) is not None


@dataclass(frozen=True)
class OwnWords:
    subject: str | None  # None for a reply's or forward's subject: the thread's, not this report's
    text: str  # the body without quoted history and without what was fixed or thanked for
    quoted: bool  # something was cut: the whole mail may still say where
    reply: bool = False  # a "Re:" or forward subject: the thread's problem may not be this one

    @property
    def joined(self) -> str:
        return "\n".join(t for t in (self.subject, self.text) if t)


def own_words(subject: str | None, text: str) -> OwnWords:
    reply = bool(subject and _REPLY.match(subject))
    # routing's cut: no quoted history, greeting or signature, nor what the writer says was done
    body = routing_text(text, subject)
    changed = reply or body != text
    return OwnWords(subject=None if reply else subject, text=body, quoted=changed, reply=reply)
