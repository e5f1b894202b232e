"""The OpenAPI description (gateway/http/openapi.py): in step with the router, valid, readable in
Swagger UI, and true of the running gateway under schemathesis' fuzzing."""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from playwright.async_api import Page
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.http.app import create_app
from gateway.http.openapi_paths import NOT_API, OPERATIONS
from tests.support import fuzz

REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    """The app on a SQLite store: the description does not depend on the backend."""
    async with TestClient(TestServer(create_app(fuzz.fuzz_settings(tmp_path, REDIS_URL)))) as c:
        yield c


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route, sub-applications included (aiohttp gives their resources
    the mount's prefix); HEAD goes with its GET."""
    found: set[tuple[str, str]] = set()
    for resource in app.router.resources():
        info = resource.get_info()
        if isinstance(resource, web.PrefixedSubAppResource):
            found |= routes_of(info["app"])
            continue
        for route in resource:
            if route.method != "HEAD":
                found.add((route.method, resource.canonical))
    return found


def described() -> set[tuple[str, str]]:
    return {(op.method.upper(), op.path) for op in OPERATIONS}


def test_every_route_is_described_or_named_as_no_api(tmp_path: Path) -> None:
    routes = routes_of(create_app(fuzz.fuzz_settings(tmp_path, REDIS_URL)))
    assert routes - described() - set(NOT_API) == set(), "routes missing from gateway/http/openapi_paths.py"
    assert described() - routes == set(), "described operations the router does not have"
    assert set(NOT_API) <= routes, "NOT_API names routes that no longer exist"
    assert all(NOT_API.values()), "every route left out says why"


def test_the_route_walk_sees_sub_applications() -> None:
    # The walk of the test above must not miss a route mounted in a sub-app, or the check is blind.
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    inner = web.Application()
    inner.router.add_post("/x/{id}", handler)
    outer = web.Application()
    outer.add_subapp("/sub", inner)
    assert routes_of(outer) == {("POST", "/sub/x/{id}")}


async def test_the_served_description_is_valid_openapi_3_1(client: TestClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    doc = await response.json()
    validate(doc)  # raises on any error of the document
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "https://meldpunt.example"}]
    # Request bodies are the models that validate them: the intake's MeldingIn forbids extra fields.
    intake = doc["paths"]["/api/v1/meldingen"]["post"]["requestBody"]["content"]
    assert intake["application/json"]["schema"] == {"$ref": "#/components/schemas/MeldingIn"}
    assert doc["components"]["schemas"]["MeldingIn"]["additionalProperties"] is False
    assert doc["components"]["schemas"]["DienstChoice"]["properties"]["dienst"]["enum"][0] == "info"
    assert "multipart/form-data" in intake


async def test_the_docs_page_renders_the_operations_without_network(client: TestClient, page: Page) -> None:
    outside: list[str] = []
    origin = str(client.make_url("/")).rstrip("/")

    async def only_the_gateway(route: Any) -> None:
        if route.request.url.startswith(origin):
            await route.continue_()
        else:  # a CDN or validator.swagger.io: the page must not need it
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_the_gateway)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    response = await page.goto(str(client.make_url("/api/v1/docs")))
    assert response is not None and response.status == 200
    await page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = set(await page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/v1/meldingen", "/channels/twilio/sms", "/open311/v2/requests.{fmt}"} <= {
        p.replace("\u200b", "").strip() for p in paths
    }
    assert await page.locator(".opblock").count() == len(OPERATIONS)
    assert outside == [] and errors == []


# -- the fuzz -------------------------------------------------------------------------------------

CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 12  # per operation and mode: bounded, the whole run stays within about a minute


@pytest.fixture
def served(tmp_path: Path) -> Any:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    settings = fuzz.fuzz_settings(tmp_path, REDIS_URL)
    try:
        with fuzz.served(settings) as base:
            yield settings, base
    finally:
        client.flushdb()
        client.close()


def _send(
    session: requests.Session, case: Any, base: str, sign: bool
) -> tuple[fuzz.Answered, requests.Response]:
    kwargs = case.as_transport_kwargs(base_url=base)
    method, url = kwargs.pop("method"), kwargs.pop("url")
    kwargs.pop("cookies", None)
    prepared = session.prepare_request(requests.Request(method, url, **kwargs))
    if sign:
        prepared = fuzz.signed(prepared, case.operation.path)
    response = session.send(prepared, timeout=30, allow_redirects=False)
    return fuzz.Answered(
        method,
        requests.utils.urlparse(response.url).path,
        response.status_code,
        response.headers.get("Content-Type", "").split(";")[0],
        response.content,
    ), response


def test_fuzzing_the_served_description_finds_no_server_error(served: Any) -> None:
    settings, base = served
    started = time.monotonic()
    known = fuzz.Known.make(base)
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    failures: list[str] = []
    sent = itertools.count()
    statuses: Counter[str] = Counter()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @hypothesis_settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                # Every other request to a signed endpoint is signed: both the signed handler and
                # the refusal of an unsigned or forged request are fuzzed; every third is about a
                # melding that exists.
                answer, raw = _send(session, case, base, sign=fuzz.aim(case, known, next(sent)))
                try:
                    case.validate_response(raw, checks=CONFORMANCE)
                except (AssertionError, BaseExceptionGroup) as exc:  # each check that failed
                    failures.append(f"not as described: {answer}: {str(exc)[:800]}")
                statuses[f"{case.operation.method.upper()} {case.operation.path} {answer.status}"] += 1
                if (why := fuzz.problem(answer)) is not None:
                    failures.append(f"{why}: {answer}")

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (GET /healthz has no parameter)
                assert mode == schemathesis.GenerationMode.NEGATIVE
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    assert failures == [], "\n".join(failures[:20])
    assert fuzz.half_stored(db, settings.attachments_dir) == []
    assert fuzz.count(db, "meldingen") > 0, "no request got through: the fuzz proved nothing"
    assert next(sent) > len(OPERATIONS) * EXAMPLES
    print(f"fuzz: {next(sent)} requests in {time.monotonic() - started:.1f} s", *sorted(statuses.items()))
