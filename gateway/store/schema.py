"""Table definitions. The schema itself is created and changed only by migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from gateway.cleantext import clean, clean_text


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CleanString(TypeDecorator[str]):
    """Text as gateway.cleantext cleans it: the store never gets what a backend cannot keep (NUL,
    lone surrogates), whichever channel or job wrote it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return value if value is None else clean_text(value)


class CleanText(CleanString):
    impl = Text
    cache_ok = True


class CleanJSON(TypeDecorator[Any]):
    """JSON with every string in it cleaned (PostgreSQL refuses `\\u0000` and lone surrogates)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return clean(value)


metadata = MetaData()


def _partial_index(name: str, *columns: str) -> Index:
    """An index of the rows whose first column is not NULL (both dialects)."""
    where = text(f"{columns[0]} IS NOT NULL")
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


meldingen = Table(
    "meldingen",
    metadata,
    Column("id", CleanString(36), primary_key=True),
    Column("reference", CleanString(40), nullable=False, unique=True),
    Column("channel", CleanString(16), nullable=False),
    Column("external_id", CleanString, nullable=True),
    Column("request_hash", CleanString(64), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("reporter_name", CleanString, nullable=True),
    Column("reporter_email", CleanString, nullable=True),
    Column("reporter_phone", CleanString, nullable=True),
    Column("subject", CleanText, nullable=True),
    Column("text", CleanText, nullable=False),
    Column("language", CleanString(8), nullable=True),
    Column("address", CleanString, nullable=True),
    Column("street", CleanString, nullable=True),
    Column("house_number", CleanString, nullable=True),
    Column("postcode", CleanString, nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("dienst", CleanString(32), nullable=True),
    Column("confidence", Float, nullable=True),
    Column("routed_by", CleanString, nullable=True),
    Column("alternatives", CleanJSON, nullable=True),
    Column("duplicate_of", CleanString(36), ForeignKey("meldingen.id"), nullable=True),
    Column("status", CleanString(32), nullable=False),
    Column("stage", CleanString(16), nullable=False),
    Column("tracking_token", CleanString(64), nullable=False, unique=True),
    Column("raw", CleanText, nullable=True),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # Duplicate detection (gateway/dedupe, migration 0002): the location found with its confidence,
    # and the blocking keys a new report's candidates are found by (grid cell, street) per dienst.
    Column("duplicate_score", Float, nullable=True),
    Column("duplicate_reason", CleanText, nullable=True),
    Column("located", CleanJSON, nullable=True),  # gateway.dedupe.place.Place.as_dict()
    Column("loc_lat", Float, nullable=True),
    Column("loc_lon", Float, nullable=True),
    Column("loc_radius", Float, nullable=True),  # metres of uncertainty of loc_lat/loc_lon
    Column("street_key", CleanString(120), nullable=True),
    Column("house_no", Float, nullable=True),  # the house number (centre of a range) on street_key
    Column("geo_cell", CleanString(24), nullable=True),
    Column("dedupe_sig", CleanJSON, nullable=True),  # problem kinds and normalized content words
    # Set by the retention job (gateway/store/retention.py, migration 0009) once personal data is gone.
    Column("anonymised_at", UTCDateTime, nullable=True),
    # The citizen's national register number (migration 0012), 11 digits, set by a portal intake or
    # the desk: read only by the status feeds (workers/status_feeds), never shown, logged or sent on.
    Column("national_register_number", CleanString(11), nullable=True),
    # How the reporter wants to hear from us (migration 0015): email, sms, none; NULL the channel's way.
    Column("reporter_feedback", CleanString(8), nullable=True),
    UniqueConstraint("channel", "external_id", name="uq_meldingen_channel_external_id"),
    Index("ix_meldingen_stage_received", "stage", "received_at"),
    # Partial (migration 0021): a row whose first column is NULL (no dienst before routing, no phone
    # on a web form, ...) is no entry, so the intake's insert skips those b-trees. Every query these
    # serve compares the column with `=` or IN, which implies IS NOT NULL to both planners.
    _partial_index("ix_meldingen_dedupe_cell", "dienst", "geo_cell", "received_at"),
    _partial_index("ix_meldingen_dedupe_street", "dienst", "street_key", "received_at"),
    _partial_index("ix_meldingen_duplicate_of", "duplicate_of"),
    _partial_index("ix_meldingen_reporter_phone", "reporter_phone", "received_at"),  # SMS threading (0004)
    Index("ix_meldingen_status_updated_id", "status", "updated_at", "id"),  # the desk's waiting list (0019)
    _partial_index("ix_meldingen_reporter_email", "reporter_email", "received_at"),  # same reporter (0017)
    Index("ix_meldingen_received", "received_at"),  # the desk's search, newest first (0018)
    _partial_index("ix_meldingen_nrn", "national_register_number"),  # search by a directory person (0018)
)

# The desk's full-text search (migration 0018, gateway/store/search.py) is dialect-specific DDL the
# migration makes and SQLAlchemy cannot declare: SQLite's FTS5 table `meldingen_search` (with its
# shadow tables `meldingen_search_*` and triggers), PostgreSQL's generated column
# `meldingen.search_document` (tsvector) and its GIN index. Schema comparisons leave these out.
SEARCH_INDEX_NAMES = frozenset({"search_document", "ix_meldingen_search_document"})


def is_search_index(name: str | None) -> bool:
    """Whether a database object is part of the dialect-specific search index (not declared here)."""
    return name is not None and (name in SEARCH_INDEX_NAMES or name.startswith("meldingen_search"))


reference_counters = Table(
    "reference_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
)

status_history = Table(
    "status_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("status", CleanString(32), nullable=False),
    Column("note", CleanText, nullable=True),
    Column("planned_date", Date, nullable=True),
    Column("external_partner", CleanString, nullable=True),
    Column("source", CleanString(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("filename", CleanString, nullable=False),
    Column("content_type", CleanString, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", CleanString(64), nullable=False),
    Column("storage_path", CleanString, nullable=False),
    # "failed": the disk refused the file (error says why); the melding was kept without it
    Column("state", CleanString(16), nullable=False, default="stored", server_default="stored"),
    Column("error", CleanText, nullable=True),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("event", CleanString(32), nullable=False),
    Column("idempotency_key", CleanString, nullable=False, unique=True),
    Column("payload", CleanJSON, nullable=True),
    Column("state", CleanString(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("generation", Integer, nullable=False, default=0),
    Column("last_error", CleanText, nullable=True),
    Column("case_id", CleanString, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("first_failed_at", UTCDateTime, nullable=True),  # the retry budget runs from here
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_deliveries_state_next", "state", "next_attempt_at"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("history_id", Integer, ForeignKey("status_history.id"), nullable=False),
    Column("channel", CleanString(16), nullable=False),
    Column("recipient", CleanString, nullable=True),
    Column("state", CleanString(16), nullable=False),
    Column("detail", CleanText, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("history_id", "channel", name="uq_notifications_history_channel"),
)

# Every message a channel received, whatever became of it: the audit trail, and the
# dedupe key that keeps a re-polled or re-sent message from being imported twice.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", CleanString(16), nullable=False),
    Column("dedupe_key", CleanString, nullable=False),  # Message-ID, or sha256 of the raw message
    Column("received_at", UTCDateTime, nullable=False),
    Column("source", CleanString, nullable=False),  # "smtp", "imap:<mailbox>"
    Column("envelope_from", CleanString, nullable=True),
    Column("sender", CleanString, nullable=True),
    Column("subject", CleanText, nullable=True),
    Column("kind", CleanString(16), nullable=False),  # melding, followup, bounce, auto_reply, ...
    Column("reason", CleanText, nullable=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=True, index=True),
    Column("raw_path", CleanString, nullable=True),  # content-addressed file under data/attachments
    Column("details", CleanJSON, nullable=True),  # parse defects, refused attachments with reasons
    UniqueConstraint("channel", "dedupe_key", name="uq_inbound_channel_key"),
)

# Later messages from the reporter about an existing melding (a mail reply, an SMS).
followups = Table(
    "followups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("channel", CleanString(16), nullable=False),
    Column("external_id", CleanString, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("sender", CleanString, nullable=True),
    Column("text", CleanText, nullable=False),
    UniqueConstraint("channel", "external_id", name="uq_followups_channel_external_id"),
)

# N distinct problems of one dienst close together within a window (gateway/dedupe/hotspots),
# raised for the desk: a street that keeps flooding, leaves in one neighbourhood.
hotspots = Table(
    "hotspots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dienst", CleanString(32), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("radius_m", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("melding_ids", CleanJSON, nullable=False),
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_hotspots_dienst_last", "dienst", "last_at"),
)

# SMS opt-outs (STOP / START and their Dutch variants), one row per E.164 number: its latest
# choice. Outbound SMS must refuse a number whose `opted_out` is true (gateway.store.sms).
sms_optouts = Table(
    "sms_optouts",
    metadata,
    Column("number", CleanString(32), primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("keyword", CleanString(16), nullable=False),  # the word that set it, upper-cased
    Column("message_sid", CleanString, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# MMS media to fetch from Twilio (migration 0006): written with the melding or follow-up in the
# webhook's transaction, fetched by the worker (workers/media.py) and stored as attachments.
sms_media = Table(
    "sms_media",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False),
    Column("message_sid", CleanString, nullable=False),
    Column("position", Integer, nullable=False),  # N of MediaUrlN
    Column("url", CleanText, nullable=False),
    Column("content_type", CleanString, nullable=True),  # MediaContentTypeN, as Twilio declared it
    Column("state", CleanString(16), nullable=False),  # pending, stored, failed
    Column("attempts", Integer, nullable=False),
    Column("error", CleanText, nullable=True),
    Column("sha256", CleanString(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("message_sid", "position", name="uq_sms_media_message_position"),
    Index("ix_sms_media_melding_state", "melding_id", "state"),
    Index("ix_sms_media_state_updated", "state", "updated_at"),
)

# Twilio Voice (gateway/channels/twilio/voice.py, migration 0005): one row per call, the state its
# status, recording and transcription callbacks add up to, until (and after) it became a melding.
voice_calls = Table(
    "voice_calls",
    metadata,
    Column("call_sid", CleanString(64), primary_key=True),
    Column("from_number", CleanString(40), nullable=True),  # E.164, as the reporter's phone
    Column("to_number", CleanString(40), nullable=True),
    Column("call_status", CleanString(16), nullable=True),  # the most advanced CallStatus received
    Column("status_sequence", Integer, nullable=False),  # its SequenceNumber (-1: none yet)
    Column("duration", Integer, nullable=True),  # CallDuration, seconds
    Column("recording_sid", CleanString(64), nullable=True),
    Column("recording_url", CleanText, nullable=True),
    Column("recording_status", CleanString(16), nullable=True),
    Column("recording_duration", Integer, nullable=True),
    Column("transcription_sid", CleanString(64), nullable=True),
    Column("transcription_text", CleanText, nullable=True),
    Column("transcription_status", CleanString(16), nullable=True),
    Column("first_event_at", UTCDateTime, nullable=False),
    Column("last_event_at", UTCDateTime, nullable=False),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=True),
    Column("assembled_by", CleanString(16), nullable=True),  # callbacks (complete) | settle (went quiet)
    Column("assembled_at", UTCDateTime, nullable=True),
    Column("callbacks", CleanJSON, nullable=False),  # every callback's parameters, as received
    Index("ix_voice_calls_open", "melding_id", "last_event_at"),  # the settle sweep
)

# Every SMS Twilio accepted (migration 0007, gateway/store/sms.py): the notification decision
# and part it belongs to, and the outcome Twilio's StatusCallback reports later. A part that came back
# undelivered with a transient error is sent again as a new message (`resend_of` / `resent_as`).
sms_messages = Table(
    "sms_messages",
    metadata,
    Column("sid", CleanString(64), primary_key=True),  # Twilio's MessageSid
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False),
    Column("history_id", Integer, ForeignKey("status_history.id"), nullable=False),
    Column("channel", CleanString(16), nullable=False),  # the notification decision: sms, sms-question, ...
    Column("part", Integer, nullable=False),  # k of "(k/n)"; 1 for a text sent whole
    Column("parts", Integer, nullable=False),
    Column("recipient", CleanString(40), nullable=False),  # E.164
    Column("body", CleanText, nullable=False),  # a resend sends exactly this again
    Column("status", CleanString(16), nullable=False),  # queued ... delivered | undelivered | failed
    Column("error_code", Integer, nullable=True),
    Column("resends", Integer, nullable=False),  # resends of this part before this message (0: the first)
    Column("resend_of", CleanString(64), nullable=True),
    Column("resent_as", CleanString(64), nullable=True),  # set once the resend went out: the job is done
    Column("resend_at", UTCDateTime, nullable=True),  # a resend is due (the sweep re-enqueues lost jobs)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_sms_messages_decision", "history_id", "channel", "part"),
    Index("ix_sms_messages_resend_at", "resend_at"),
    Index("ix_sms_messages_melding", "melding_id"),
)

# Where a polled case system's status changes were last read up to (migration 0011,
# gateway/store/cursors.py): one row per case system, so that a restarted poller resumes there.
case_system_cursors = Table(
    "case_system_cursors",
    metadata,
    Column("name", CleanString(32), primary_key=True),  # the adapter: "topdesk"
    Column("cursor", CleanText, nullable=False),  # opaque to the store: the adapter's own position
    Column("updated_at", UTCDateTime, nullable=False),
)

# Status pushes to the citizen portals of GATEWAY_STATUS_FEEDS (migration 0012,
# gateway/store/pushes.py): one outbox row per (status change, feed), tried like a delivery until
# pushed or dead. No personal data: the push is built from the melding when it is sent.
status_pushes = Table(
    "status_pushes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("history_id", Integer, ForeignKey("status_history.id"), nullable=False),
    Column("feed", CleanString(64), nullable=False),  # the feed's name in GATEWAY_STATUS_FEEDS
    Column("state", CleanString(16), nullable=False),  # pending, retrying, delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("generation", Integer, nullable=False),  # a manual retry's new job id
    Column("last_error", CleanText, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("first_failed_at", UTCDateTime, nullable=True),  # the retry budget runs from here
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("pushed_at", UTCDateTime, nullable=True),
    UniqueConstraint("history_id", "feed", name="uq_status_pushes_history_feed"),
    Index("ix_status_pushes_state_next", "state", "next_attempt_at"),
)

# Open problems a melding may well report, scored below the automatic threshold (migration 0013,
# gateway/dedupe): suggestions for the desk to link or dismiss. `candidate_id` is the problem's
# first report; `reason` quotes house numbers and is dropped with the melding's personal data.
duplicate_suggestions = Table(
    "duplicate_suggestions",
    metadata,
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id", ondelete="CASCADE"), primary_key=True),
    Column("candidate_id", CleanString(36), ForeignKey("meldingen.id", ondelete="CASCADE"), primary_key=True),
    Column("score", Float, nullable=False),
    Column("reason", CleanText, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_duplicate_suggestions_candidate", "candidate_id"),
)

# The 1777 desk's accounts (migration 0014, gateway/store/operators.py): an argon2 hash, never the
# password; failed logins in a row lock the account until `locked_until` (a back-off that doubles).
# The name goes into status_history.source as "desk:<name>" (32 characters), hence 27 at most.
operators = Table(
    "operators",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", CleanString(27), nullable=False),
    Column("role", CleanString(16), nullable=False),  # operator | admin
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("name", name="uq_operators_name"),
)


# One row per attempt to deliver to the case system or to push to a citizen portal (migration
# 0016, gateway/store/attempts.py): the dossier's "every delivery attempt". Exactly one of
# `delivery_id` and `push_id` is set. `error` can echo a citizen's text (a case system quoting
# the field it refused): retention clears it with the melding's personal data.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=True, index=True),
    Column("push_id", Integer, ForeignKey("status_pushes.id"), nullable=True, index=True),
    Column("attempt", Integer, nullable=False),  # 1, 2, ... per delivery or push, across manual retries
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("outcome", CleanString(16), nullable=False),  # ok, transient, permanent, crashed
    Column("http_status", Integer, nullable=True),
    Column("error", CleanText, nullable=True),
    Column("case_id", CleanString, nullable=True),  # the case system's id, when it succeeded
)

# What an operator did to a melding that is no status change (migration 0017,
# gateway/store/desk_actions.py): confirm / reject a duplicate suggestion, split a link, resend a
# dead delivery, reroute; `source` is "desk:<name>", `other_id` the other melding (or delivery id).
desk_actions = Table(
    "desk_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", CleanString(36), ForeignKey("meldingen.id", ondelete="CASCADE"), nullable=False),
    Column("action", CleanString(32), nullable=False),
    Column("other_id", CleanString(36), nullable=True),
    Column("source", CleanString(64), nullable=False),
    Column("note", CleanText, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_desk_actions_melding", "melding_id", "action"),
)


# The reporter directory (migration 0018, gateway/store/directory.py, gateway/directory.py): who the
# city knows, imported from CSV (`gateway directory import`). E-mail lowercased, phone in E.164, the
# national register number as 11 validated digits: never shown in full, never logged.
directory_people = Table(
    "directory_people",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", CleanString(200), nullable=False),
    Column("name_folded", CleanString(200), nullable=False),  # lowercase, no accents: name search
    Column("street_address", CleanString(200), nullable=True),
    Column("postcode", CleanString(16), nullable=True),
    Column("municipality", CleanString(100), nullable=True),
    Column("email", CleanString(254), nullable=True),
    Column("phone", CleanString(40), nullable=True),
    Column("national_register_number", CleanString(11), nullable=True),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint("national_register_number", name="uq_directory_people_nrn"),
    Index("ix_directory_people_email", "email"),
    Index("ix_directory_people_phone", "phone"),
)

# Who looked up whom, when (gateway/directory.py): every directory lookup the desk made, by which
# operator, for which melding, by what (kind and value; a national register number only masked) and
# the person found (id and name as they were then: a --replace import renumbers the people).
directory_lookups = Table(
    "directory_lookups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("operator", CleanString(27), nullable=False),
    Column("melding_reference", CleanString(40), nullable=True),
    Column("kind", CleanString(24), nullable=False),  # email | phone | national_number | name | caller_id
    Column("query", CleanString(254), nullable=False),
    Column("person_id", Integer, nullable=True),
    Column("person_name", CleanString(200), nullable=True),
    Index("ix_directory_lookups_at", "at"),
)
