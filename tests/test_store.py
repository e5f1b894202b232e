"""Store and queue internals that the rest relies on."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from gateway.config import Settings
from gateway.queue import enqueue_many
from gateway.store import Store
from gateway.store.migrate import head_revisions
from gateway.store.schema import is_search_index, metadata


async def test_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    store = Store(database_url)
    await store.open()
    try:
        assert await store.schema_revisions() == head_revisions()

        def diff(conn: Any) -> list[Any]:
            # The search index is dialect-specific DDL that SQLAlchemy cannot declare (schema.py):
            # its objects alone are left out; tests/test_desk_search.py checks that it works.
            opts = {"include_name": lambda name, _type, _parent: not is_search_index(name)}
            return compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)

        assert await store.read(diff) == []
        await store.open()  # a second start migrates nothing and fails nothing
    finally:
        await store.close()


async def test_batched_enqueue_refuses_duplicate_job_ids_like_arq(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    pool = ArqRedis(ConnectionPool.from_url(settings.redis_url))
    try:
        assert (
            await enqueue_many(
                pool, "q", [("process:a", "process", ("a",)), ("process:b", "process", ("b",))]
            )
            == 2
        )
        assert await enqueue_many(pool, "q", [("process:a", "process", ("a",))]) == 0
        assert await pool.enqueue_job("process", "a", _job_id="process:a", _queue_name="q") is None
        assert sorted(await pool.zrange("q", 0, -1)) == [b"process:a", b"process:b"]
        [job] = [j for j in await pool.queued_jobs(queue_name="q") if j.job_id == "process:a"]
        assert job.function == "process" and job.args == ("a",)
    finally:
        await pool.aclose()
