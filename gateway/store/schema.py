"""Table definitions. The schema itself is created and changed only by migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
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
)
from sqlalchemy.types import TypeDecorator


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


metadata = MetaData()

meldingen = Table(
    "meldingen",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(40), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String, nullable=True),
    Column("request_hash", String(64), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("reporter_name", String, nullable=True),
    Column("reporter_email", String, nullable=True),
    Column("reporter_phone", String, nullable=True),
    Column("subject", Text, nullable=True),
    Column("text", Text, nullable=False),
    Column("language", String(8), nullable=True),
    Column("address", String, nullable=True),
    Column("street", String, nullable=True),
    Column("house_number", String, nullable=True),
    Column("postcode", String, nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("dienst", String(32), nullable=True),
    Column("confidence", Float, nullable=True),
    Column("routed_by", String, nullable=True),
    Column("alternatives", JSON, nullable=True),
    Column("duplicate_of", String(36), ForeignKey("meldingen.id"), nullable=True),
    Column("status", String(32), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("tracking_token", String(64), nullable=False, unique=True),
    Column("raw", Text, nullable=True),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "external_id", name="uq_meldingen_channel_external_id"),
    Index("ix_meldingen_stage_received", "stage", "received_at"),
)

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
    Column("melding_id", String(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("note", Text, nullable=True),
    Column("planned_date", Date, nullable=True),
    Column("external_partner", String, nullable=True),
    Column("source", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", String(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("filename", String, nullable=False),
    Column("content_type", String, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_path", String, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", String(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("event", String(32), nullable=False),
    Column("idempotency_key", String, nullable=False, unique=True),
    Column("payload", JSON, nullable=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("generation", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("case_id", String, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_deliveries_state_next", "state", "next_attempt_at"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("melding_id", String(36), ForeignKey("meldingen.id"), nullable=False, index=True),
    Column("history_id", Integer, ForeignKey("status_history.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String, nullable=True),
    Column("state", String(16), nullable=False),
    Column("detail", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("history_id", "channel", name="uq_notifications_history_channel"),
)
