"""The store out of reach (PostgreSQL refusing connections, SQLite's directory gone): every request
that needs it answers 503 with Retry-After, never a 500 with a trace, and nothing is half stored."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from gateway.appkeys import STORE
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import Store, StoreUnavailable
from gateway.store.meldingen import list_meldingen
from tests.support.api import api_get
from tests.support.data import PNG, TILE
from tests.support.faults import TcpProxy
from tests.support.http import free_port


class Outage:
    """Takes the settings' store out of reach and back, for real: PostgreSQL through a TCP proxy
    that is cut, SQLite by moving its directory away (connections opened from then on fail)."""

    def __init__(self, settings: Settings, tmp_path: Path):
        self.settings = settings
        self.tmp_path = tmp_path
        self.proxy: TcpProxy | None = None
        self.db_dir = tmp_path / "db"

    async def prepared(self) -> Settings:
        url = self.settings.database_url
        if url.startswith("sqlite"):
            return self.settings.model_copy(
                update={"database_url": f"sqlite:///{self.db_dir / 'gateway.db'}"}
            )
        parts = urlsplit(url)
        self.proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        port = await self.proxy.start()
        netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
        return self.settings.model_copy(update={"database_url": urlunsplit(parts._replace(netloc=netloc))})

    async def start(self, store: Store) -> None:
        if self.proxy is not None:
            await self.proxy.cut()
            return
        os.rename(self.db_dir, self.tmp_path / "db-away")
        # SQLite keeps the files it has open usable after their directory moved: only connections
        # opened from now on fail, as after a restart; the test's store drops its open ones.
        store._sqlite.dispose()  # type: ignore[union-attr]
        if store._lookup_conn is not None:
            store._lookup_conn.close()
            store._lookup_conn = None

    async def end(self, store: Store) -> None:
        if self.proxy is not None:
            await self.proxy.restore()
            return
        os.rename(self.tmp_path / "db-away", self.db_dir)
        store._sqlite.dispose()  # type: ignore[union-attr]


def _assert_503(resp: Any, body: dict[str, Any]) -> None:
    assert resp.status == 503, body
    assert resp.headers["Retry-After"] == "30"
    assert body["error"]["code"] == "store_unavailable"


async def test_store_outage_answers_503_and_stores_nothing_half(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(settings, tmp_path)
    settings = await outage.prepared()
    async with TestClient(TestServer(create_app(settings))) as client:
        store = client.app[STORE]
        first = await client.post("/api/v1/meldingen", json=TILE, headers={"Idempotency-Key": "before"})
        assert first.status == 202
        reference = (await first.json())["reference"]

        await outage.start(store)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            resp = await client.post("/api/v1/meldingen", json=TILE, headers={"Idempotency-Key": "during"})
            _assert_503(resp, await resp.json())
            form = FormData()
            form.add_field("text", "Sluikstort aan de glasbol in de Budastraat")
            form.add_field("photo", PNG, filename="foto.png", content_type="image/png")
            resp = await client.post("/api/v1/meldingen", data=form)
            _assert_503(resp, await resp.json())
            resp = await api_get(client, f"/api/v1/meldingen/{reference}")
            _assert_503(resp, await resp.json())
            health = await client.get("/healthz")
            assert health.status == 503
            assert (await health.json())["store"].startswith("error")
        # One warning per request, no trace, no "unhandled error"
        assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
        outages = [r for r in caplog.records if r.getMessage().startswith("store unavailable")]
        assert len(outages) == 3

        await outage.end(store)
        again = await client.post("/api/v1/meldingen", json=TILE, headers={"Idempotency-Key": "during"})
        assert again.status == 202
        second = (await again.json())["reference"]
        assert second != reference
        assert (await client.get("/healthz")).status == 200
        # Only the two meldingen answered 202 exist: the refused ones left nothing behind
        stored = await store.read(list_meldingen)
        assert sorted(m.reference for m in stored) == sorted([reference, second])


async def test_store_operations_raise_the_typed_error_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    store = Store(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")  # nothing listens there
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
    finally:
        await store.close()
    store = Store(f"sqlite:///{tmp_path / 'gone' / 'gateway.db'}")
    (tmp_path / "gone").rmdir()
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
    finally:
        await store.close()
