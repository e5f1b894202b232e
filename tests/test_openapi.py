"""The OpenAPI description (gateway/http/openapi.py): in step with the router, valid, readable in
Swagger UI, and true of the running gateway under schemathesis' fuzzing."""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
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
from gateway.http.openapi_exempt import NOT_API
from gateway.http.openapi_paths import OPERATIONS
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
    assert intake["multipart/form-data"]["encoding"]["photo"]["contentType"].startswith("image/jpeg, ")
    # What this installation accepts: GATEWAY_OPEN311_JURISDICTION_ID and the diensten as services.
    services = doc["paths"]["/open311/v2/services/{code}.{fmt}"]["get"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in services}
    assert by_name["jurisdiction_id"]["enum"] == ["kortrijk.be"]
    assert "wegen" in by_name["code"]["enum"] and "info" not in by_name["code"]["enum"]


async def test_swagger_ui_is_served_by_the_gateway_with_its_licence(client: TestClient) -> None:
    for path, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css")):
        resp = await client.get(f"/static/vendor/swagger-ui/{path}")
        assert resp.status == 200 and kind in resp.content_type
    vendored = Path(__file__).parents[1] / "gateway/http/static/vendor/swagger-ui"
    assert "Apache License" in (vendored / "LICENSE").read_text()
    assert "5.35.0" in (vendored / "SOURCE.md").read_text()
    page = await client.get("/api/v1/docs")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in await page.text()  # no inline script: the policy would refuse it


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


@dataclass
class Fuzz:
    """One fuzz run's requests and what came of them."""

    base: str
    known: fuzz.Known
    session: requests.Session = field(default_factory=requests.Session)
    sent: Iterator[int] = field(default_factory=itertools.count)
    failures: list[str] = field(default_factory=list)
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    def send(self, case: Any) -> None:
        # Every other request to a signed endpoint is signed: both the signed handler and the refusal
        # of an unsigned or forged request are fuzzed; every third is about a melding that exists.
        sign = fuzz.aim(case, self.known, next(self.sent))
        kwargs = case.as_transport_kwargs(base_url=self.base)
        method, url = kwargs.pop("method"), kwargs.pop("url")
        kwargs.pop("cookies", None)
        prepared = self.session.prepare_request(requests.Request(method, url, **kwargs))
        if sign:
            prepared = fuzz.signed(prepared, case.operation.path)
        response = self.session.send(prepared, timeout=30, allow_redirects=False)
        answer = fuzz.Answered(
            method,
            requests.utils.urlparse(response.url).path,
            response.status_code,
            response.headers.get("Content-Type", "").split(";")[0],
            response.content,
        )
        self.statuses[(method, case.operation.path, answer.status)] += 1
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except (AssertionError, BaseExceptionGroup) as exc:  # each check that failed
            self.failures.append(f"not as described: {answer}: {str(exc)[:800]}")
        if (why := fuzz.problem(answer)) is not None:
            self.failures.append(f"{why}: {answer}")

    def operation(self, operation: Any, mode: schemathesis.GenerationMode) -> None:
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
            self.send(case)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (GET /healthz has no parameter)
            assert mode == schemathesis.GenerationMode.NEGATIVE

    def answered(self, path: str, *, refused: bool) -> int:
        """How many answers on `path` refused the signature (401, 403), or got past it."""
        return sum(
            n
            for (_, p, status), n in self.statuses.items()
            if p == path and (status in (401, 403)) == refused
        )


def test_fuzzing_the_served_description_finds_no_server_error(served: Any) -> None:
    settings, base = served
    started = time.monotonic()
    run = Fuzz(base, fuzz.Known.make(base))
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    for result in schema.get_all_operations():
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            run.operation(result.ok(), mode)
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    assert run.failures == [], "\n".join(run.failures[:20])
    assert fuzz.half_stored(db, settings.attachments_dir) == []
    print(
        "ATTACH",
        fuzz.count(db, "attachments"),
        sorted(str(p) for p in settings.attachments_dir.rglob("*") if p.is_file()),
    )
    assert fuzz.count(db, "meldingen") > 1, "no request got through: the fuzz proved nothing"
    total = sum(run.statuses.values())
    assert total > len(OPERATIONS) * EXAMPLES
    signed = [*fuzz.GATEWAY_SIGNED, *(op.path for op in OPERATIONS if op.path.startswith(fuzz.TWILIO_PREFIX))]
    for path in signed:  # both sides of every signature check were reached
        assert run.answered(path, refused=True) and run.answered(path, refused=False), path
    print(f"fuzz: {total} requests in {time.monotonic() - started:.1f} s", *sorted(run.statuses.items()))
