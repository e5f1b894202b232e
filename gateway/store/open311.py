"""What the Open311 channel reads: a melding by its POST's token, and the filtered list of
GET requests (gateway/channels/open311)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.melding import Channel, Melding
from gateway.store.meldingen import _whole_page
from gateway.store.schema import meldingen

MAX_RESULTS = 1000  # the spec's response volume: at most 1000 requests per answer


@dataclass(frozen=True)
class RequestQuery:
    """GET requests' filters. `references` overrides the others, as the spec says of service_request_id."""

    diensten: Sequence[str]  # the service codes asked for (all offered ones when none was)
    references: Sequence[str] = ()
    received_from: datetime | None = None
    received_until: datetime | None = None
    statuses: Sequence[str] = ()  # our status codes; empty: any


# A melding with its raw payload: for an Open311 melding, the form the app sent (without its api_key).
WithRaw = tuple[Melding, str | None]


def _page(conn: Connection, stmt: Any) -> list[WithRaw]:
    rows = list(conn.execute(stmt))
    return list(zip(_whole_page(conn, rows), [row.raw for row in rows], strict=True))


def by_token(conn: Connection, token: str) -> WithRaw | None:
    """The melding an Open311 POST made: its token is the melding's external_id."""
    stmt = select(meldingen).where(
        meldingen.c.channel == Channel.OPEN311.value, meldingen.c.external_id == token
    )
    return next(iter(_page(conn, stmt)), None)


def by_reference(conn: Connection, reference: str, diensten: Sequence[str]) -> WithRaw | None:
    """One service request: a melding routed to one of `diensten`."""
    stmt = select(meldingen).where(meldingen.c.reference == reference, meldingen.c.dienst.in_(list(diensten)))
    return next(iter(_page(conn, stmt)), None)


def service_requests(conn: Connection, query: RequestQuery) -> list[WithRaw]:
    """The latest received first, at most MAX_RESULTS; only meldingen routed to a dienst asked for."""
    stmt: Any = select(meldingen).where(meldingen.c.dienst.in_(list(query.diensten)))
    if query.references:
        stmt = stmt.where(meldingen.c.reference.in_(list(query.references)))
    else:
        if query.received_from is not None:
            stmt = stmt.where(meldingen.c.received_at >= query.received_from)
        if query.received_until is not None:
            stmt = stmt.where(meldingen.c.received_at <= query.received_until)
        if query.statuses:
            stmt = stmt.where(meldingen.c.status.in_(list(query.statuses)))
    stmt = stmt.order_by(meldingen.c.received_at.desc()).limit(MAX_RESULTS)
    return _page(conn, stmt)
