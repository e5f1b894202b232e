"""gateway.redis_batch: the commands concurrent callers send at the same moment go in one round
trip, and each caller gets exactly what it would have got alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from gateway import redis_batch
from gateway.redis_batch import Command, script_call, send

INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of commands of each round trip `send` makes."""
    sizes: list[int] = []
    execute = redis_batch._execute

    async def counted(redis: aioredis.Redis, commands: Any) -> list[Any]:
        sizes.append(len(commands))
        return await execute(redis, commands)

    monkeypatch.setattr(redis_batch, "_execute", counted)
    return sizes


async def test_concurrent_callers_share_one_round_trip_and_get_their_own_replies(
    redis_client: aioredis.Redis, round_trips: list[int]
) -> None:
    replies = await asyncio.gather(
        *(
            send(redis_client, [Command(("INCRBY", f"k{n}", n)), Command(("GET", f"k{n}"))])
            for n in range(1, 6)
        )
    )
    assert replies == [[n, str(n).encode()] for n in range(1, 6)]
    assert round_trips == [10]


async def test_a_caller_alone_still_gets_its_reply(
    redis_client: aioredis.Redis, round_trips: list[int]
) -> None:
    assert await send(redis_client, [Command(("SET", "alone", "1"))]) == [True]
    assert await send(redis_client, [Command(("GET", "alone"))]) == [b"1"]
    assert round_trips == [1, 1]


async def test_a_script_redis_lost_is_loaded_and_run_once(redis_client: aioredis.Redis) -> None:
    assert await send(redis_client, [script_call(INCR_BY, ["s"], [2])]) == [2]
    await redis_client.script_flush()  # as after a Redis restart
    replies = await asyncio.gather(
        send(redis_client, [script_call(INCR_BY, ["s"], [3])]),
        send(redis_client, [Command(("INCRBY", "other", 1))]),
    )
    assert replies == [[5], [1]]  # the script ran once more, not twice
    assert await redis_client.get("s") == b"5"


async def test_an_error_reaches_only_the_caller_whose_command_failed(redis_client: aioredis.Redis) -> None:
    await redis_client.set("text", "not a number")
    failing, fine = await asyncio.gather(
        send(redis_client, [Command(("INCR", "text"))]),
        send(redis_client, [Command(("INCR", "counter"))]),
        return_exceptions=True,
    )
    assert isinstance(failing, ResponseError)
    assert fine == [1]


async def test_redis_down_is_each_callers_connection_error() -> None:
    down = aioredis.Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        outcomes = await asyncio.gather(
            send(down, [Command(("INCR", "a"))]), send(down, [Command(("INCR", "b"))]), return_exceptions=True
        )
    finally:
        await down.aclose()
    assert all(isinstance(o, RedisConnectionError | OSError) for o in outcomes), outcomes
