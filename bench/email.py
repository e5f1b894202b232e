"""E-mail benchmark: messages/s through the SMTP listener of one `gateway serve` process
to stored and enqueued meldingen (target >= 300/s on this machine).

Several client threads each keep one SMTP session open and send message after
message (as a relaying mail server would); every message is distinct, with a
signature, an HTML alternative part and sometimes a small photo, so the parser
does its real work. The count is checked against the store afterwards.
"""

from __future__ import annotations

import asyncio
import io
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import redis
from PIL import Image

from bench.intake import REDIS_URL, cpu_seconds, free_port, server, wait_http
from gateway.store import Store

QUEUE = "bench:email-queue"


def png(n: int) -> bytes:
    """A real, distinct photo per message: the gateway decodes every image it accepts."""
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (n % 256, (n >> 8) % 256, 90)).save(out, format="PNG")
    return out.getvalue()


TEXTS = [
    "Beste,\n\nEr ligt een losliggende tegel op het voetpad voor nummer {n}.\n\n"
    "Met vriendelijke groeten,\nAn\n0470 12 34 56",
    "Dag, de straatlamp aan de bushalte in de Gentsesteenweg {n} brandt al een week niet meer.\n\nMvg, Jan",
    "Hallo,\nnaast de glasbol ligt weer sluikstort (zakken, een matras). Huisnummer {n}.\nGroetjes, Els",
]


def message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Melder {n} <melder{n % 97}@example.be>"
    msg["To"] = "1777@kortrijk.be"
    msg["Subject"] = f"Melding {n}"
    msg["Message-ID"] = make_msgid(idstring=str(n), domain="bench.example.be")
    text = TEXTS[n % len(TEXTS)].format(n=n)
    msg.set_content(text)
    msg.add_alternative(f"<html><body><p>{text.replace(chr(10), '<br>')}</p></body></html>", subtype="html")
    if n % 5 == 0:
        msg.add_attachment(png(n), maintype="image", subtype="png", filename=f"foto{n}.png")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # on the wire, as MTAs send it


def client(port: int, messages: list[bytes], latencies: list[float], errors: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo("bench.example.be")
        for raw in messages:
            start = time.perf_counter()
            try:
                smtp.sendmail("melder@example.be", ["1777@kortrijk.be"], raw)
            except smtplib.SMTPException as exc:
                errors.append(str(exc))
                continue
            latencies.append(time.perf_counter() - start)


@dataclass(frozen=True)
class SmtpResult:
    sent: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu: float

    def figures(self, prefix: str) -> dict[str, float]:
        ordered = sorted(self.latencies)
        p99 = ordered[int(len(ordered) * 0.99)] * 1000 if ordered else float("nan")
        return {
            f"{prefix}_msg_s": self.sent / self.seconds,
            f"{prefix}_p50_ms": statistics.median(ordered) * 1000 if ordered else float("nan"),
            f"{prefix}_p99_ms": p99,
            f"{prefix}_cpu_us": self.server_cpu / max(1, self.sent) * 1e6,
            f"{prefix}_errors": float(self.errors),
        }


def send_all(proc: subprocess.Popen[bytes], smtp_port: int, batches: list[list[bytes]]) -> SmtpResult:
    """Every batch over its own SMTP session, all at once; the server's CPU time meanwhile."""
    latencies: list[float] = []
    errors: list[str] = []
    cpu_start = cpu_seconds(proc.pid)
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(smtp_port, b, latencies, errors)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return SmtpResult(len(latencies), len(errors), elapsed, latencies, cpu_seconds(proc.pid) - cpu_start)


def main(count: int = 3000, clients: int = 8, quick: bool = False, **_: Any) -> dict[str, float]:
    if quick:
        count = 400
    batches = [[message(n) for n in range(c, count, clients)] for c in range(clients)]
    with tempfile.TemporaryDirectory(prefix="bench-email-") as tmp:
        http_port, smtp_port = free_port(), free_port()
        database = f"sqlite:///{tmp}/gateway.db"
        env = {
            **os.environ,
            "GATEWAY_HTTP_PORT": str(http_port),
            "GATEWAY_HTTP_HOST": "127.0.0.1",
            "GATEWAY_SMTP_PORT": str(smtp_port),
            "GATEWAY_SMTP_HOST": "127.0.0.1",
            "GATEWAY_DATABASE_URL": database,
            "GATEWAY_REDIS_URL": REDIS_URL,
            "GATEWAY_DATA_DIR": f"{tmp}/data",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_QUEUE_NAME": QUEUE,
        }
        flush = redis.Redis.from_url(REDIS_URL).flushdb
        flush()
        base_cmd = [sys.executable, "-m", "bench.baseline", "--port", "0", "--redis", REDIS_URL]
        with server(
            [*base_cmd, "--queue", QUEUE, "--smtp", str(smtp_port)], smtp_port, dict(os.environ)
        ) as proc:
            baseline = send_all(proc, smtp_port, batches)
        base_queued = redis.Redis.from_url(REDIS_URL).zcard(QUEUE)
        flush()
        with server([sys.executable, "-m", "gateway", "serve"], http_port, env) as proc:
            wait_http(smtp_port, proc)  # the listener opens right after HTTP
            gateway = send_all(proc, smtp_port, batches)
        queued = redis.Redis.from_url(REDIS_URL).zcard(QUEUE)
        stored = asyncio.run(_count(database))
        flush()
    figures = {**baseline.figures("email_baseline"), **gateway.figures("email_gateway")}
    figures["email_ratio"] = figures["email_gateway_msg_s"] / figures["email_baseline_msg_s"]
    print(f"\nSMTP listener, {count} messages over {clients} sessions, one process each:")
    for name, prefix in (
        ("baseline (aiosmtpd + SETNX + arq)", "email_baseline"),
        ("gateway serve", "email_gateway"),
    ):
        rate, p50, p99, cpu = (figures[f"{prefix}_{k}"] for k in ("msg_s", "p50_ms", "p99_ms", "cpu_us"))
        print(
            f"{name:<34} {rate:8.0f} messages/s   p50 {p50:.1f} ms   p99 {p99:.1f} ms   "
            f"{cpu:.0f} us server CPU/message"
        )
    print(
        f"gateway: stored meldingen {stored}, queued jobs {queued}, errors {gateway.errors}; "
        f"baseline queued {base_queued} (target >= 300 messages/s)"
    )
    return figures


async def _count(database: str) -> int:
    from sqlalchemy import func, select

    from gateway.store.schema import meldingen

    store = Store(database)
    await store.open()
    try:
        return await store.read(
            lambda conn: conn.execute(select(func.count()).select_from(meldingen)).scalar_one()
        )
    finally:
        await store.close()
