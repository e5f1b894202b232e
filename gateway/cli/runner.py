"""Running the pieces: HTTP server, arq worker, and a local Redis for `gateway up`."""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from aiohttp import web

from gateway.channels.email.service import EmailChannel, start_email_channel
from gateway.config import ConfigError, Settings, sentinel_target
from gateway.http.app import create_app
from gateway.queue import Heartbeat, Worker, connect, stop_worker
from workers.settings import worker_options

log = logging.getLogger("gateway")


async def redis_reachable(url: str) -> bool:
    client = connect(url, "", connect_timeout=1)
    try:
        await client.ping()
        return True
    except Exception:
        return False
    finally:
        await client.aclose()


async def ensure_redis(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Start a local redis-server when none answers at GATEWAY_REDIS_URL (one-machine set-ups)."""
    if await redis_reachable(settings.redis_url):
        return None
    if sentinel_target(settings.redis_url) is not None:  # several machines: never started here
        raise ConfigError(f"Redis at {settings.redis_url} is not reachable")
    url = urlparse(settings.redis_url)
    if not settings.redis_autostart or url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"Redis at {settings.redis_url} is not reachable")
    binary = shutil.which("redis-server")
    if binary is None:
        raise ConfigError(
            f"Redis at {settings.redis_url} is not reachable and redis-server is not installed "
            "(apt-get install redis-server, or point GATEWAY_REDIS_URL at a running Redis)"
        )
    data = Path(settings.data_dir, "redis").resolve()
    data.mkdir(parents=True, exist_ok=True)
    # Append-only file: queued jobs survive a restart of this Redis (the sweep covers the rest).
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(url.port or 6379),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(data / "redis.log"),
        ],
    )
    for _ in range(50):
        if await redis_reachable(settings.redis_url):
            log.info("started a local redis-server (pid %d) on port %d", proc.pid, url.port or 6379)
            return proc
        await asyncio.sleep(0.1)
    proc.terminate()
    raise ConfigError(f"started redis-server but it does not answer; see {data / 'redis.log'}")


def server_limits(settings: Settings) -> dict[str, float | int]:
    """What aiohttp's request handler is given against slow and oversized requests.

    aiohttp has no header-read timeout of its own, but its keep-alive timer starts when a
    connection opens and again after each answer, and closes the connection when it fires while
    no complete request head has arrived (RequestHandler._process_keepalive): set to
    `http_header_timeout` it is exactly that, and it bounds an idle kept-alive connection too. The
    body's own deadline is the `body_deadline` middleware. The line and header limits are
    aiohttp's defaults, spelled out (400 above them)."""
    return {
        "keepalive_timeout": settings.http_header_timeout,
        "max_line_size": 8190,
        "max_field_size": 8190,
        "max_headers": 128,
        "lingering_time": 2.0,  # reading what is left of a refused body before closing
    }


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def freeze_startup_objects() -> None:
    """Exempt what start-up built (tables, registers, models) from the garbage collector: a full
    collection walking all of it paused every request in flight for ~70 ms (SMS benchmark)."""
    gc.collect()
    gc.freeze()


async def run(settings: Settings, *, http: bool, worker: bool, autostart_redis: bool = False) -> None:
    redis_proc = await ensure_redis(settings) if autostart_redis else None
    stop = _stop_event()
    runner: web.AppRunner | None = None
    email: EmailChannel | None = None
    arq_worker: Worker | None = None
    worker_task: asyncio.Task[None] | None = None
    try:
        if http:
            runner = web.AppRunner(create_app(settings), access_log=None, **server_limits(settings))
            await runner.setup()
            try:
                await web.TCPSite(runner, settings.http_host, settings.http_port).start()
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen for HTTP on {settings.http_host}:{settings.http_port} ({exc.strerror}); "
                    "see GATEWAY_HTTP_PORT"
                ) from exc
            log.info(
                "HTTP on %s:%d (public URL %s)", settings.http_host, settings.http_port, settings.public_url
            )
            email = await start_email_channel(runner.app)
            freeze_startup_objects()
        if worker:
            heartbeat = Heartbeat(settings.worker_heartbeat_interval, settings.worker_heartbeat_ttl)
            arq_worker = Worker(**worker_options(settings), heartbeat=heartbeat)
            worker_task = asyncio.create_task(arq_worker.main())
            log.info("worker consuming %s", settings.queue_name)
        waiters = [asyncio.create_task(stop.wait())] + ([worker_task] if worker_task else [])
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if worker_task in done and worker_task is not None and worker_task.exception():
            raise worker_task.exception()  # type: ignore[misc]
    finally:
        log.info("shutting down")
        if worker_task is not None and arq_worker is not None:
            await stop_worker(arq_worker, worker_task, settings.worker_shutdown_grace)
        if email is not None:
            await email.close()
        if runner is not None:
            await runner.cleanup()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
