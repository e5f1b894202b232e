"""Citizen portal feeds: a push per status change for meldingen linked to a citizen, DOSIS and the
signed JSON feed as their stand-ins validate them, retries, and the number nowhere else."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from gateway.config import ConfigError, Settings, load_settings
from gateway.http.app import create_app
from gateway.logs import JsonFormatter
from gateway.melding import DeliveryState
from gateway.store import pushes
from gateway.store import retention as retention_store
from gateway.store.schema import meldingen
from tests.support.api import api_get, melding, signed, store_of
from tests.support.data import TILE
from tests.support.http import Receiver
from tests.support.portal import FakePortal, dosis_feed, fake_portal, signed_feed, with_feeds
from tests.support.sms import set_status
from tests.support.worker import gateway_cli, run_worker, running_worker, until, worker_ctx
from workers import status_feeds

NUMBER = "85.07.30-033.28"
DIGITS = "85073003328"
OTHER_STREET = {"street": "Doorniksestraat", "house_number": "3", "postcode": "8500"}


@pytest.fixture
async def portal() -> AsyncIterator[FakePortal]:
    async with fake_portal() as fake:
        yield fake


@pytest.fixture
def fed(settings: Settings, portal: FakePortal) -> Settings:
    return with_feeds(settings, dosis_feed(portal), signed_feed(portal, statuses=["behandeld"]))


@pytest.fixture
async def app(fed: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(fed))) as c:
        yield c


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


async def post(app: TestClient[Any, Any], **extra: Any) -> dict[str, Any]:
    resp = await app.post("/api/v1/meldingen", json={**TILE, **extra})
    assert resp.status == 202, await resp.text()
    return await resp.json()


async def test_the_intake_refuses_a_wrong_number_naming_the_field(app: TestClient[Any, Any]) -> None:
    resp = await app.post("/api/v1/meldingen", json={**TILE, "national_register_number": "85.07.30-033.29"})
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["fields"][0]["field"] == "national_register_number"
    assert "check digits" in error["message"] and "0730" not in error["message"]
    listed = await (await api_get(app, "/api/v1/meldingen")).json()
    assert listed["meldingen"] == [] if isinstance(listed, dict) else listed == []  # nothing stored


async def test_a_push_per_status_change_only_for_a_melding_with_a_number(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal
) -> None:
    linked = await post(app, national_register_number=NUMBER)
    anonymous = await post(app, location=OTHER_STREET)
    await run_worker(fed)  # delivered: Geregistreerd
    for status in ("in_behandeling", "wachten_op_antwoord", "behandeld"):
        for created in (linked, anonymous):
            await set_status(app, created["reference"], status=status, note=f"Stap {status}")
        await run_worker(fed)
    dosis = [b for b in portal.received if "DossierNummer" in b]
    assert [b["StatusCode"] for b in dosis] == [
        "geregistreerd",
        "in_behandeling",
        "wachten_op_antwoord",
        "behandeld",
    ]
    assert {b["DossierNummer"] for b in dosis} == {linked["reference"]}
    assert all(b["Agenten"] == [{"Rijksregisternummer": DIGITS}] for b in dosis)
    assert [b["ActieNodig"] for b in dosis] == [False, False, True, False]
    assert dosis[2]["Actie"] == "Stap wachten_op_antwoord" and dosis[3]["Status"] == "Behandeld"
    assert dosis[0]["DocumentLinkUri"].startswith("https://meldpunt.example/t/")
    # the signed feed wants Behandeld only; its receiver verified the signature
    [json_push] = [b for b in portal.received if b.get("event") == "melding.status"]
    assert (json_push["reference"], json_push["status"]) == (linked["reference"], "behandeld")
    assert json_push["national_register_number"] == DIGITS and portal.refused == []
    keys = [h["Idempotency-Key"] for h in portal.headers]
    assert len(set(keys[:4])) == 4 and keys[4] == keys[3]  # one key per status change, shared by feeds
    assert await store_of(app).read(pushes.of_melding, anonymous["id"]) == []
    await run_worker(fed)
    assert len(portal.received) == 5  # nothing pushed twice


async def test_a_portal_that_is_down_is_retried_and_holds_nothing_up(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal, receiver: Receiver
) -> None:
    portal.fail_next(503, times=2)
    created = await post(app, national_register_number=NUMBER)
    await run_worker(fed)  # the burst worker waits for the deferred retries too
    assert len(receiver.created) == 1  # the case system got it whatever the portal did
    assert (await melding(app, created["id"]))["status"] == "geregistreerd"
    [push] = await store_of(app).read(pushes.of_melding, created["id"])
    assert (push.state, push.attempts, push.last_error) == (DeliveryState.DELIVERED, 3, None)
    assert [s for s, _ in portal.refused] == [503, 503] and len(portal.received) == 1


async def test_a_revoked_token_is_replaced_and_the_push_goes(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal
) -> None:
    created = await post(app, national_register_number=NUMBER)
    portal.revoke_next = True
    await run_worker(fed)
    [push] = await store_of(app).read(pushes.of_melding, created["id"])
    assert (push.state, push.attempts) == (DeliveryState.DELIVERED, 2)  # 401, then a new token
    assert portal.refused == [(401, "invalid_token")] and portal.token_requests == 2
    assert [b["StatusCode"] for b in portal.received] == ["geregistreerd"]


async def test_a_push_is_dead_after_its_budget_or_at_once_when_refused(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal, caplog: pytest.LogCaptureFixture
) -> None:
    created = await post(app, national_register_number=NUMBER)
    portal.fail_next(503, times=10)  # longer than delivery_max_attempts (4)
    with caplog.at_level(logging.ERROR, logger="workers"):
        await run_worker(fed)
    [push] = await store_of(app).read(pushes.of_melding, created["id"])
    assert (push.state, push.attempts) == (DeliveryState.DEAD, 4)
    assert "HTTP 503" in (push.last_error or "") and any(
        "status push dead" in r.getMessage() for r in caplog.records
    )
    portal.failures.clear()
    portal.fail_next(422)  # refused for what we sent: no retry
    await set_status(app, created["reference"], status="in_behandeling")
    await run_worker(fed)
    dead = await store_of(app).read(pushes.in_states, [DeliveryState.DEAD])
    assert [(p.attempts, p.state) for p in dead] == [(4, DeliveryState.DEAD), (1, DeliveryState.DEAD)]
    listed = gateway_cli(fed, "pushes", "--dead", "--json")
    assert [json.loads(line)["attempts"] for line in listed.stdout.splitlines()] == [4, 1]
    retried = gateway_cli(fed, "pushes", "--retry")
    assert "2 dead status pushes sent again" in retried.stdout, retried.stderr
    await run_worker(fed)
    # both go again; the older status is left out: the portal shows the newest, never an older one
    assert [b["StatusCode"] for b in portal.received] == ["in_behandeling"]
    assert "0 dead status pushes" in gateway_cli(fed, "pushes", "--dead").stdout


async def test_the_sweep_queues_a_push_whose_job_was_lost(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal, redis_client: Any, clock: Any
) -> None:
    slow = fed.model_copy(update={"delivery_backoff_base": 3600.0, "delivery_backoff_max": 3600.0})
    created = await post(app, national_register_number=NUMBER)
    portal.fail_next(503)
    async with running_worker(slow):
        assert await until(lambda: _attempts(app, created["id"], 1))
    await redis_client.flushdb()  # Redis restarted empty: the deferred retry is gone
    clock.shift(2 * 3600)
    async with worker_ctx(slow) as ctx:
        assert await status_feeds.sweep_pushes(ctx) == 1
    await run_worker(slow)
    assert [b["StatusCode"] for b in portal.received] == ["geregistreerd"]


async def test_an_older_status_retried_after_a_newer_one_was_pushed_is_left_out(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal, clock: Any
) -> None:
    slow = fed.model_copy(update={"delivery_backoff_base": 3600.0, "delivery_backoff_max": 3600.0})
    created = await post(app, national_register_number=NUMBER)
    portal.fail_next(503)
    async with running_worker(slow):
        assert await until(lambda: _attempts(app, created["id"], 1))  # Geregistreerd waits an hour
        await set_status(app, created["reference"], status="in_behandeling")
        assert await until(lambda: _pushed(portal, 1))
        clock.shift(2 * 3600)  # the retry of Geregistreerd is due
        assert await until(lambda: _settled(app, created["id"]))
    assert [b["StatusCode"] for b in portal.received] == ["in_behandeling"]
    first, _ = await store_of(app).read(pushes.of_melding, created["id"])
    assert first.state == DeliveryState.DELIVERED and "later status" in (first.last_error or "")
    assert first.attempts == 2  # tried, then left out


async def _pushed(portal: FakePortal, n: int) -> bool:
    return len(portal.received) == n


async def _settled(app: TestClient[Any, Any], melding_id: str) -> bool:
    found = await store_of(app).read(pushes.of_melding, melding_id)
    return all(p.state == DeliveryState.DELIVERED for p in found)


async def _attempts(app: TestClient[Any, Any], melding_id: str, n: int) -> bool:
    return [p.attempts for p in await store_of(app).read(pushes.of_melding, melding_id)] == [n]


async def test_the_desk_links_a_melding_to_a_citizen(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal
) -> None:
    created = await post(app)
    await run_worker(fed)
    assert portal.received == []  # not linked: nothing to push
    path = f"/api/v1/meldingen/{created['reference']}/national-register-number"
    raw, headers = signed({"national_register_number": "85.07.30-033.00"})
    bad = await app.put(path, data=raw, headers=headers)
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "national_register_number"
    unsigned = await app.put(path, json={"national_register_number": NUMBER})
    assert unsigned.status == 401
    raw, headers = signed({"national_register_number": NUMBER})
    ok = await app.put(path, data=raw, headers=headers)
    assert ok.status == 200
    assert (await ok.json())["national_register_number"] == "*********28"
    await run_worker(fed)  # the portal shows the melding at once, at its current status
    await set_status(app, created["reference"], status="gepland", planned_date="2026-12-20")
    await run_worker(fed)
    assert [(b["DossierNummer"], b["StatusCode"]) for b in portal.received] == [
        (created["reference"], "geregistreerd"),
        (created["reference"], "gepland"),
    ]
    raw, headers = signed({"national_register_number": None})  # unlinked: nothing more is pushed
    assert (await (await app.put(path, data=raw, headers=headers)).json())["linked"] is False
    await set_status(app, created["reference"], status="behandeld")
    await run_worker(fed)
    assert len(portal.received) == 2


async def test_the_number_is_nowhere_but_in_the_portal_push(
    app: TestClient[Any, Any], fed: Settings, portal: FakePortal, receiver: Receiver, captured: io.StringIO
) -> None:
    created = await post(app, national_register_number=NUMBER)
    await run_worker(fed)
    await set_status(app, created["reference"], status="behandeld")
    await run_worker(fed)
    assert len(portal.received) == 3  # pushed: DOSIS twice, the signed feed once
    shown = [
        await (await api_get(app, f"/api/v1/meldingen/{created['id']}")).text(),
        await (await api_get(app, "/api/v1/meldingen")).text(),
        await (await app.get(created["tracking_url"].removeprefix("https://meldpunt.example"))).text(),
        str(receiver.received),  # the case system's webhooks
        captured.getvalue(),  # every log line
    ]
    row = await store_of(app).read(
        lambda conn: conn.execute(select(meldingen).where(meldingen.c.id == created["id"])).one()
    )
    shown += [row.raw or "", row.text]
    assert "melding received" in shown[-3]  # the logs were captured
    for text in shown:
        assert DIGITS not in text and "85.07.30" not in text


async def test_retention_removes_the_number(app: TestClient[Any, Any], fed: Settings, tmp_path: Any) -> None:
    created = await post(app, national_register_number=NUMBER)
    store = store_of(app)
    assert await store.read(pushes.national_register_number, created["id"]) == DIGITS
    await store.write(retention_store.anonymise, [created["id"]], datetime.now(UTC), tmp_path, dry_run=False)
    assert await store.read(pushes.national_register_number, created["id"]) is None


def test_a_feed_setting_that_cannot_work_stops_the_gateway_naming_it() -> None:
    feed = {"name": "burgerprofiel", "kind": "dosis", "url": "https://dosis.example"}
    with pytest.raises(ConfigError, match=r"GATEWAY_STATUS_FEEDS.*needs token_url, client_id, client_secret"):
        load_settings(None, {"GATEWAY_STATUS_FEEDS": json.dumps([feed])})
    wrong_status = {
        "name": "app",
        "kind": "signed_json",
        "url": "https://x",
        "secret": "s",
        "statuses": ["klaar"],
    }
    with pytest.raises(ConfigError, match="GATEWAY_STATUS_FEEDS"):
        load_settings(None, {"GATEWAY_STATUS_FEEDS": json.dumps([wrong_status])})
    with pytest.raises(ConfigError, match="not a JSON list of feeds"):
        load_settings(None, {"GATEWAY_STATUS_FEEDS": "[{"})
    ok = {**wrong_status, "statuses": ["behandeld"]}
    loaded = load_settings(None, {"GATEWAY_STATUS_FEEDS": json.dumps([ok])})
    assert [(f.name, f.statuses) for f in loaded.status_feeds] == [("app", ["behandeld"])]
    assert "secret" not in repr(loaded.status_feeds[0])  # a logged setting shows no credentials
