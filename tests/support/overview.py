"""A store seeded for the desk's overview with counts known by hand (tests/test_desk_overview.py).

The clock stands at NOW (Friday 20 November 2026, 12:00 in Kortrijk). Rows are written straight into
the tables with explicit times: channels, diensten, stages, statuses, places, a duplicate, status
histories, hotspots. Two meldingen sit just after local midnight, one of them in summer time
(UTC+2, 25 October, before the clocks went back that night), so a count by UTC day would be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.store import Store
from gateway.store.schema import hotspots, meldingen, status_history

NOW = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass(frozen=True)
class Seed:
    n: int
    at: datetime
    channel: str
    dienst: str | None
    stage: str
    status: str
    place: str | None = None  # the deelgemeente the locator found
    duplicate_of: int | None = None
    history: tuple[tuple[str, timedelta], ...] = ()  # (status, after intake)
    text: str = "Er ligt een losse tegel op het voetpad."
    extra: dict[str, Any] = field(default_factory=dict)


def _t(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}+00:00")


SEEDS = (
    Seed(1, _t("2026-11-18", "09:00"), "web", "wegen", "delivered", "geregistreerd", "Heule",
         history=(("geregistreerd", 2 * H),)),
    Seed(2, _t("2026-11-18", "10:00"), "email", "wegen", "delivered", "behandeld", "Heule",
         history=(("geregistreerd", 4 * H), ("behandeld", 48 * H))),
    Seed(3, _t("2026-11-18", "23:30"), "sms", "groen", "delivered", "geregistreerd", "Marke",
         history=(("geregistreerd", 6 * H),), text="De haag aan de school is niet gesnoeid."),
    Seed(4, _t("2026-11-19", "08:00"), "phone", "groen", "delivered", "geregistreerd", "Marke",
         duplicate_of=3,
         history=(("geregistreerd", 1 * H),), text="Haag niet gesnoeid aan de school."),
    Seed(5, _t("2026-11-19", "09:00"), "phone", "info", "answered", "beantwoord",
         text="Wat zijn de openingsuren van het recyclagepark op zaterdag?"),
    Seed(6, _t("2026-11-19", "10:00"), "email", "info", "answered", "beantwoord",
         text="Is het recyclagepark open op zaterdag?"),
    Seed(7, _t("2026-11-20", "08:00"), "web", "info", "answered", "beantwoord",
         text="Wanneer is het recyclagepark zaterdag open?"),
    Seed(8, _t("2026-11-20", "09:00"), "sms", "info", "delivered", "geregistreerd",
         history=(("geregistreerd", 1 * H),), text="Hoe vraag ik een nieuwe identiteitskaart aan?"),
    Seed(9, _t("2026-11-20", "09:30"), "web", "info", "answered", "beantwoord",
         text="Ik wil een afspraak voor een nieuwe identiteitskaart"),
    Seed(10, _t("2026-11-20", "10:00"), "web", None, "triage", "ontvangen", text="Dank u"),
    Seed(11, _t("2026-10-24", "22:30"), "web", "verlichting", "delivered", "behandeld", "Kortrijk",
         history=(("geregistreerd", 10 * H), ("behandeld", 72 * H)), text="De straatlamp is stuk."),
    Seed(12, _t("2026-10-26", "23:30"), "email", "verlichting", "delivered", "gepland", "Bissegem",
         history=(("geregistreerd", 2 * H), ("gepland", 5 * H)), text="Lamp flikkert."),
    # Before the 30 days: only in the seasonal view (and the oldest one, a year ago, not even there).
    Seed(13, _t("2026-03-10", "12:00"), "web", "groen", "delivered", "behandeld"),
    Seed(14, _t("2025-12-05", "12:00"), "web", "groen", "delivered", "behandeld"),
    Seed(15, _t("2025-11-15", "12:00"), "web", "wegen", "delivered", "in_behandeling"),
)  # fmt: skip


def melding_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def reference(n: int) -> str:
    return f"1777-2026-{n:06d}"


def rows_of(seed: Seed) -> dict[str, Any]:
    return {
        "id": melding_id(seed.n),
        "reference": reference(seed.n),
        "channel": seed.channel,
        "received_at": seed.at,
        "text": seed.text,
        "dienst": seed.dienst,
        "stage": seed.stage,
        "status": seed.status,
        "located": {"source": "text", "confidence": 0.9, "deelgemeente": seed.place} if seed.place else None,
        "duplicate_of": melding_id(seed.duplicate_of) if seed.duplicate_of else None,
        "tracking_token": f"token-{seed.n}",
        "updated_at": seed.at,
        **seed.extra,
    }


HOTSPOT = {"dienst": "groen", "lat": 50.8275, "lon": 3.2650, "radius_m": 150.0, "count": 2}


def _write(conn: Any) -> None:
    for seed in sorted(SEEDS, key=lambda s: s.duplicate_of is not None):  # masters first (foreign key)
        conn.execute(meldingen.insert().values(**rows_of(seed)))
    history = [
        {"melding_id": melding_id(s.n), "status": status, "source": "case_system", "at": s.at + after}
        for s in SEEDS
        for status, after in s.history
    ]
    conn.execute(status_history.insert(), history)
    conn.execute(
        hotspots.insert(),
        [
            {**HOTSPOT, "melding_ids": [melding_id(3), melding_id(4)], "first_at": SEEDS[2].at,
             "last_at": SEEDS[3].at, "created_at": NOW, "updated_at": NOW},
            {**HOTSPOT, "dienst": "riolering", "melding_ids": [melding_id(13)], "first_at": SEEDS[12].at,
             "last_at": SEEDS[12].at, "created_at": NOW, "updated_at": NOW},  # ended before the period
        ],
    )  # fmt: skip


async def seed(store: Store) -> None:
    await store.write(_write)
