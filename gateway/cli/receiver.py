"""A webhook receiver for trying the gateway out: `gateway receiver`.

It checks the signature as a real case system should, prints each delivery as
one line, and answers with a case id. Not for production.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys

from aiohttp import web

from gateway.config import ConfigError
from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify


def create_receiver(secret: str, path: str = "/case-system") -> web.Application:
    counter = itertools.count(1)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify(secret, body, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
        except SignatureError as exc:
            print(json.dumps({"refused": str(exc)}), flush=True)
            return web.json_response({"error": str(exc)}, status=401)
        payload = json.loads(body)
        melding = payload.get("melding", {})
        case_id = f"CASE-{next(counter)}"
        print(
            json.dumps(
                {
                    "event": payload.get("event"),
                    "reference": melding.get("reference"),
                    "dienst": melding.get("dienst"),
                    "confidence": melding.get("confidence"),
                    "routed_by": melding.get("routed_by"),
                    "idempotency_key": request.headers.get("Idempotency-Key"),
                    "case_id": case_id,
                },
                ensure_ascii=False,
            ),
            file=sys.stdout,
            flush=True,
        )
        return web.json_response({"case_id": case_id})

    app = web.Application()
    app.router.add_post(path, receive)
    return app


async def serve(secret: str, path: str, port: int) -> None:
    """Listen on 127.0.0.1:`port` until interrupted; a port that cannot be had is a ConfigError
    naming it and why, as `gateway serve` says it for GATEWAY_HTTP_PORT."""
    runner = web.AppRunner(create_receiver(secret, path))
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, "127.0.0.1", port).start()
        except OSError as exc:
            why = f"cannot listen on 127.0.0.1:{port} ({exc.strerror})"
            raise ConfigError(f"{why}; choose another --port") from exc
        print(f"receiving webhooks on http://127.0.0.1:{port}{path}", file=sys.stderr, flush=True)
        await asyncio.Event().wait()  # until Ctrl-C
    finally:
        await runner.cleanup()
