"""A case system down for a long while (hours of moved clock), and the extra reporters of a
problem after an outage: a running arq worker, real Redis, both stores, the receiver stand-in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import time_machine
from aiohttp.test_utils import TestClient

from gateway import clock as gateway_clock
from gateway.config import Settings
from gateway.melding import EVENT_CREATED, EVENT_UPDATED
from gateway.store import DeliveryRecord
from gateway.store import deliveries as deliveries_store
from gateway.store.schema import deliveries
from tests.support.api import melding, post, store_of
from tests.support.data import LAMP_PIN, LAMP_TEXT
from tests.support.http import Receiver
from tests.support.worker import running_worker, settled, until


def hours_budget(settings: Settings, hours: float) -> Settings:
    """The production backoff (2 s doubling, capped at 5 minutes) with a budget of `hours`;
    the attempt limit as shipped."""
    return settings.model_copy(
        update={
            "delivery_backoff_base": 2.0,
            "delivery_backoff_max": 300.0,
            "delivery_retry_for": hours * 3600,
            "delivery_max_attempts": Settings.model_fields["delivery_max_attempts"].default,
        }
    )


async def the_delivery(client: TestClient[Any, Any], event: str) -> DeliveryRecord:
    """The one delivery of this event."""
    record = await store_of(client).read(deliveries_store.where, deliveries.c.event == event)
    assert record is not None
    return record


async def requests_over(receiver: Receiver, count: int) -> bool:
    return len(receiver.received) > count


async def shift_to_next_request(clock: time_machine.Traveller, receiver: Receiver, seconds: float) -> None:
    """Move the clock to a try that is due, and wait until it reaches the receiver."""
    seen = len(receiver.received)
    clock.shift(seconds)
    assert await until(lambda: requests_over(receiver, seen))


async def test_a_case_system_down_for_an_hour_gets_the_melding_when_it_is_back(
    client: TestClient[Any, Any],
    settings: Settings,
    receiver: Receiver,
    redis_client: aioredis.Redis,
    clock: time_machine.Traveller,
) -> None:
    configured = hours_budget(settings, 24)
    receiver.responses = [503] * 10_000  # maintenance: every delivery refused
    created = await post(client)
    async with running_worker(configured):
        assert await until(lambda: requests_over(receiver, 0))
        start = gateway_clock.now()
        job_id = (await the_delivery(client, EVENT_CREATED)).job_id
        while (gateway_clock.now() - start).total_seconds() < 3600:
            due = await settled(redis_client, settings.queue_name, job_id)
            delivery = await the_delivery(client, EVENT_CREATED)
            assert due is not None, f"given up after {gateway_clock.now() - start}: {delivery}"
            assert delivery.state.value == "retrying"
            assert due <= 300 * 1.2 + 0.01  # the capped interval
            await shift_to_next_request(clock, receiver, due + 0.05)
        receiver.responses.clear()  # the window is over
        due = await settled(redis_client, settings.queue_name, job_id)
        assert due is not None and due <= 360.01
        clock.shift(due + 0.05)
        assert await settled(redis_client, settings.queue_name, job_id) is None
    delivery = await the_delivery(client, EVENT_CREATED)
    assert delivery.state.value == "delivered"
    assert delivery.attempts > 12  # the old budget (8 attempts, about 4 minutes) would have killed it
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [created["reference"]]
    got = await melding(client, created["id"])
    assert (got["stage"], got["status"]) == ("delivered", "geregistreerd")


async def test_a_delivery_is_dead_only_when_its_budget_of_hours_is_spent(
    client: TestClient[Any, Any],
    settings: Settings,
    receiver: Receiver,
    redis_client: aioredis.Redis,
    clock: time_machine.Traveller,
) -> None:
    configured = hours_budget(settings, 2)
    receiver.responses = [503] * 10_000  # the case system never comes back
    created = await post(client)
    attempts: list[tuple[float, str]] = []  # (seconds since the first failure, state after it)
    async with running_worker(configured):
        assert await until(lambda: requests_over(receiver, 0))
        start = gateway_clock.now()
        job_id = (await the_delivery(client, EVENT_CREATED)).job_id
        while True:
            due = await settled(redis_client, settings.queue_name, job_id)
            delivery = await the_delivery(client, EVENT_CREATED)
            attempts.append(((gateway_clock.now() - start).total_seconds(), delivery.state.value))
            if due is None:
                break
            assert len(attempts) < 100
            await shift_to_next_request(clock, receiver, due + 0.05)
    *before, (dead_at, last) = attempts
    assert last == "dead"
    assert {state for _, state in before} == {"retrying"}
    assert before[-1][0] < 2 * 3600 <= dead_at < 2 * 3600 + 1  # the last try falls at the budget's end
    got = await melding(client, created["id"])
    assert got["stage"] == "dead" and got["deliveries"][0]["state"] == "dead"


async def test_extra_reporters_are_delivered_as_soon_as_their_master_is(
    client: TestClient[Any, Any],
    settings: Settings,
    receiver: Receiver,
    redis_client: aioredis.Redis,
    clock: time_machine.Traveller,
) -> None:
    configured = hours_budget(settings, 24)
    receiver.responses = [503] * 3  # a short outage: the master's first three tries are refused
    queue = settings.queue_name

    async def updated() -> bool:
        return any(r["ok"] and r["body"]["event"] == EVENT_UPDATED for r in receiver.received)

    async with running_worker(configured):
        master = await post(client, LAMP_TEXT)
        assert await until(lambda: requests_over(receiver, 0))  # the master's case: refused
        duplicate = await post(client, LAMP_PIN)
        assert await until(lambda: _has(client, EVENT_UPDATED))
        master_job = (await the_delivery(client, EVENT_CREATED)).job_id
        reporter_job = (await the_delivery(client, EVENT_UPDATED)).job_id
        while not receiver.created:
            master_due = await settled(redis_client, queue, master_job)
            reporter_due = await settled(redis_client, queue, reporter_job)
            assert master_due is not None and reporter_due is not None
            if reporter_due <= master_due:  # the reporter waits: its own tries come and go
                clock.shift(reporter_due + 0.01)
                continue
            await shift_to_next_request(clock, receiver, master_due + 0.01)  # before the reporter's
        # the master's case exists: its extra reporter follows at once, with the clock standing still
        moment = datetime.now()
        assert await until(updated, timeout=5), "the reporter update waits for its own backoff"
        assert datetime.now() == moment
    [update] = [r for r in receiver.received if r["ok"] and r["body"]["event"] == EVENT_UPDATED]
    assert update["body"]["melding"]["reference"] == master["reference"]
    assert update["body"]["reporter_added"]["reference"] == duplicate["reference"]
    assert await until(lambda: _acknowledged(client, duplicate["id"]))


async def _has(client: TestClient[Any, Any], event: str) -> bool:
    return await store_of(client).read(deliveries_store.where, deliveries.c.event == event) is not None


async def _acknowledged(client: TestClient[Any, Any], duplicate_id: str) -> bool:
    got = await melding(client, duplicate_id)
    return bool(got["status"] == "geregistreerd")
