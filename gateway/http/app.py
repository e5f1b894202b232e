"""The aiohttp application factory. Resources open and close in `cleanup_ctx`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway import queue
from gateway.appkeys import INTAKE, METRICS, REDIS, SETTINGS, STORE
from gateway.attachments import AttachmentStore
from gateway.config import Settings
from gateway.http.addresses import ADDRESSES, AddressIndex
from gateway.http.desk_pages import create_desk_app
from gateway.http.form import MAP_VIEW, MapView
from gateway.http.middlewares import body_deadline, json_errors
from gateway.http.routes import setup_routes
from gateway.intake import Intake
from gateway.metrics import Metrics
from gateway.store import Store
from gateway.texts import page_globals

log = logging.getLogger(__name__)


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = Store(
        settings.database_url, timezone=settings.timezone, reference_prefix=settings.reference_prefix
    )
    await store.open()
    redis = queue.connect(
        settings.redis_url,
        settings.queue_name,
        socket_timeout=settings.redis_socket_timeout,
        connect_timeout=settings.redis_connect_timeout,
    )  # /healthz says 503 while it is down
    app[STORE] = store
    app[REDIS] = redis
    app[METRICS] = Metrics()
    # Built once: every suggestion request then costs one fuzzy pass over the register's names.
    app[ADDRESSES] = await asyncio.to_thread(AddressIndex.from_settings, settings)
    app[MAP_VIEW] = MapView(app[ADDRESSES].center)
    app[INTAKE] = Intake(settings, store, redis, AttachmentStore(settings.attachments_dir), app[METRICS])
    await app[INTAKE].start()
    try:
        yield
    finally:
        await app[INTAKE].stop()
        await store.close()
        await redis.aclose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[json_errors, body_deadline])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_resources)
    # Every page from gateway/http/templates/; autoescape on, and a missing variable is an error.
    pages = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("gateway.http", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    pages.globals.update(page_globals())  # t() and status_label(): the catalogue in the page's language
    setup_routes(app)
    # The desk's pages: a sub-app of their own, so its session cookie and guard apply there only.
    app.add_subapp("/desk", create_desk_app(settings))
    return app
