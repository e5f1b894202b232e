"""The baselines: the least a server could do for each request, measured beside the gateway.

- `POST /api/v1/meldingen`: a bare aiohttp handler doing JSON parse + Redis SET NX + arq enqueue,
  the least any intake could do that is idempotent and queued, without validation or a durable
  store write.
- `POST /channels/twilio/sms`: the same for a Twilio webhook: form parse, the signature check
  (the twilio library, as the gateway), SET NX on the MessageSid, enqueue, a fixed TwiML answer.
- `GET /page/{n}`: a fixed body of `--page-bytes`: aiohttp's own cost of answering a GET of the
  size of a desk or tracking page, without a store read or a template.
- `--smtp PORT`: a bare aiosmtpd handler that only sets the Message-ID in Redis (SET NX) and
  enqueues: the SMTP listener's floor, without parsing MIME or storing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import uuid
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from twilio.request_validator import RequestValidator

REDIS = web.AppKey("redis", ArqRedis)
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Bedankt, 1777-2026-000001</Message></Response>'
)
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


async def _idempotent_enqueue(redis: ArqRedis, queue: str, key: str, text: Any) -> str | None:
    """SET NX the key, enqueue `process` when it is new; the id stored under the key."""
    melding_id = uuid.uuid4().hex
    if not await redis.set(f"bench:idem:{key}", melding_id, nx=True, ex=86400):
        found = await redis.get(f"bench:idem:{key}")
        return found.decode() if found else None
    await redis.enqueue_job("process", melding_id, text, _job_id=f"process:{melding_id}", _queue_name=queue)
    return melding_id


def create_baseline(
    redis_url: str, queue: str, *, twilio_token: str = "", public_url: str = "", page_bytes: int = 2000
) -> web.Application:
    validator = RequestValidator(twilio_token)
    page = b"x" * page_bytes

    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        melding_id = await _idempotent_enqueue(request.app[REDIS], queue, key, body.get("text"))
        return web.json_response({"id": melding_id}, status=202)

    async def sms(request: web.Request) -> web.Response:
        form = dict(await request.post())
        url = public_url + request.path_qs
        if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            return web.Response(status=403)
        await _idempotent_enqueue(request.app[REDIS], queue, str(form["MessageSid"]), form.get("Body"))
        return web.Response(text=TWIML, content_type="text/xml")

    async def static_page(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    async def resources(app: web.Application):  # type: ignore[no-untyped-def]
        app[REDIS] = ArqRedis(ConnectionPool.from_url(redis_url))
        yield
        await app[REDIS].aclose()

    app = web.Application()
    app.cleanup_ctx.append(resources)
    app.router.add_post("/api/v1/meldingen", handle)
    app.router.add_post("/channels/twilio/sms", sms)
    app.router.add_get("/page/{n}", static_page)
    return app


class RedisOnlyHandler:
    """aiosmtpd handler: SET NX the Message-ID and enqueue; no MIME parsing, no store."""

    def __init__(self, redis: ArqRedis, queue: str):
        self.redis = redis
        self.queue = queue

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        raw = raw.encode() if isinstance(raw, str) else raw
        found = _MESSAGE_ID.search(raw)
        key = found.group(1).decode(errors="replace") if found else uuid.uuid4().hex
        await _idempotent_enqueue(self.redis, self.queue, key, None)
        return "250 OK"


async def serve_smtp(port: int, redis_url: str, queue: str) -> None:
    redis = ArqRedis(ConnectionPool.from_url(redis_url))
    handler = RedisOnlyHandler(redis, queue)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="bench"), host="127.0.0.1", port=port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True, help="HTTP port")
    parser.add_argument("--redis", required=True)
    parser.add_argument("--queue", default="bench:queue")
    parser.add_argument("--smtp", type=int, default=None, help="serve the SMTP baseline on this port instead")
    parser.add_argument("--twilio-token", default="")
    parser.add_argument("--public-url", default="")
    parser.add_argument("--page-bytes", type=int, default=2000)
    args = parser.parse_args()
    if args.smtp is not None:
        asyncio.run(serve_smtp(args.smtp, args.redis, args.queue))
    else:
        app = create_baseline(
            args.redis,
            args.queue,
            twilio_token=args.twilio_token,
            public_url=args.public_url,
            page_bytes=args.page_bytes,
        )
        web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)
