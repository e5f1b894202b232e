"""The values that travel to the store together (RoutingDecision, StatusUpdate) and the store
operations that take them, run the way every caller runs one: `store.read/write(op, ...)`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from gateway.classify.rules import Routing
from gateway.melding import (
    EVENT_CREATED,
    Channel,
    MeldingDraft,
    RoutingDecision,
    Stage,
    Status,
    StatusUpdate,
)
from gateway.store import InvalidTransition, Store, deliveries, duplicates, history, meldingen


def test_a_decision_with_a_dienst_is_routed_and_delivered_one_without_waits_in_triage() -> None:
    routed = RoutingDecision("wegen", 0.97, "rules:wegen:keyword:put", (("wegen", 0.9), ("groen", 0.1)))
    assert (routed.stage, routed.delivery_event) == (Stage.ROUTED, EVENT_CREATED)
    triage = RoutingDecision(None, 0.4, "model:v1")
    assert (triage.stage, triage.delivery_event, triage.alternatives) == (Stage.TRIAGE, None, ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        routed.dienst = "groen"  # type: ignore[misc]


def test_the_classifier_routing_becomes_the_decision_its_rule_deciding() -> None:
    routing = Routing("groen", 0.8, "rules:groen:phrase:boom", (("groen", 0.8),))
    assert routing.decision() == RoutingDecision("groen", 0.8, "rules:groen:phrase:boom", (("groen", 0.8),))


async def test_routing_status_and_duplicates_through_the_value_objects(database_url: str) -> None:
    store = Store(database_url)
    await store.open()
    try:
        now = datetime.now(UTC)
        master = await store.intake(MeldingDraft(channel=Channel.WEB, received_at=now, text="Put in de weg"))
        copy = await store.intake(MeldingDraft(channel=Channel.WEB, received_at=now, text="Gat in de weg"))
        decision = RoutingDecision("wegen", 0.9, "rules:wegen:keyword:put", (("wegen", 0.9),))
        first = await store.write(meldingen.route, master.id, decision)
        assert first is not None and first.event == EVENT_CREATED
        assert await store.write(meldingen.route, master.id, decision) == first  # idempotent
        await store.write(
            duplicates.route_dedupe,
            copy.id,
            decision,
            located={},
            duplicate_of=master.id,
            duplicate_score=0.9,
            duplicate_reason="same street",
        )
        stored = await store.read(meldingen.get, master.id)
        assert stored is not None
        assert (stored.dienst, stored.routed_by, stored.stage) == (
            "wegen",
            "rules:wegen:keyword:put",
            Stage.ROUTED,
        )
        assert stored.alternatives == [("wegen", 0.9)]
        [one] = await store.read(duplicates.reporter_deliveries, master.id)
        assert one.melding_id == master.id and one.idempotency_key.endswith(copy.id)

        await store.write(deliveries.succeeded, first.id, case_id="C1", stage=Stage.DELIVERED)
        planned = date.today()
        change = StatusUpdate(
            Status.GEPLAND, source="case_system", note="Volgende week", planned_date=planned
        )
        history_id = await store.write(history.add_status, master.id, change)
        assert history_id is not None
        assert await store.write(history.add_status, master.id, change) is None  # a replayed callback
        back = StatusUpdate(Status.ONTVANGEN, source="case_system")
        with pytest.raises(InvalidTransition):
            await store.write(history.add_status, master.id, back)
        [(duplicate_id, duplicate_history)] = await store.write(duplicates.follow_master, master.id, change)
        assert duplicate_id == copy.id
        entry = await store.read(history.entry, duplicate_history)
        assert entry is not None
        assert (entry.status, entry.source, entry.note, entry.planned_date) == (
            Status.GEPLAND,
            "case_system",
            "Volgende week",
            planned,
        )
    finally:
        await store.close()
