"""The intake baseline: a bare aiohttp handler doing JSON parse + Redis SET NX + arq enqueue.

What the real intake path is compared with: the least any intake could do that
is idempotent and queued, without validation or a durable store write.
"""

from __future__ import annotations

import argparse
import json
import uuid

from aiohttp import web
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool


def create_baseline(redis_url: str, queue: str) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        redis: ArqRedis = request.app["redis"]
        melding_id = uuid.uuid4().hex
        if not await redis.set(f"bench:idem:{key}", melding_id, nx=True, ex=86400):
            return web.json_response({"id": await redis.get(f"bench:idem:{key}")}, status=202)
        await redis.enqueue_job(
            "process", melding_id, body.get("text"), _job_id=f"process:{melding_id}", _queue_name=queue
        )
        return web.json_response({"id": melding_id}, status=202)

    async def resources(app: web.Application):  # type: ignore[no-untyped-def]
        app["redis"] = ArqRedis(ConnectionPool.from_url(redis_url))
        yield
        await app["redis"].aclose()

    app = web.Application()
    app.cleanup_ctx.append(resources)
    app.router.add_post("/api/v1/meldingen", handle)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--queue", default="bench:queue")
    args = parser.parse_args()
    web.run_app(
        create_baseline(args.redis, args.queue), host="127.0.0.1", port=args.port, print=None, access_log=None
    )
