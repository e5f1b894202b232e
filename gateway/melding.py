"""The melding: what every channel produces and every later stage reads.

Channels build a `MeldingDraft`; intake turns it into a stored `Melding`. The
status lifecycle is one explicit transition table (`TRANSITIONS`), as in
Amsterdam's Signalen, so that a case-system callback that makes no sense is
refused instead of silently rewriting history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.cleantext import clean
from gateway.phonenumber import e164

# The routing labels of PRODUCT.md, in its order. Other systems rely on these exact codes.
DIENST_CODES: tuple[str, ...] = (
    "info",
    "nette_stad",
    "afvalophaling",
    "wegen",
    "groen",
    "verlichting",
    "signalisatie",
    "riolering",
    "overlast",
    "dieren",
)


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    OPEN311 = "open311"


class Status(StrEnum):
    """Statuses a reporter sees. `ontvangen` precedes the first status the desk sets."""

    ONTVANGEN = "ontvangen"
    BEANTWOORD = "beantwoord"
    WACHTEN_OP_ANTWOORD = "wachten_op_antwoord"
    GEREGISTREERD = "geregistreerd"
    IN_BEHANDELING = "in_behandeling"
    GEPLAND = "gepland"
    BEHANDELD = "behandeld"
    NAAR_EXTERNE_PARTNER = "naar_externe_partner"
    NIET_BEHANDELD = "niet_behandeld"


_OPEN = {
    Status.WACHTEN_OP_ANTWOORD,
    Status.GEREGISTREERD,
    Status.IN_BEHANDELING,
    Status.GEPLAND,
    Status.NAAR_EXTERNE_PARTNER,
}
_FINAL = {Status.BEANTWOORD, Status.BEHANDELD, Status.NIET_BEHANDELD}
_ALL = set(Status) - {Status.ONTVANGEN}

# from-status -> statuses it may move to. Final statuses may be reopened (a reporter
# who says "it is not fixed" gets the melding back in behandeling), never sent back
# to `ontvangen`.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ONTVANGEN: frozenset(_ALL),
    **{s: frozenset(_ALL - {s}) for s in _OPEN},
    **{
        s: frozenset({Status.IN_BEHANDELING, Status.GEREGISTREERD, Status.WACHTEN_OP_ANTWOORD})
        for s in _FINAL
    },
}


def can_transition(current: Status, new: Status) -> bool:
    return new in TRANSITIONS[current]


def is_open(status: Status) -> bool:
    return status not in _FINAL


# Closed: no further work is expected (retention counts its period from the last of these).
CLOSED_STATUSES: frozenset[Status] = frozenset(_FINAL)


# The webhook events the case system is sent (PRODUCT.md), named once for gateway and workers.
EVENT_CREATED = "melding.created"
EVENT_UPDATED = "melding.updated"  # another reporter of the same problem (a duplicate)
EVENT_FOLLOWUP = "melding.followup"  # the reporter's later message
# A `melding.updated` on a melding's own case after the desk's duplicate decisions (its "update"):
# confirmed a duplicate (the case is to close), and that link split again (the case is its own again).
UPDATE_MERGED, UPDATE_SPLIT = "merged", "split"


class Stage(StrEnum):
    """Where the melding is in the gateway's own pipeline (not shown to reporters)."""

    RECEIVED = "received"  # persisted and enqueued, not yet routed
    TRIAGE = "triage"  # routing undecided: waits for the desk, never guessed
    ROUTED = "routed"  # has a dienst, handed to delivery
    DELIVERED = "delivered"  # the case system accepted it
    DEAD = "dead"  # delivery gave up after its retry budget
    ANSWERED = "answered"  # closed at intake (a call answered at once): never routed nor delivered


