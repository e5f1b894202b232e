"""The store: meldingen, their history, attachments metadata, deliveries.

One code path for SQLite (embedded default) and PostgreSQL (production), through
SQLAlchemy Core on async drivers. Intake writes go through `IntakeWriter`, which
commits whatever arrived concurrently in one transaction (group commit): every
request still waits for its own durable commit, but fifty concurrent requests
pay for one commit instead of fifty.
"""

from __future__ import annotations

from gateway.store.core import Store, StoredIntake, StoreError, engine_url

__all__ = ["Store", "StoreError", "StoredIntake", "engine_url"]
