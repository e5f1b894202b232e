"""From intake through the arq worker to the case system, on real Redis and both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
import redis.asyncio as aioredis
import time_machine
from aiohttp.test_utils import TestClient
from arq import Retry
from sqlalchemy import select, update

from gateway.appkeys import STORE
from gateway.config import Settings
from gateway.melding import DeliveryState
from gateway.store import deliveries as deliveries_store
from gateway.store import inbound
from gateway.store import meldingen as meldingen_store
from gateway.store import notifications as notifications_store
from gateway.store.schema import deliveries, notifications, status_history
from tests.support.api import TILE, api_get, desk_decision, melding, post, signed
from tests.support.http import Receiver, RelayHandler, free_port
from tests.support.worker import gateway_cli, run_worker, sweep, worker_ctx
from workers import jobs


async def test_loose_tile_arrives_at_the_case_system_as_wegen(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    created = await post(client)
    await run_worker(settings)
    [hit] = receiver.received
    assert hit["signed"], "webhook must carry a valid X-Gateway-Signature"
    assert hit["body"]["event"] == "melding.created"
    sent = hit["body"]["melding"]
    assert sent["reference"] == created["reference"]
    assert sent["dienst"] == "wegen"
    assert sent["confidence"] > 0.5
    assert sent["routed_by"]
    assert "tracking_token" not in sent
    assert hit["headers"]["Idempotency-Key"] == f"{created['id']}:melding.created:created"
    got = await melding(client, created["id"])
    assert got["stage"] == "delivered"
    assert got["status"] == "geregistreerd"
    assert [h["status"] for h in got["status_history"]] == ["ontvangen", "geregistreerd"]
    assert got["deliveries"][0]["case_id"] == "C1"


async def test_undecided_text_waits_in_triage_and_is_not_delivered(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    created = await post(client, {"text": "Goeiemiddag, ik had een vraagje. Groetjes"})
    await run_worker(settings)
    got = await melding(client, created["id"])
    assert got["stage"] == "triage"
    assert got["dienst"] is None
    assert receiver.received == []
    listed = await (await api_get(client, "/api/v1/meldingen?stage=triage")).json()
    assert [m["id"] for m in listed["meldingen"]] == [created["id"]]


async def test_retry_on_5xx_then_success_with_a_stable_idempotency_key(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [503, 500]
    created = await post(client)
    await run_worker(settings)
    assert [r["status"] for r in receiver.received] == [503, 500, 200]
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.received}) == 1
    got = await melding(client, created["id"])
    assert got["stage"] == "delivered"
    assert got["deliveries"][0]["attempts"] == 3


async def test_timeouts_are_retried(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.delay = 0.5
    quick = settings.model_copy(update={"case_system_timeout": 0.2})
    created = await post(client)
    await run_worker(quick)
    got = await melding(client, created["id"])
    assert got["stage"] == "dead"
    assert "timed out" in got["deliveries"][0]["last_error"]
    assert got["deliveries"][0]["attempts"] == settings.delivery_max_attempts


async def test_refused_connection_exhausts_the_budget_to_dead(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    closed = settings.model_copy(update={"case_system_url": "http://127.0.0.1:9/case-system"})
    created = await post(client)
    await run_worker(closed)
    got = await melding(client, created["id"])
    assert got["stage"] == "dead"
    assert got["status"] == "ontvangen"
    [delivery] = got["deliveries"]
    assert delivery["state"] == "dead"
    assert delivery["attempts"] == settings.delivery_max_attempts
    assert "connection failed" in delivery["last_error"]


async def test_4xx_is_permanent(client: TestClient[Any, Any], settings: Settings, receiver: Receiver) -> None:
    receiver.responses = [422]
    created = await post(client)
    await run_worker(settings)
    assert len(receiver.received) == 1
    got = await melding(client, created["id"])
    assert got["stage"] == "dead"
    assert got["deliveries"][0]["attempts"] == 1
    assert got["deliveries"][0]["last_error"].startswith("HTTP 422")


async def test_dead_deliveries_listed_and_resent_by_the_cli(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [503] * settings.delivery_max_attempts
    created = await post(client)
    await run_worker(settings)
    listed = gateway_cli(settings, "deliveries", "--dead", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["reference"] for r in rows] == [created["reference"]]
    assert rows[0]["state"] == "dead" and rows[0]["attempts"] == settings.delivery_max_attempts
    assert "HTTP 503" in rows[0]["last_error"]
    assert (await melding(client, created["id"]))["deliveries"][0]["state"] == "dead"
    retried = gateway_cli(settings, "deliveries", "--retry")
    assert retried.returncode == 0, retried.stderr
    assert f"requeued {created['reference']} melding.created" in retried.stdout
    await run_worker(settings)
    got = await melding(client, created["id"])
    assert got["stage"] == "delivered" and got["status"] == "geregistreerd"
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [created["reference"]]
    assert "0 dead deliveries" in gateway_cli(settings, "deliveries", "--dead").stdout


async def test_sweep_requeues_a_melding_whose_job_vanished(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, redis_client: aioredis.Redis
) -> None:
    created = await post(client)
    await redis_client.flushdb()  # Redis restarted without persistence: the job is gone
    await run_worker(settings)
    assert receiver.received == []
    assert (await melding(client, created["id"]))["stage"] == "received"
    found = await sweep(settings)
    assert found["process"] == 1
    await run_worker(settings)
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [created["reference"]]
    assert (await sweep(settings)) == {"process": 0, "deliver": 0, "notify": 0}


async def test_sweep_requeues_a_lost_delivery(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, redis_client: aioredis.Redis
) -> None:
    receiver.responses = [503]
    slow = settings.model_copy(update={"delivery_backoff_base": 30.0, "delivery_backoff_max": 30.0})
    created = await post(client)
    store = client.app[STORE]
    async with worker_ctx(slow) as ctx:
        await jobs.process(ctx, created["id"])
        [waiting] = await store.read(deliveries_store.in_states, [DeliveryState.PENDING])
        with pytest.raises(Retry):  # fails once; arq would run it again in ~30 s
            await jobs.deliver(ctx, waiting.id)
    assert [r["status"] for r in receiver.received] == [503]
    await redis_client.flushdb()  # ... but Redis loses everything first
    assert (await sweep(settings))["deliver"] == 0  # not yet overdue: its job may still be queued
    await _force_due(store, waiting.id)
    assert (await sweep(settings))["deliver"] == 1
    await run_worker(settings)
    got = await melding(client, created["id"])
    assert got["stage"] == "delivered"
    assert got["deliveries"][0]["attempts"] == 2


async def _force_due(store: Any, delivery_id: int) -> None:
    overdue = datetime.now(UTC) - timedelta(seconds=5)
    query = update(deliveries).where(deliveries.c.id == delivery_id).values(next_attempt_at=overdue)
    await store.write(lambda conn: conn.execute(query))


async def test_status_callback_records_history_and_notifies_by_email(
    client: TestClient[Any, Any], settings: Settings, smtp_relay: tuple[str, RelayHandler]
) -> None:
    relay, handler = smtp_relay
    with_relay = settings.model_copy(update={"smtp_relay": relay})
    created = await post(client)
    await run_worker(with_relay)
    raw, headers = signed(
        {"status": "gepland", "planned_date": "2026-12-03", "note": "Herstelling ingepland"}
    )
    resp = await client.post(f"/api/v1/meldingen/{created['reference']}/status", data=raw, headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["changed"] is True
    await run_worker(with_relay)
    got = await melding(client, created["id"])
    assert [h["status"] for h in got["status_history"]] == ["ontvangen", "geregistreerd", "gepland"]
    assert got["status_history"][-1]["planned_date"] == "2026-12-03"
    assert got["status_history"][-1]["source"] == "case_system"
    mails = [message_from_bytes(m.original_content) for m in handler.messages]
    assert [m["To"] for m in mails] == ["An Peeters <an@example.be>"] * 2
    assert created["reference"] in mails[-1]["Subject"] and "Gepland" in mails[-1]["Subject"]
    body = mails[-1].get_payload(decode=True).decode()
    assert "03/12/2026" in body and created["tracking_url"] in body
    assert mails[-1]["Auto-Submitted"] == "auto-generated"
    # a replayed callback changes nothing and sends nothing
    raw, headers = signed({"status": "gepland", "planned_date": "2026-12-03"})
    resp = await client.post(f"/api/v1/meldingen/{created['reference']}/status", data=raw, headers=headers)
    assert (await resp.json())["changed"] is False
    await run_worker(with_relay)
    assert len(handler.messages) == 2


async def test_status_callback_refusals(client: TestClient[Any, Any], settings: Settings) -> None:
    created = await post(client)
    await run_worker(settings)  # delivered: the case system has it
    url = f"/api/v1/meldingen/{created['reference']}/status"
    raw, headers = signed({"status": "behandeld"}, secret="wrong")
    assert (await client.post(url, data=raw, headers=headers)).status == 401
    raw, headers = signed({"status": "behandeld"}, timestamp=1_000_000_000)
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 401 and "replay" in (await resp.json())["error"]["message"]
    assert (await client.post(url, json={"status": "behandeld"})).status == 401
    raw, headers = signed({"status": "opgelost"})
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 422 and (await resp.json())["error"]["fields"][0]["field"] == "status"
    raw, headers = signed({"status": "behandeld"})
    assert (
        await client.post("/api/v1/meldingen/1777-1999-000001/status", data=raw, headers=headers)
    ).status == 404
    assert (await client.post(url, data=raw, headers=headers)).status == 200
    raw, headers = signed({"status": "gepland"})
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "invalid_transition"
    assert (await melding(client, created["id"]))["status"] == "behandeld"


async def test_a_status_for_a_melding_the_case_system_never_got_is_refused(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    """A melding in triage (or not yet processed) has no case: a callback closing it is refused,
    and once the desk routes it the case system gets an open melding and may close it."""
    waiting = await post(client, {"text": "Goeiemiddag, ik had een vraagje. Groetjes"})
    fresh = await post(client)
    url = f"/api/v1/meldingen/{waiting['reference']}/status"
    raw, headers = signed({"status": "behandeld"})
    resp = await client.post(url, data=raw, headers=headers)  # not yet processed
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "not_delivered"
    await run_worker(settings)
    assert (await melding(client, waiting["id"]))["stage"] == "triage"
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "not_delivered" and "triage" in error["message"]
    got = await melding(client, waiting["id"])
    assert got["status"] == "ontvangen" and [h["status"] for h in got["status_history"]] == ["ontvangen"]

    resp = await desk_decision(client, waiting["id"], {"dienst": "wegen"})
    assert resp.status == 200, await resp.text()
    await run_worker(settings)
    created = [r["body"]["melding"] for r in receiver.received if r["body"]["event"] == "melding.created"]
    assert {m["reference"]: m["status"] for m in created}[waiting["reference"]] == "ontvangen"
    raw, headers = signed({"status": "behandeld"})
    resp = await client.post(url, data=raw, headers=headers)
    assert resp.status == 200 and (await resp.json())["changed"] is True
    # a melding delivered straight away takes its statuses as before
    raw, headers = signed({"status": "in_behandeling"})
    resp = await client.post(f"/api/v1/meldingen/{fresh['reference']}/status", data=raw, headers=headers)
    assert resp.status == 200 and (await resp.json())["changed"] is True


async def test_notification_without_relay_is_recorded_as_skipped(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    await post(client)
    await run_worker(settings)
    query = select(notifications.c.state, notifications.c.detail)
    rows = await client.app[STORE].read(lambda conn: list(conn.execute(query)))
    assert [(r.state, r.detail) for r in rows] == [("skipped", "GATEWAY_SMTP_RELAY is not set")]


async def test_tracking_page_shows_status_in_dutch(client: TestClient[Any, Any], settings: Settings) -> None:
    created = await post(client)
    await run_worker(settings)
    path = created["tracking_url"].removeprefix(settings.public_url)
    resp = await client.get(path)
    html = await resp.text()
    assert resp.status == 200 and created["reference"] in html and "Geregistreerd" in html
    assert (await client.get("/t/not-a-token")).status == 404


async def test_a_followup_whose_jobs_were_never_queued_still_goes_out(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, clock: time_machine.Traveller
) -> None:
    """A process that dies right after storing a follow-up queued nothing: the follow-up's status
    change and its `melding.followup` were stored in the same transaction, so the sweep finds them."""
    created = await post(client)
    await run_worker(settings)
    raw, headers = signed({"status": "wachten_op_antwoord", "note": "Welk huisnummer?"})
    resp = await client.post(f"/api/v1/meldingen/{created['reference']}/status", data=raw, headers=headers)
    assert resp.status == 200
    await run_worker(settings)
    store = client.app[STORE]
    added = await store.write(
        inbound.add_followup,  # the store write alone: no job queued after it
        created["id"],
        channel="sms",
        external_id="SM-late",
        received_at=datetime.now(UTC),
        sender="+32470123456",
        text="Nummer 12",
    )
    assert added.followup_id is not None and added.history_id is not None and added.delivery is not None
    await run_worker(settings)
    assert [r for r in receiver.received if r["body"]["event"] == "melding.followup"] == []  # nothing queued
    now = settings.model_copy(update={"sweep_grace": 0.0})
    clock.shift(0.05)  # past the sweep's cut-off (no grace)
    found = await sweep(now)
    assert found["deliver"] == 1 and found["notify"] == 1
    await run_worker(settings)
    [followup] = [r["body"] for r in receiver.received if r["body"]["event"] == "melding.followup"]
    assert followup["melding"]["reference"] == created["reference"]
    got = await melding(client, created["id"])
    assert got["status"] == "in_behandeling"
    assert got["status_history"][-1]["note"] == "Reactie van de melder ontvangen"


async def test_sweep_requeues_a_notification_waiting_to_be_retried_whose_job_was_lost(
    client: TestClient[Any, Any],
    settings: Settings,
    smtp_relay: tuple[str, RelayHandler],
    redis_client: aioredis.Redis,
    clock: time_machine.Traveller,
) -> None:
    """A status mail the relay refused waits ('retrying') for its job to run again; Redis restarts
    empty and the job is gone. The sweep queues it again once due, and it goes out once."""
    relay, handler = smtp_relay
    with_relay = settings.model_copy(update={"smtp_relay": relay})
    relay_down = settings.model_copy(update={"smtp_relay": f"127.0.0.1:{free_port()}"})
    graced = settings.model_copy(update={"sweep_grace": 5.0})
    created = await post(client)
    await run_worker(settings)  # no relay: the 'geregistreerd' mail is skipped, a settled decision
    raw, headers = signed({"status": "gepland", "planned_date": "2026-12-03"})
    resp = await client.post(f"/api/v1/meldingen/{created['reference']}/status", data=raw, headers=headers)
    assert resp.status == 200
    store = client.app[STORE]
    gepland = select(status_history.c.id).where(status_history.c.status == "gepland")
    history_id = await store.read(lambda conn: conn.execute(gepland).scalar_one())
    clock.shift(10)
    async with worker_ctx(relay_down) as ctx:
        with pytest.raises(Retry):  # the relay refuses; arq would run the job again in ~30 s
            await jobs.notify(ctx, created["id"], history_id)
    assert await store.read(notifications_store.states_of, history_id) == {"email": "retrying"}
    # a second channel waiting too must not queue the change twice
    await store.write(
        notifications_store.record,
        created["id"],
        history_id,
        "sms",
        recipient=None,
        state="retrying",
        detail="x",
    )
    await redis_client.flushdb()  # ... but Redis loses everything first
    assert (await sweep(graced))["notify"] == 0  # failed 0 s ago: not due, its job may still be queued
    clock.shift(10)
    cutoff = datetime.now(UTC) - timedelta(seconds=graced.sweep_grace)
    assert await store.read(notifications_store.unnotified, cutoff) == [(created["id"], history_id)]
    assert (await sweep(graced))["notify"] == 1
    await run_worker(with_relay)
    mails = [message_from_bytes(m.original_content) for m in handler.messages]
    assert len(mails) == 1 and "Gepland" in mails[0]["Subject"]
    assert (await store.read(notifications_store.states_of, history_id))["email"] == "sent"
    # settled: neither the sweep nor the same job run again sends it a second time
    await store.write(
        notifications_store.record,
        created["id"],
        history_id,
        "sms",
        recipient=None,
        state="skipped",
        detail="x",
    )
    assert (await sweep(graced))["notify"] == 0
    async with worker_ctx(with_relay) as ctx:
        await jobs.notify(ctx, created["id"], history_id)
    assert len(handler.messages) == 1


async def test_a_listed_page_holds_each_melding_whole_as_read_alone(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    """The list reads a page in a handful of queries (not five per melding): each melding on it,
    with its history, deliveries, files and follow-ups, is the one `get` gives."""
    first = await post(client)
    second = await post(client, {**TILE, "text": "Er ligt een sluikstort aan de Leie"})
    await run_worker(settings)
    store = client.app[STORE]
    await store.write(
        inbound.add_followup,
        first["id"],
        channel="sms",
        external_id="SM-page",
        received_at=datetime.now(UTC),
        sender="+32470123456",
        text="Het is nummer 12",
    )
    await run_worker(settings)
    listed = await store.read(meldingen_store.list_meldingen)
    alone = [await store.read(meldingen_store.get, m.id) for m in listed]
    assert listed == alone
    assert {m.id for m in listed} == {first["id"], second["id"]}
    [with_followup] = [m for m in listed if m.id == first["id"]]
    assert [f.text for f in with_followup.followups] == ["Het is nummer 12"]
    assert with_followup.deliveries and len(with_followup.status_history) >= 2