class DeliveryState(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"


class CleanInput(BaseModel):
    """A model of what a stranger sent: every string in its input is cleaned (gateway.cleantext)
    before it is validated, so a limit or a required text counts what will be stored."""

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        return clean(data) if isinstance(data, dict) else data


_E164 = re.compile(r"\+[1-9]\d{5,14}")  # already one: most numbers, and every one read back from the store
# How a reporter wants to hear of their melding (the web form's choice, optional on the API).
Feedback = Literal["email", "sms", "none"]


class Reporter(CleanInput):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    # None: the channel's own way (a mail is answered by mail, an SMS by SMS), as before the choice
    # existed; "none": no messages at all, the reporter follows the tracking page (workers/notify.py).
    feedback: Feedback | None = None

    @field_validator("phone")
    @classmethod
    def _phone_in_e164(cls, v: str | None) -> str | None:
        """One writing of a number for every channel, so that the desk's search, the directory and a
        reply SMS find the melding by it ("0470/12.34.56" is +32470123456; what does not parse as a
        number stays as written)."""
        return v if v is None or _E164.fullmatch(v) else e164(v)[:40]


class Location(CleanInput):
    model_config = ConfigDict(extra="forbid")
    address: str | None = Field(default=None, max_length=500)
    street: str | None = Field(default=None, max_length=200)
    house_number: str | None = Field(default=None, max_length=20)
    postcode: str | None = Field(default=None, max_length=10)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


class Attachment(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_path: str  # under data/attachments; empty when the file could not be stored
    # "failed": the disk refused the file (full, read-only); the melding was kept without it
    state: Literal["stored", "failed"] = "stored"
    error: str | None = None  # why it was not stored


# Notes written for the reporter: the case system's (a webhook callback's note, TOPdesk's newest
# caller-visible action) and the desk's (its question to the reporter, a named operator's note;
# the name is never shown). The gateway's own notes ("worker", "intake", "reporter") are
# bookkeeping in the desk's language, as is the note of a duplicate link, whoever confirmed it:
# the reporter reads that link in their own language instead (`StatusChange.links_duplicate`).
CITIZEN_NOTE_SOURCES = frozenset({"case_system", "desk"})
_LINK_NOTE = "Gekoppeld aan melding {reference} over hetzelfde probleem."
_LINK_NOTE_PATTERN = re.compile(r"Gekoppeld aan melding \S+ over hetzelfde probleem\.")


def link_note(master_reference: str) -> str:
    """The history note of a duplicate taking its master's status (for the desk, in Dutch)."""
    return _LINK_NOTE.format(reference=master_reference)


class StatusChange(BaseModel):
    status: Status
    at: datetime
    note: str | None = None
    planned_date: date | None = None
    external_partner: str | None = None
    source: str  # "intake", "worker", "case_system", "desk", "desk:<operator>" (the desk's pages)

    @property
    def links_duplicate(self) -> bool:
        """This change made the melding follow an earlier report of the same problem."""
        return bool(self.note and _LINK_NOTE_PATTERN.fullmatch(self.note))

    @property
    def citizen_note(self) -> str | None:
        """The note as the reporter may read it (mails, SMS, tracking, Open311, portals), else None."""
        written_for_reporter = self.source in CITIZEN_NOTE_SOURCES or self.source.startswith("desk:")
        return self.note if self.note and written_for_reporter and not self.links_duplicate else None


class Followup(BaseModel):
    """A later message from the reporter about this melding (a mail reply, an SMS)."""

    channel: Channel
    received_at: datetime
    sender: str | None = None
    text: str


class Delivery(BaseModel):
    event: str
    state: DeliveryState
    attempts: int
    last_error: str | None = None
    case_id: str | None = None
    updated_at: datetime


class MeldingDraft(CleanInput):
    """What a channel hands to intake: normalized, not yet stored."""

    channel: Channel
    external_id: str | None = None  # channel message id or Idempotency-Key
    request_hash: str | None = None  # to spot an idempotency key reused for another request
    received_at: datetime
    reporter: Reporter = Field(default_factory=Reporter)
    subject: str | None = None
    text: str
    language: str | None = None
    location: Location = Field(default_factory=Location)
    dienst: str | None = None  # a channel may know it (an IVR choice, an info call)
    raw: str | None = None  # the original payload, kept for audit
    # 11 digits, validated (gateway.national_number): a portal intake links the melding to a citizen,
    # whose portal then gets its statuses (GATEWAY_STATUS_FEEDS). Stored apart, never in `Melding`.
    national_register_number: str | None = Field(default=None, repr=False)


class Melding(BaseModel):
    id: str
    reference: str
    channel: Channel
    external_id: str | None = None
    received_at: datetime
    reporter: Reporter
    subject: str | None = None
    text: str
    language: str | None = None
    location: Location
    attachments: list[Attachment] = Field(default_factory=list)
    dienst: str | None = None
    confidence: float | None = None
    routed_by: str | None = None  # the deciding rule or model version
    alternatives: list[tuple[str, float]] = Field(default_factory=list)
    duplicate_of: str | None = None
    duplicate_score: float | None = None  # 0..1, how sure the link to duplicate_of is
    duplicate_reason: str | None = None  # why: place, problem kind, text similarity, time apart
    # Where the melding is about, as found (pin, address or text) with a confidence; never invented:
    # {"source": "none", "detail": why} when nothing was found (gateway.dedupe.place.Place).
    located: dict[str, Any] | None = None
    status: Status
    stage: Stage
    status_history: list[StatusChange] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)
    followups: list[Followup] = Field(default_factory=list)
    tracking_token: str

    @property
    def has_case(self) -> bool:
        """The case system accepted its `melding.created` (the same test as the desk's reroute).
        Not the stage: a split duplicate or a dead delivery revived passes through `routed` again."""
        return any(d.event == EVENT_CREATED and d.state == DeliveryState.DELIVERED for d in self.deliveries)

    def case_payload(self) -> dict[str, object]:
        """The melding as the case system sees it: no tracking token, no raw payload."""
        data = self.model_dump(mode="json", exclude={"tracking_token", "deliveries", "stage"})
        return data


# -- values that travel together (to the store, between the worker's steps) ------------------------


@dataclass(frozen=True)
class RoutingDecision:
    """Where a melding goes and why: the classifier's answer, the channel's own dienst, the desk's
    choice. `dienst` None sends it to the 1777 desk's triage (never a guess)."""

    dienst: str | None
    confidence: float | None
    routed_by: str | None  # the deciding rule or model, "channel:<channel>", "desk", "desk:<operator>"
    alternatives: tuple[tuple[str, float], ...] = ()  # the model's top three (dienst, probability)

    @property
    def stage(self) -> Stage:
        """Routed (to its dienst), or waiting in triage for the desk."""
        return Stage.ROUTED if self.dienst else Stage.TRIAGE

    @property
    def delivery_event(self) -> str | None:
        """The first delivery a routed melding gets; one in triage gets none until the desk decides."""
        return EVENT_CREATED if self.dienst else None


@dataclass(frozen=True)
class StatusUpdate:
    """One status change as it is appended to a melding's history (and passed on to its duplicates)."""

    status: Status
    source: str  # "intake", "worker", "case_system", "desk", "desk:<operator>", "reporter"
    note: str | None = None
    planned_date: date | None = None
    external_partner: str | None = None
