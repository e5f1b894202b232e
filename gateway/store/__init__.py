"""The store: meldingen, their history, attachments metadata, deliveries, and what the channels keep.

One code path for SQLite (embedded default) and PostgreSQL (production), through
SQLAlchemy Core. Every operation is one synchronous function over a `Connection`, in the
module of what it stores:

- `meldingen`: intake (in batches, with their audit records), reading meldingen, routing
- `history`: a melding's status changes (the transition table) and its stage
- `deliveries`: what a melding owes the case system, tried until delivered or dead
- `attempts`: every try of a delivery or a portal push, with its outcome (`pushes`: the pushes)
- `notifications`: what was decided about telling the reporter of each status change
- `inbound`: the inbound audit trail and reporters' follow-ups
- `media`: MMS media to fetch; `sms`: opt-outs, conversations, messages sent and their receipts
- `voice_calls`: Twilio Voice call rows; `duplicates`: dedupe candidates, links, hotspots
- `desk`: the 1777 desk's routing decisions and lists; `operators`: the desk's accounts and lock-out
- `desk_actions`: what an operator did that is no status change; `desk_duplicates`: confirming,
  rejecting and splitting duplicates; `desk_melding`: the melding page's reroute, resend, other meldingen
- `directory`: the reporter directory (people imported from CSV) and who looked up whom
- `overview`: the desk overview's counts and medians (SQL aggregates; the dialects' date handling)
- `sql`: the SQL bits they share

The caller runs one in one transaction and one hop: `await store.read(meldingen.get, id)`,
`await store.write(deliveries.failed, id, error=..., ...)` (`core.Store`). Intake writes go
through a `BatchWriter` (`store.intake`), which commits whatever arrived concurrently in one
transaction (group commit): every request still waits for its own durable commit, but fifty
concurrent requests pay for one commit instead of fifty. The worker's hot path does the same with
any operation (`store.write_grouped`, `store.read_grouped`): the jobs running at once share one
transaction, and the meldingen their reads ask for are read together.
"""

from __future__ import annotations

from gateway.store.core import Store, StoreError, StoreUnavailable, engine_url
from gateway.store.deliveries import DeliveryRecord
from gateway.store.history import InvalidTransition
from gateway.store.meldingen import StoredIntake

__all__ = [
    "DeliveryRecord",
    "InvalidTransition",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredIntake",
    "engine_url",
]
