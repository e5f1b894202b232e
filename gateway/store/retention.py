"""Retention: the personal data of meldingen closed for longer than the retention period is removed.

What is kept is what statistics need: reference, channel, dienst, status history (statuses and
their times), language, street and postcode, coordinates rounded to about 100 m, routing and
delivery outcomes. What goes, table by table, is listed in SECURITY.md ("Personal data and
retention"); `anonymise` below is that list in code.

One batch is one transaction: `anonymise(conn, ids, ...)` for meldingen, `anonymise_inbound` for
audit rows of messages that never became a melding, `forget_opt_ins` for numbers that opted back in,
`forget_lookups` for the directory's access log. A melding is marked (`anonymised_at`) in the same
transaction, so a second run finds nothing left to do. Files on disk (attachments, raw mails) are
content-addressed and may be shared by several meldingen: a file is removed only when no row refers
to it any more, in the same transaction (the last step before the commit; on SQLite the write lock
keeps intake from committing a new reference meanwhile). A commit that fails after that has lost
only files that were being removed anyway; the next run anonymises the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, String, bindparam, cast, delete, exists, func, literal, or_, select, update

from gateway.melding import CLOSED_STATUSES, DeliveryState
from gateway.store.schema import (
    attachments,
    deliveries,
    delivery_attempts,
    directory_lookups,
    duplicate_suggestions,
    followups,
    inbound_messages,
    meldingen,
    notifications,
    sms_media,
    sms_messages,
    sms_optouts,
    status_history,
    status_pushes,
    voice_calls,
)

MARKER = "[geanonimiseerd]"  # replaces free text that cannot be NULL
ANONYMISED_KEY = "anonymised:"  # + row id: replaces unique message keys (Message-ID, MessageSid)
COORDINATE_DECIMALS = 3  # about 110 m north-south, 70 m east-west here: a neighbourhood, not a door

_CLOSED = sorted(s.value for s in CLOSED_STATUSES)
_UNFINISHED = (DeliveryState.PENDING.value, DeliveryState.RETRYING.value)
# What a coarse location keeps of gateway.dedupe.place.Place (house number, exact point and the
# matched text go).
_LOCATED_KEPT = ("source", "confidence", "street", "postcode", "deelgemeente", "landmark", "radius_m")


@dataclass(frozen=True)
class Anonymised:
    """What one run (or batch) removed or would remove: rows touched per kind, files deleted."""

    meldingen: int = 0
    attachments: int = 0
    files: int = 0
    inbound: int = 0
    followups: int = 0
    voice_calls: int = 0
    sms_messages: int = 0
    opt_ins: int = 0
    directory_lookups: int = 0

    def __add__(self, other: Anonymised) -> Anonymised:
        return Anonymised(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)}
        )

    def total(self) -> int:
        return sum(dataclasses.astuple(self))

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def due(conn: Connection, cutoff: datetime, *, after: str = "", limit: int = 500) -> list[str]:
    """Ids (in order, above `after`) of meldingen closed since before `cutoff` and not anonymised since.

    Closed since: the last status change, which for a closed melding is its closing. A reporter's
    follow-up after the cutoff, or a delivery still owed to the case system, keeps it for now."""
    last_change = (
        select(func.max(status_history.c.at))
        .where(status_history.c.melding_id == meldingen.c.id)
        .scalar_subquery()
    )
    recent_followup = exists().where(
        followups.c.melding_id == meldingen.c.id, followups.c.received_at >= cutoff
    )
    owed = exists().where(deliveries.c.melding_id == meldingen.c.id, deliveries.c.state.in_(_UNFINISHED))
    query = (
        select(meldingen.c.id)
        .where(
            meldingen.c.status.in_(_CLOSED),
            # Reopened and closed again since it was anonymised: what came meanwhile goes too.
            or_(meldingen.c.anonymised_at.is_(None), meldingen.c.anonymised_at < last_change),
            meldingen.c.id > after,
            last_change < cutoff,
            ~recent_followup,
            ~owed,
        )
        .order_by(meldingen.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def _coarse_place(located: dict[str, Any] | None) -> dict[str, Any] | None:
    if not located:
        return located
    kept = {k: v for k, v in located.items() if k in _LOCATED_KEPT}
    for key in ("lat", "lon"):
        if located.get(key) is not None:
            kept[key] = _rounded(located[key])
    return kept


def anonymise(
    conn: Connection, ids: Sequence[str], now: datetime, files_root: Path, *, dry_run: bool
) -> Anonymised:
    """Remove the personal data of these meldingen (from `due`) in every table, and the files no
    row refers to any more. `dry_run`: count only (the caller rolls the transaction back) and keep
    every file."""
    if not ids:
        return Anonymised()
    ids = list(ids)
    rows = conn.execute(
        select(
            meldingen.c.id, meldingen.c.lat, meldingen.c.lon, meldingen.c.loc_lat, meldingen.c.loc_lon,
            meldingen.c.located,
        ).where(meldingen.c.id.in_(ids))
    ).all()  # fmt: skip
    conn.execute(
        update(meldingen)
        .where(meldingen.c.id == bindparam("b_id"))
        .values(
            reporter_name=None,
            reporter_email=None,
            reporter_phone=None,
            national_register_number=None,
            subject=None,
            text=MARKER,
            raw=None,
            external_id=None,  # a Message-ID or Twilio sid: a key into the reporter's messages elsewhere
            request_hash=None,
            address=None,  # a free-text line; street and postcode stay
            house_number=None,
            house_no=None,
            duplicate_reason=None,  # quotes house numbers and the text's words
            dedupe_sig=None,  # the text's content words
            lat=bindparam("b_lat"),
            lon=bindparam("b_lon"),
            loc_lat=bindparam("b_loc_lat"),
            loc_lon=bindparam("b_loc_lon"),
            located=bindparam("b_located"),
            anonymised_at=now,
        ),
        [
            {
                "b_id": r.id,
                "b_lat": _rounded(r.lat),
                "b_lon": _rounded(r.lon),
                "b_loc_lat": _rounded(r.loc_lat),
                "b_loc_lon": _rounded(r.loc_lon),
                "b_located": _coarse_place(r.located),
            }
            for r in rows
        ],
    )
    # A suggestion's reason quotes house numbers of both meldingen; the link and its score stay.
    conn.execute(
        update(duplicate_suggestions)
        .where(
            or_(duplicate_suggestions.c.melding_id.in_(ids), duplicate_suggestions.c.candidate_id.in_(ids))
        )
        .values(reason=None)
    )
    # The desk's notes may name the reporter ("called mevrouw X back"); statuses and times stay.
    conn.execute(update(status_history).where(status_history.c.melding_id.in_(ids)).values(note=None))
    # A photo the disk refused ("failed") has a row but no file, and no path to release.
    on_disk = attachments.c.melding_id.in_(ids), attachments.c.state == "stored"
    paths = set(conn.execute(select(attachments.c.storage_path).where(*on_disk)).scalars())
    removed_attachments = conn.execute(delete(attachments).where(attachments.c.melding_id.in_(ids))).rowcount
    conn.execute(delete(sms_media).where(sms_media.c.melding_id.in_(ids)))  # Twilio media URLs; files above
    conn.execute(
        update(deliveries).where(deliveries.c.melding_id.in_(ids)).values(payload=None, last_error=None)
    )
    # A case system's or portal's error text may quote what it refused (the citizen's words).
    conn.execute(update(status_pushes).where(status_pushes.c.melding_id.in_(ids)).values(last_error=None))
    conn.execute(update(delivery_attempts).where(delivery_attempts.c.melding_id.in_(ids)).values(error=None))
    conn.execute(
        update(notifications).where(notifications.c.melding_id.in_(ids)).values(recipient=None, detail=None)
    )
    inbound_ids = list(
        conn.execute(select(inbound_messages.c.id).where(inbound_messages.c.melding_id.in_(ids))).scalars()
    )
    inbound, inbound_paths = _anonymise_inbound_rows(conn, inbound_ids)
    paths |= inbound_paths
    followup_count = conn.execute(
        update(followups)
        .where(followups.c.melding_id.in_(ids))
        .values(
            sender=None,
            text=MARKER,
            external_id=literal(ANONYMISED_KEY) + cast(followups.c.id, String),
        )
    ).rowcount
    calls = conn.execute(
        update(voice_calls)
        .where(voice_calls.c.melding_id.in_(ids))
        .values(
            from_number=None,
            recording_sid=None,  # with the account's credentials, the key to the recording at Twilio
            recording_url=None,
            transcription_sid=None,
            transcription_text=None,
            callbacks=[],
        )
    ).rowcount
    texts = conn.execute(
        update(sms_messages).where(sms_messages.c.melding_id.in_(ids)).values(recipient="", body="")
    ).rowcount
    files = _release_files(conn, paths, files_root, dry_run=dry_run)
    return Anonymised(
        meldingen=len(rows),
        attachments=removed_attachments,
        files=files,
        inbound=inbound,
        followups=followup_count,
        voice_calls=calls,
        sms_messages=texts,
    )


def _anonymise_inbound_rows(conn: Connection, ids: list[int]) -> tuple[int, set[str]]:
    """Sender, subject, parse details, reason (an auto-reply's subject, a bounce's text) and raw
    message of these audit rows; kind, channel, source and time stay. Returns the rows and the raw
    files released."""
    if not ids:
        return 0, set()
    paths = set(
        conn.execute(
            select(inbound_messages.c.raw_path).where(
                inbound_messages.c.id.in_(ids), inbound_messages.c.raw_path.is_not(None)
            )
        ).scalars()
    )
    count = conn.execute(
        update(inbound_messages)
        .where(inbound_messages.c.id.in_(ids))
        .values(
            envelope_from=None,
            sender=None,
            subject=None,
            details=None,
            reason=None,
            raw_path=None,
            dedupe_key=literal(ANONYMISED_KEY) + cast(inbound_messages.c.id, String),
        )
    ).rowcount
    return count, paths


def stale_inbound(conn: Connection, cutoff: datetime, *, after: int = 0, limit: int = 500) -> list[int]:
    """Audit rows received before `cutoff` of messages that never became a melding (bounces,
    auto-replies, opt-outs, refused mail) and still hold their personal data."""
    query = (
        select(inbound_messages.c.id)
        .where(
            inbound_messages.c.melding_id.is_(None),
            inbound_messages.c.received_at < cutoff,
            inbound_messages.c.id > after,
            ~inbound_messages.c.dedupe_key.startswith(ANONYMISED_KEY),
        )
        .order_by(inbound_messages.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def anonymise_inbound(conn: Connection, ids: Sequence[int], files_root: Path, *, dry_run: bool) -> Anonymised:
    count, paths = _anonymise_inbound_rows(conn, list(ids))
    return Anonymised(inbound=count, files=_release_files(conn, paths, files_root, dry_run=dry_run))


def forget_opt_ins(conn: Connection, cutoff: datetime, *, dry_run: bool = False) -> Anonymised:
    """Numbers that opted back in (START) before `cutoff`: the row says no more than having none.
    A number that opted out stays, as long as it does: it must never be texted again. (`dry_run`:
    the caller rolls back; nothing else differs.)"""
    removed = conn.execute(
        delete(sms_optouts).where(sms_optouts.c.opted_out.is_(False), sms_optouts.c.updated_at < cutoff)
    ).rowcount
    return Anonymised(opt_ins=removed)


def forget_lookups(conn: Connection, cutoff: datetime, *, dry_run: bool = False) -> Anonymised:
    """Lines of the directory's access log older than `cutoff`: they name an operator, a citizen and
    what was looked up (an e-mail address, a phone number), so they go after the retention period as
    a melding's reporter does. (`dry_run`: the caller rolls back.)"""
    removed = conn.execute(delete(directory_lookups).where(directory_lookups.c.at < cutoff)).rowcount
    return Anonymised(directory_lookups=removed)


def _release_files(conn: Connection, paths: set[str], root: Path, *, dry_run: bool) -> int:
    """Delete the files of `paths` that no attachment row or raw mail refers to any more."""
    if not paths:
        return 0
    candidates = sorted(paths)
    used = set(
        conn.execute(
            select(attachments.c.storage_path).where(attachments.c.storage_path.in_(candidates))
        ).scalars()
    ) | set(
        conn.execute(
            select(inbound_messages.c.raw_path).where(inbound_messages.c.raw_path.in_(candidates))
        ).scalars()
    )
    removed = 0
    for path in candidates:
        if path in used:
            continue
        target = root / path
        if dry_run:
            removed += target.exists()
        elif target.exists():
            target.unlink()
            removed += 1
    return removed
