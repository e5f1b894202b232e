"""Health, metrics, logs and configuration: what the city's IT team relies on."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import ConfigError, Settings, load_settings
from gateway.http.app import create_app
from gateway.logs import JsonFormatter, mask
from tests.support.api import api_get
from tests.support.data import ROOT, TILE
from tests.support.http import Receiver, free_port
from tests.support.worker import run_worker


async def test_healthz_checks_store_and_redis(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    # no worker runs beside this test client
    assert await resp.json() == {"status": "ok", "store": "ok", "redis": "ok", "workers": 0}


async def test_healthz_503_and_intake_still_stores_when_redis_is_down(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with TestClient(TestServer(create_app(down))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 503
        body = await resp.json()
        assert body["status"] == "unavailable" and body["store"] == "ok" and body["redis"].startswith("error")
        # the melding is stored all the same; the sweep will enqueue it once Redis is back
        posted = await client.post("/api/v1/meldingen", json=TILE)
        assert posted.status == 202
        got = await api_get(client, f"/api/v1/meldingen/{(await posted.json())['id']}")
        assert (await got.json())["stage"] == "received"


async def test_metrics_report_intake_queue_and_deliveries(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [503]
    await client.post("/api/v1/meldingen", json=TILE)
    await client.post("/api/v1/meldingen", data="x", headers={"Content-Type": "text/plain"})
    text = await (await client.get("/metrics")).text()
    assert 'gateway_intake_total{channel="web",result="created"} 1.0' in text
    assert 'gateway_intake_rejected_total{channel="web",code="unsupported_media_type"} 1.0' in text
    assert "gateway_queue_depth 1.0" in text
    assert 'gateway_meldingen{stage="received"} 1.0' in text
    assert 'gateway_delivery_states{state="dead"} 0.0' in text
    await run_worker(settings)
    text = await (await client.get("/metrics")).text()
    assert "gateway_queue_depth 0.0" in text
    assert 'gateway_deliveries_total{outcome="ok"} 1.0' in text
    assert 'gateway_deliveries_total{outcome="failed"} 1.0' in text
    assert "gateway_delivery_latency_seconds_count 1.0" in text
    assert 'gateway_delivery_states{state="delivered"} 1.0' in text


def test_logs_are_json_with_contact_details_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.info(
        "mail from an.peeters@example.be, call +32 470 12 34 56",
        extra={
            "reference": "1777-2026-000001",
            "reporter_email": "an.peeters@example.be",
            "reporter_phone": "0470/12.34.56",
        },
    )
    logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["reference"] == "1777-2026-000001"
    assert entry["reporter_email"] == "a***@example.be"
    assert entry["reporter_phone"].endswith("56") and "470" not in entry["reporter_phone"]
    assert "peeters" not in entry["msg"] and "12 34" not in entry["msg"]
    assert mask("1777-2026-000001") == "1777-2026-000001"  # references are not phone numbers
    path = "/desk/meldingen/1e9002e8-0512-4600-8cae-0470123456ab/status"
    assert mask(path) == path  # a melding's id stays searchable
    assert mask(f"{path} by 0470 12 34 56") == f"{path} by ********56"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    settings = load_settings(
        ROOT / "config" / "gateway.toml",
        {"GATEWAY_HTTP_PORT": "9090", "GATEWAY_EMAIL_ALIASES": "a@kortrijk.be, b@kortrijk.be"},
    )
    assert settings.http_port == 9090
    assert settings.email_aliases == ["a@kortrijk.be", "b@kortrijk.be"]
    assert settings.email_address == "1777@kortrijk.be"
    # without GATEWAY_PUBLIC_URL the links point at the port served; a configured one wins
    assert settings.public_url == "http://localhost:9090"
    behind_proxy = {"GATEWAY_HTTP_PORT": "9090", "GATEWAY_PUBLIC_URL": "https://meldpunt.kortrijk.be/"}
    assert load_settings(ROOT / "config" / "gateway.toml", behind_proxy).public_url == (
        "https://meldpunt.kortrijk.be"
    )


def test_configuration_mistakes_are_named(tmp_path: Path) -> None:
    typo = tmp_path / "gateway.toml"
    typo.write_text("http_prot = 8080\n")
    with pytest.raises(ConfigError, match="http_prot"):
        load_settings(typo, {})
    with pytest.raises(ConfigError, match="GATEWAY_HTTP_PORT"):
        load_settings(ROOT / "config" / "gateway.toml", {"GATEWAY_HTTP_PORT": "eighty"})
    with pytest.raises(ConfigError, match="GATEWAY_CASE_SYSTEM"):
        load_settings(ROOT / "config" / "gateway.toml", {"GATEWAY_CASE_SYSTEM": "jira"})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", {})


def test_every_setting_is_documented_in_the_toml() -> None:
    text = (ROOT / "config" / "gateway.toml").read_text()
    # each shown with its default, commented out: the default itself is written once, in Settings
    missing = [name for name in Settings.model_fields if f"\n# {name} =" not in text]
    assert missing == []


async def test_metrics_report_the_age_of_the_oldest_undelivered_melding(
    client: TestClient[Any, Any], settings: Settings, clock: time_machine.Traveller
) -> None:
    def age(text: str) -> float:
        [line] = [x for x in text.splitlines() if x.startswith("gateway_oldest_undelivered_seconds ")]
        return float(line.split()[1])

    assert age(await (await client.get("/metrics")).text()) == 0.0  # nothing waiting
    await client.post("/api/v1/meldingen", json=TILE)
    clock.shift(90)
    await client.post("/api/v1/meldingen", json={**TILE, "text": "Nog een losse tegel op het voetpad."})
    clock.shift(30)
    assert age(await (await client.get("/metrics")).text()) == 120.0  # the older of the two
    await run_worker(settings)  # both delivered
    assert age(await (await client.get("/metrics")).text()) == 0.0
