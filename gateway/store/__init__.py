"""The store: meldingen, their history, attachments metadata, deliveries.

One code path for SQLite (embedded default) and PostgreSQL (production), through
SQLAlchemy Core: every operation is one synchronous function (`queries`) run in
one transaction and one hop (`core`). Intake writes go through a `BatchWriter`,
which commits whatever arrived concurrently in one transaction (group commit):
every request still waits for its own durable commit, but fifty concurrent
requests pay for one commit instead of fifty.
"""

from __future__ import annotations

from gateway.store.core import Store, StoreError, engine_url
from gateway.store.queries import DeliveryRecord, InvalidTransition, StoredIntake

__all__ = ["DeliveryRecord", "InvalidTransition", "Store", "StoreError", "StoredIntake", "engine_url"]
