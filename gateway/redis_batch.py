"""The Redis commands that concurrent jobs issue at the same moment, sent in one round trip.

A worker's jobs resume together: a grouped store write (Store.write_grouped) commits the
operations of several jobs at once, and each of them then talks to Redis (the mark of its next
step, the delivery counters, the marks dropped as it ends). Sent one by one, that was a round
trip per job and command, each about 150 µs of the worker's CPU on the development machine
(the socket write and read, the event loop's wake-up, redis-py's connection checkout); a worker
spent about a tenth of its CPU on them. `send` collects what the jobs submit within a few turns
of the event loop (`LINGER`) and sends it as one pipeline (not a transaction: each command is
atomic on its own, as it was when sent alone; a script is one command; a caller's MULTI ... EXEC,
arq's own transactions through gateway.queue_transactions, stays together and so atomic).

Each caller gets the replies to its own commands, or the error of its own command, or the error
that cut off the whole round trip (Redis down: every caller sees the ConnectionError it would
have seen alone). A script Redis does not hold (it restarted since) is loaded and run again:
EVALSHA refused with NOSCRIPT did nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, ResponseError

# Turns of the event loop a round trip waits for more callers to join it: the jobs woken by one
# group commit run one after another in the turn after it, and a step or two later for some.
LINGER = 2


@dataclass(frozen=True)
class Command:
    """One Redis command; `script`: for an EVALSHA, the script's text (to load on NOSCRIPT).
    `raw`: its reply as Redis sent it, without redis-py's response callback (a command inside a
    MULTI answers QUEUED: gateway.queue_transactions parses EXEC's replies itself)."""

    args: tuple[Any, ...]
    script: str | None = None
    raw: bool = False


def script_call(script: str, keys: Sequence[str], args: Sequence[Any]) -> Command:
    """EVALSHA of `script` (its SHA-1 computed once per text) on these keys and arguments."""
    return Command(("EVALSHA", _sha(script), len(keys), *keys, *args), script)


_SHAS: dict[str, str] = {}


def _sha(script: str) -> str:
    sha = _SHAS.get(script)
    if sha is None:
        sha = _SHAS[script] = hashlib.sha1(script.encode()).hexdigest()
    return sha


async def send(redis: Redis, commands: Sequence[Command]) -> list[Any]:
    """The replies to `commands`, sent with what other callers send meanwhile on this client."""
    batcher = _BATCHERS.get(redis)
    if batcher is None:
        batcher = _BATCHERS[redis] = _Batcher(redis)
    return await batcher.submit(commands)


@dataclass
class _Call:
    commands: Sequence[Command]
    future: asyncio.Future[list[Any]]


@dataclass
class _Batcher:
    redis: Redis
    pending: list[_Call] = field(default_factory=list)
    flushing: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit(self, commands: Sequence[Command]) -> list[Any]:
        loop = asyncio.get_running_loop()
        call = _Call(commands, loop.create_future())
        self.pending.append(call)
        if len(self.pending) == 1:
            loop.call_soon(self._linger, LINGER)
        return await call.future

    def _linger(self, turns: int) -> None:
        if turns > 1:
            asyncio.get_running_loop().call_soon(self._linger, turns - 1)
            return
        calls, self.pending = self.pending, []
        task = asyncio.ensure_future(_round_trip(self.redis, calls))
        self.flushing.add(task)  # held until done (the loop keeps only weak references to tasks)
        task.add_done_callback(self.flushing.discard)


_BATCHERS: weakref.WeakKeyDictionary[Redis, _Batcher] = weakref.WeakKeyDictionary()


async def _round_trip(redis: Redis, calls: list[_Call]) -> None:
    try:
        replies = await _execute(redis, [c for call in calls for c in call.commands])
        replies = await _again_without_noscript(redis, calls, replies)
    except asyncio.CancelledError:  # the loop is shutting down
        for call in calls:
            call.future.cancel()
        raise
    except Exception as exc:  # the round trip failed (Redis down): each caller sees it
        for call in calls:
            if not call.future.done():
                call.future.set_exception(exc)
        return
    at = 0
    for call in calls:
        mine = replies[at : at + len(call.commands)]
        at += len(call.commands)
        if call.future.done():  # its job was cancelled meanwhile
            continue
        error = next((r for r in mine if isinstance(r, ResponseError)), None)
        if error is not None:
            call.future.set_exception(error)
        else:
            call.future.set_result(mine)


async def _execute(redis: Redis, commands: Sequence[Command]) -> list[Any]:
    # What redis.pipeline(transaction=False) gives, but raw commands skip their callbacks.
    async with _Pipeline(redis.connection_pool, redis.response_callbacks, False, None) as pipe:
        for command in commands:
            pipe.execute_command(*command.args, **({_RAW: True} if command.raw else {}))
        return list(await pipe.execute(raise_on_error=False))


_RAW = "gateway_raw_reply"  # an option of a queued command: parse its reply without a callback


class _Pipeline(Pipeline):
    async def parse_response(self, connection: Any, command_name: Any, **options: Any) -> Any:
        if options.pop(_RAW, False):
            return await connection.read_response()  # an error reply raises, as the parent's does
        return await super().parse_response(connection, command_name, **options)


async def _again_without_noscript(redis: Redis, calls: list[_Call], replies: list[Any]) -> list[Any]:
    """The replies, with the scripts Redis did not hold (NOSCRIPT: not run) loaded and run again."""
    commands = [c for call in calls for c in call.commands]
    missing = [n for n, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if not missing:
        return replies
    for script in {commands[n].script for n in missing if commands[n].script is not None}:
        await redis.script_load(script)
    again = await _execute(redis, [commands[n] for n in missing])
    for n, reply in zip(missing, again, strict=True):
        replies[n] = reply
    return replies
