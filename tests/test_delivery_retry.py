"""A case system down for a long while (hours of moved clock): a running arq worker, real Redis,
both stores, the receiver stand-in."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
import time_machine
from aiohttp.test_utils import TestClient

from gateway import clock as gateway_clock
from gateway.config import Settings
from gateway.melding import EVENT_CREATED
from gateway.store import DeliveryRecord
from gateway.store import deliveries as deliveries_store
from gateway.store.schema import deliveries
from tests.support.api import melding, post, store_of
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
