"""SMS benchmark: signed Twilio webhooks/s through `POST /channels/twilio/sms` of one `gateway serve`
process to stored, enqueued meldingen, and the latency of the TwiML answer under load
(target p99 < 50 ms at 50 concurrent requests).

Every request is what Twilio sends: a form body with a fresh MessageSid from a distinct
number (so each becomes a new melding, not a follow-up), one in ten an MMS with two media
URLs, signed with `X-Twilio-Signature` over the configured public URL, which differs from
the address the load generator connects to, as behind a proxy. Signatures are computed
before the clock starts, so the client's HMACs do not compete with the server for the CPU.
Afterwards the store and the queue are counted: every answered webhook must be a melding
with its job queued.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from typing import Any
from urllib.parse import urlencode

import redis
from twilio.request_validator import RequestValidator

from bench.email import _count
from bench.intake import REDIS_URL, baseline_cmd, cpu_seconds, free_port, server
from bench.load import TEXTS, LoadResult, median_result, run_load

TOKEN = "bench-twilio-token"
PUBLIC_URL = "https://meldpunt.example.be"
ACCOUNT = "AC" + "b" * 32
OUR_NUMBER = "+3256277777"
PATH = "/channels/twilio/sms"
QUEUE = "bench:sms-queue"


def signed_messages(count: int, round_no: int) -> list[tuple[bytes, dict[str, str]]]:
    validator = RequestValidator(TOKEN)
    out = []
    for n in range(count):
        sid = f"SM{round_no:04d}{n:026d}"
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": ACCOUNT,
            "From": f"+3247{round_no % 10}{n:06d}",  # a valid Belgian mobile number each
            "To": OUR_NUMBER,
            "Body": TEXTS[n % len(TEXTS)],
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
            "NumMedia": "0",
        }
        if n % 10 == 0:
            params["NumMedia"] = "2"
            for m in range(2):
                params[f"MediaUrl{m}"] = (
                    f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media/ME{m}"
                )
                params[f"MediaContentType{m}"] = "image/jpeg"
        signature = validator.compute_signature(PUBLIC_URL + PATH, params)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        out.append((urlencode(params).encode(), headers))
    return out


def measure(
    cmd: list[str], port: int, env: dict[str, str], round_no: int, *, concurrency: int, seconds: float
) -> tuple[LoadResult, int, int]:
    """One server under the load: its result, webhooks sent and jobs queued."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    pool = signed_messages(int(seconds * 6000) + 20_000, round_no)  # more than the server can take
    sent = 0

    def request(_n: int, _i: int) -> tuple[bytes, dict[str, str]]:
        nonlocal sent
        sent += 1
        return pool[sent - 1]

    with server(cmd, port, env) as proc:
        result = asyncio.run(
            run_load(
                f"http://127.0.0.1:{port}{PATH}",
                concurrency=concurrency,
                seconds=seconds,
                cpu=lambda: cpu_seconds(proc.pid),
                request=request,
                expect=200,
            )
        )
    return result, sent, int(redis.Redis.from_url(REDIS_URL).zcard(QUEUE))


def main(
    seconds: float = 8.0,
    concurrency: int = 50,
    rounds: int = 3,
    database_url: str | None = None,
    quick: bool = False,
    **_: Any,
) -> dict[str, float]:
    if quick:
        seconds, rounds = min(seconds, 2.0), 1
    results: list[LoadResult] = []
    baselines: list[LoadResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as tmp:
        port = free_port()
        base_cmd = [
            *baseline_cmd(port),
            *("--queue", QUEUE, "--twilio-token", TOKEN, "--public-url", PUBLIC_URL),
        ]
        for n in range(rounds):
            base, _sent, base_queued = measure(
                base_cmd, port, dict(os.environ), n, concurrency=concurrency, seconds=seconds
            )
            baselines.append(base)
            database = database_url or f"sqlite:///{tmp}/gateway-{n}.db"
            env = {
                **os.environ,
                "GATEWAY_HTTP_PORT": str(port),
                "GATEWAY_HTTP_HOST": "127.0.0.1",
                "GATEWAY_SMTP_PORT": str(free_port()),
                "GATEWAY_DATABASE_URL": database,
                "GATEWAY_REDIS_URL": REDIS_URL,
                "GATEWAY_DATA_DIR": f"{tmp}/data",
                "GATEWAY_LOG_LEVEL": "WARNING",
                "GATEWAY_QUEUE_NAME": QUEUE,
                "GATEWAY_PUBLIC_URL": PUBLIC_URL,
                "GATEWAY_TWILIO_AUTH_TOKEN": TOKEN,
                "GATEWAY_TWILIO_ACCOUNT_SID": ACCOUNT,
                "GATEWAY_TWILIO_NUMBER": OUR_NUMBER,
            }
            cmd = [sys.executable, "-m", "gateway", "serve"]
            result, sent, queued = measure(cmd, port, env, n, concurrency=concurrency, seconds=seconds)
            stored = asyncio.run(_count(database))
            results.append(result)
            print(
                f"  round {n + 1}/{rounds}: baseline {base.rate:.0f}/s (p99 {base.pct(0.99):.1f} ms, "
                f"queued {base_queued}); gateway {result.rate:.0f} webhooks/s, p50 {result.pct(0.5):.1f} ms, "
                f"p99 {result.pct(0.99):.1f} ms, {result.cpu_per_request():.0f} us CPU; "
                f"sent {sent}, stored meldingen {stored}, queued jobs {queued}",
                flush=True,
            )
        redis.Redis.from_url(REDIS_URL).flushdb()
    base, best = median_result(baselines), median_result(results)
    print(f"\nSMS webhook, {concurrency} concurrent connections, {seconds:.0f} s x {rounds} rounds (median):")
    print(base.line("baseline (sig+SETNX+arq)"))
    print(best.line("signed webhook -> TwiML"))
    print(f"p99 TwiML answer {best.pct(0.99):.1f} ms (target < 50 ms at {concurrency} concurrent)")
    figures = {**base.figures("sms_baseline"), **best.figures("sms_gateway")}
    figures["sms_ratio"] = best.rate / base.rate
    return figures
