"""arq's MULTI/EXEC transactions, sent inside the round trip the jobs share (gateway.redis_batch).

arq's worker opens a transaction pipeline of its own twice for every job: as it starts one (GET its
definition, INCR and EXPIRE its try counter) and as it finishes one (DEL its keys, ZREM it from the
queue). Each was a connection checkout and a round trip of its own, while the commands the jobs
send meanwhile share one (redis_batch): with 50 jobs side by side, a hundred round trips a batch.
The gateway Worker's client (`batched`) gives arq a transaction pipeline that sends MULTI, the
commands and EXEC inside that shared round trip instead.

Still atomic: Redis runs the MULTI ... EXEC of one connection without another client's command in
between, and the other callers' commands in the shared pipeline come before or after it, never
inside (redis_batch keeps each caller's commands together). The replies are parsed as redis-py
parses a transaction's (its response callbacks applied to EXEC's replies), and the first error
raised as redis-py raises it. A transaction that WATCHes keys (arq's `enqueue_job`) needs a
connection of its own between the WATCH and the EXEC, where the client reads and decides: that
one, like any with a script, runs as redis-py runs it.
"""

from __future__ import annotations

import inspect
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio.client import Pipeline
from redis.client import EMPTY_RESPONSE
from redis.exceptions import ResponseError, WatchError

from gateway.redis_batch import Command, send


class BatchedArqRedis(ArqRedis):
    """arq's client whose transactions without WATCH share the jobs' round trip."""

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        if not transaction:
            return super().pipeline(transaction, shard_hint)
        return BatchedTransaction(self, shard_hint)


def batched(pool: ArqRedis) -> BatchedArqRedis:
    """A client on `pool`'s connections (and with its arq settings) whose transactions go in the
    shared round trip. `pool` itself is left as it is (the caller may have its own uses for it)."""
    if isinstance(pool, BatchedArqRedis):
        return pool
    return BatchedArqRedis(
        connection_pool=pool.connection_pool,
        job_serializer=pool.job_serializer,
        job_deserializer=pool.job_deserializer,
        default_queue_name=pool.default_queue_name,
        expires_extra_ms=pool.expires_extra_ms,
    )


class BatchedTransaction(Pipeline):
    def __init__(self, client: ArqRedis, shard_hint: str | None) -> None:
        super().__init__(client.connection_pool, client.response_callbacks, True, shard_hint)
        self._client = client

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        commands = self.command_stack
        if (
            self.watching  # WATCH: its own connection (see the module's docstring)
            or self.explicit_transaction
            or self.scripts
            or not commands
            or any(EMPTY_RESPONSE in options for _, options in commands)
        ):
            return await super().execute(raise_on_error)
        # raw: each queued command answers QUEUED, which its response callback cannot parse; a
        # command refused as it was queued raises its own error (redis_batch: a caller's first)
        sent = [Command(("MULTI",), raw=True), *(Command(tuple(args), raw=True) for args, _ in commands)]
        try:
            replies = await send(self._client, [*sent, Command(("EXEC",), raw=True)])
        finally:
            await self.reset()
        return await self._replies(commands, replies[-1], raise_on_error)

    async def _replies(
        self, commands: list[Any], response: list[Any] | None, raise_on_error: bool
    ) -> list[Any]:
        """As redis-py's `_execute_transaction` makes them of EXEC's reply."""
        if response is None:  # only a WATCHed key makes EXEC answer nil; none was watched here
            raise WatchError("Watched variable changed.")
        if len(response) != len(commands):
            raise ResponseError("Wrong number of response items from pipeline execution")
        if raise_on_error:
            self.raise_first_error(commands, response)
        data = []
        for reply, (args, options) in zip(response, commands, strict=True):
            if not isinstance(reply, Exception):
                options.pop("keys", None)
                callback = self.response_callbacks.get(args[0])
                if callback is not None:
                    reply = callback(reply, **options)
                    if inspect.isawaitable(reply):
                        reply = await reply
            data.append(reply)
        return data
