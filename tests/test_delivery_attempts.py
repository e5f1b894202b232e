"""Every attempt logged (`delivery_attempts`): each try of a case-system delivery and of a portal
push as the worker makes it (transient, permanent, crashed, ok), `gateway deliveries --attempts`,
and retention emptying the error texts. Both stores, real Redis, the receiver and portal stand-ins."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.melding import DeliveryState, Melding
from gateway.store import attempts, deliveries, pushes
from gateway.store import retention as retention_store
from gateway.store.attempts import Attempt, AttemptRecord
from gateway.store.schema import status_history
from tests.support.api import melding, post, store_of
from tests.support.data import TILE
from tests.support.http import Receiver
from tests.support.portal import FakePortal, dosis_feed, fake_portal, with_feeds
from tests.support.worker import gateway_cli, run_worker, worker_ctx
from workers import jobs, status_feeds
from workers.ctx import state
from workers.status_feeds.adapters import Dossier

NUMBER = "85.07.30-033.28"


def summary(found: list[AttemptRecord]) -> list[tuple[str, int, str, int | None, str | None]]:
    return [(a.what, a.attempt, a.outcome, a.http_status, a.case_id) for a in found]


async def attempts_of(client: TestClient[Any, Any], melding_id: str) -> list[AttemptRecord]:
    return await store_of(client).read(attempts.of_melding, melding_id)


async def test_every_try_of_a_delivery_is_logged_with_its_outcome(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [503, 429]  # the case system is busy twice, then takes it
    created = await post(client)
    await run_worker(settings)
    assert (await melding(client, created["id"]))["stage"] == "delivered"
    found = await attempts_of(client, created["id"])
    assert summary(found) == [
        ("melding.created", 1, "transient", 503, None),
        ("melding.created", 2, "transient", 429, None),
        ("melding.created", 3, "ok", None, "C3"),  # the stand-in's id for its third request
    ]
    assert found[0].error is not None and found[0].error.startswith("HTTP 503: ")
    assert found[2].error is None
    assert all(a.started_at <= a.finished_at for a in found)
    assert found[0].finished_at <= found[1].started_at <= found[2].started_at  # in the order made
    assert {a.delivery_id for a in found} == {found[0].delivery_id} and found[0].push_id is None


async def test_a_refused_delivery_logs_one_permanent_attempt_and_a_manual_retry_counts_on(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [422]
    created = await post(client)
    await run_worker(settings)
    [refused] = await attempts_of(client, created["id"])
    assert (refused.outcome, refused.http_status, refused.attempt) == ("permanent", 422, 1)
    # Resent by hand: the delivery's own count starts again, the log's numbering goes on.
    assert len(await store_of(client).write(deliveries.revive_dead, [created["reference"]])) == 1
    async with worker_ctx(settings) as ctx:
        [revived] = await store_of(client).read(deliveries.in_states, [DeliveryState.PENDING])
        assert await jobs.deliver(ctx, revived.id) == "delivered"
    assert [(a.attempt, a.outcome) for a in await attempts_of(client, created["id"])] == [
        (1, "permanent"),
        (2, "ok"),
    ]


class Crashing:
    """A case system or feed adapter with a bug: it raises what no adapter should."""

    name = "crashing"

    async def deliver(self, event: str, melding: Melding, **_: Any) -> str | None:
        raise RuntimeError("adapter bug: 'NoneType' has no attribute 'id'")

    async def push(self, dossier: Dossier) -> None:
        raise KeyError("StatusCode")


async def test_an_adapter_that_crashes_is_logged_as_a_crashed_attempt(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    created = await post(client)
    async with worker_ctx(settings) as ctx:
        await jobs.process(ctx, created["id"])
        [waiting] = await store_of(client).read(deliveries.in_states, [DeliveryState.PENDING])
        state(ctx).case_system = Crashing()  # type: ignore[assignment]
        with pytest.raises(RuntimeError):  # arq's own handling takes it from here, as before
            await jobs.deliver(ctx, waiting.id)
    [crashed] = await attempts_of(client, created["id"])
    assert (crashed.outcome, crashed.http_status, crashed.delivery_id) == ("crashed", None, waiting.id)
    assert crashed.error == "RuntimeError: adapter bug: 'NoneType' has no attribute 'id'"


@pytest.fixture
async def portal() -> AsyncIterator[FakePortal]:
    async with fake_portal() as fake:
        yield fake


@pytest.fixture
def fed(settings: Settings, portal: FakePortal) -> Settings:
    return with_feeds(settings, dosis_feed(portal))


@pytest.fixture
async def app(fed: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(fed))) as c:
        yield c


async def test_every_try_of_a_portal_push_is_logged(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal
) -> None:
    portal.fail_next(503, times=2)
    resp = await app.post("/api/v1/meldingen", json={**TILE, "national_register_number": NUMBER})
    created = await resp.json()
    await run_worker(fed)
    found = await attempts_of(app, created["id"])
    [push] = await store_of(app).read(pushes.of_melding, created["id"])
    assert summary(found) == [
        ("melding.created", 1, "ok", None, "C1"),
        ("push:burgerprofiel", 1, "transient", 503, None),
        ("push:burgerprofiel", 2, "transient", 503, None),
        ("push:burgerprofiel", 3, "ok", None, None),
    ]
    assert {a.push_id for a in found[1:]} == {push.id} and found[1].delivery_id is None
    assert found[1].error is not None and "HTTP 503" in found[1].error


async def test_a_push_whose_adapter_crashes_is_logged(app: TestClient[Any, Any], fed: Settings) -> None:
    resp = await app.post("/api/v1/meldingen", json={**TILE, "national_register_number": NUMBER})
    created = await resp.json()
    async with worker_ctx(fed) as ctx:
        await jobs.process_through(ctx, created["id"])  # delivered, notified: its push is queued
        [push] = await store_of(app).read(pushes.of_melding, created["id"])
        ctx["status_feeds"] = {"burgerprofiel": Crashing()}
        with pytest.raises(KeyError):
            await status_feeds.push(ctx, push.id)
    crashed = (await attempts_of(app, created["id"]))[-1]
    assert (crashed.what, crashed.outcome, crashed.error) == (
        "push:burgerprofiel",
        "crashed",
        "KeyError: 'StatusCode'",
    )


async def test_the_command_prints_every_attempt(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [503]
    created = await post(client)
    await run_worker(settings)
    table = gateway_cli(settings, "deliveries", "--attempts", created["reference"])
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[-1] == "2 attempts"
    # what, number, start (date, time), duration, outcome, HTTP status, case id, error
    first, second = lines[0].split(), lines[1].split()
    assert first[:2] == ["melding.created", "1"] and first[5:8] == ["transient", "503", "HTTP"]
    assert lines[0].endswith('HTTP 503: {"case_id": "C1"}')  # the stand-in's body, as received
    assert second[:2] == ["melding.created", "2"] and second[5:] == ["ok", "-", "C2"]
    by_id = gateway_cli(settings, "deliveries", "--attempts", created["id"], "--json")
    rows = [json.loads(line) for line in by_id.stdout.splitlines()]
    assert [(r["what"], r["attempt"], r["outcome"], r["http_status"], r["case_id"]) for r in rows] == [
        ("melding.created", 1, "transient", 503, None),
        ("melding.created", 2, "ok", None, "C2"),
    ]
    unknown = gateway_cli(settings, "deliveries", "--attempts", "1777-2026-999999")
    assert unknown.returncode == 1 and "no melding with reference or id '1777-2026-999999'" in unknown.stderr


async def test_a_reference_filters_or_is_refused_when_no_melding_has_it(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [422, 422]  # both dead at once
    first = await post(client)
    second = await post(client, {**TILE, "text": "De straatlamp aan de Budastraat 40 brandt niet meer."})
    await run_worker(settings)
    listed = gateway_cli(settings, "deliveries", "--dead", "--reference", second["reference"], "--json")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["reference"] for line in listed.stdout.splitlines()] == [second["reference"]]
    for command in ("deliveries", "pushes"):  # used to say "0 dead ... sent again" and exit 0
        for retry in (["--retry"], []):
            typo = gateway_cli(
                settings, command, *retry, "--reference", first["reference"], "--reference", "nope"
            )
            assert typo.returncode == 1 and typo.stdout == ""
            assert typo.stderr.splitlines()[-1] == f"gateway {command}: no melding with reference 'nope'"
    assert (await melding(client, first["id"]))["deliveries"][0]["state"] == "dead"  # nothing sent again


async def test_retention_empties_the_error_texts_of_attempts(
    app: TestClient[Any, Any], fed: Settings, tmp_path: Any
) -> None:
    """A case system or portal that refuses a field may quote it: the citizen's own words."""
    store = store_of(app)
    resp = await app.post("/api/v1/meldingen", json={**TILE, "national_register_number": NUMBER})
    created = await resp.json()
    quoted = "HTTP 422: field 'request' too long: 'Tegel los aan het huis van Zebedeus Quaxelmann'"
    async with worker_ctx(fed) as ctx:
        await jobs.process(ctx, created["id"])
    [delivery] = await store.read(deliveries.in_states, [DeliveryState.PENDING])
    refused = Attempt(datetime.now(UTC), "permanent", http_status=422, error=quoted)
    await store.write(
        deliveries.failed, delivery.id, error=quoted, dead=True, next_attempt_at=None, attempt=refused
    )
    history_id = await store.read(
        lambda c: c.execute(
            select(status_history.c.id).where(status_history.c.melding_id == created["id"])
        ).scalar_one()
    )
    [push] = await store.write(pushes.ensure, created["id"], history_id, ["burgerprofiel"])
    tried = Attempt(datetime.now(UTC), "permanent", http_status=400, error=f"feed burgerprofiel: {quoted}")
    await store.write(pushes.failed, push.id, error=tried.error or "", next_attempt_at=None, attempt=tried)
    assert [a.error for a in await attempts_of(app, created["id"])] == [
        quoted,
        f"feed burgerprofiel: {quoted}",
    ]

    await store.write(retention_store.anonymise, [created["id"]], datetime.now(UTC), tmp_path, dry_run=False)
    after = await attempts_of(app, created["id"])
    assert [(a.what, a.outcome, a.http_status, a.error) for a in after] == [
        ("melding.created", "permanent", 422, None),
        ("push:burgerprofiel", "permanent", 400, None),
    ]
    [push_after] = await store.read(pushes.of_melding, created["id"])
    assert push_after.last_error is None
