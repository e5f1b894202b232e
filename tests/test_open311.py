"""Open311 GeoReport v2 (issue 13 item 2): an app's round trip over real HTTP on both stores, every
answer validated against the GeoReport v2 schemas, XML twins, filters, refusals and the pipeline."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from gateway.appkeys import STORE
from gateway.config import Settings
from gateway.http.app import create_app
from tests.support.api import post, signed
from tests.support.http import Receiver, RelayHandler
from tests.support.open311 import (
    API_KEY,
    BASE,
    as_json,
    create,
    form,
    get_json,
    get_xml,
    post_request,
    refused,
    strings,
    valid,
)
from tests.support.worker import run_worker
from tests.test_store_outage import Outage


@pytest.fixture
def open311_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"open311_api_keys": [API_KEY, "other-app"]})


@pytest.fixture
async def app311(open311_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(open311_settings))) as c:
        yield c


def w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def test_client_round_trip_reaches_the_case_system(
    app311: TestClient[Any, Any],
    open311_settings: Settings,
    receiver: Receiver,
    smtp_relay: tuple[str, RelayHandler],
) -> None:
    relay, handler = smtp_relay
    open311_settings = open311_settings.model_copy(update={"smtp_relay": relay})
    [endpoint] = (await get_json(app311, "discovery", "discovery"))["endpoints"]
    assert endpoint["url"] == f"https://meldpunt.example{BASE}"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = await get_json(app311, "services", "services.json")
    codes = [s["service_code"] for s in services]
    assert codes == [
        "nette_stad", "afvalophaling", "wegen", "groen", "verlichting",
        "signalisatie", "riolering", "overlast", "dieren",
    ]  # fmt: skip
    wegen = next(s for s in services if s["service_code"] == "wegen")
    assert wegen["service_name"] == "Publieke Ruimte" and wegen["type"] == "realtime"
    assert wegen["metadata"] is False  # so no service definition is needed; it answers all the same
    assert await get_json(app311, "services/wegen", "service-definition.json") == {
        "service_code": "wegen",
        "attributes": [],
    }
    created = await create(app311)
    reference = created["service_request_id"]
    assert reference.startswith("1777-")
    [by_token] = await get_json(app311, f"tokens/{created['token']}", "token")
    assert by_token == {"service_request_id": reference, "token": created["token"]}
    [request] = await get_json(app311, f"requests/{reference}", "requests.json")
    assert request["status"] == "open" and request["status_notes"] == "Ontvangen"
    assert request["service_code"] == "wegen" and request["service_name"] == "Publieke Ruimte"
    assert request["description"] == "Losliggende stoeptegel voor de ingang van het belfort"
    assert request["media_url"] == "https://photos.example.org/tegel.jpg"
    assert (request["lat"], request["long"]) == (50.827782, 3.266907)

    await run_worker(open311_settings)
    [hit] = receiver.created
    assert hit["signed"]
    sent = hit["body"]["melding"]
    assert sent["reference"] == reference and sent["channel"] == "open311"
    assert sent["dienst"] == "wegen" and sent["routed_by"] == "channel:open311"
    assert sent["reporter"] == {
        "name": "An Peeters",
        "email": "an@example.be",
        "phone": "+32470123456",
        "feedback": None,
    }
    assert "Foto: https://photos.example.org/tegel.jpg" in sent["text"]  # a link, never fetched
    [request] = await get_json(app311, f"requests/{reference}", "requests.json")
    assert request["status"] == "open" and request["status_notes"] == "Geregistreerd"

    # the reporter hears of it by our notification rules: a mail for a status change
    mails = [message_from_bytes(m.original_content) for m in handler.messages]
    assert [m["To"] for m in mails] == ["An Peeters <an@example.be>"]
    assert reference in mails[0]["Subject"] and "Geregistreerd" in mails[0]["Subject"]

    body, headers = signed({"status": "gepland", "planned_date": "2027-01-04"})
    resp = await app311.post(f"/api/v1/meldingen/{reference}/status", data=body, headers=headers)
    assert resp.status == 200
    [request] = await get_json(app311, f"requests/{reference}", "requests.json")
    assert request["status"] == "open" and request["status_notes"] == "Gepland"
    assert request["expected_datetime"] == "2027-01-03T23:00:00Z"  # midnight in Kortrijk
    body, headers = signed({"status": "behandeld", "note": "Tegel teruggelegd"})
    resp = await app311.post(f"/api/v1/meldingen/{reference}/status", data=body, headers=headers)
    assert resp.status == 200
    [request] = await get_json(app311, f"requests/{reference}", "requests.json")
    assert request["status"] == "closed"
    assert request["status_notes"] == "Behandeld: Tegel teruggelegd"
    assert request["updated_datetime"] >= request["requested_datetime"]


async def test_a_retried_post_is_the_same_request(app311: TestClient[Any, Any]) -> None:
    first = await create(app311)
    again = await create(app311)
    assert again == first
    other = await create(app311, description="Nog een losse tegel, verderop")
    assert other["service_request_id"] != first["service_request_id"]
    found = await get_json(app311, "requests", "requests.json")
    assert len(found) == 2


async def test_xml_twins_parse_and_say_what_the_json_says(app311: TestClient[Any, Any]) -> None:
    created = await create(app311)
    reference = created["service_request_id"]
    for path, root, schema in [
        ("discovery", "discovery", "discovery"),
        ("services", "services", "services.json"),
        ("services/groen", "service_definition", "service-definition.json"),
        (f"tokens/{created['token']}", "service_requests", "token"),
        (f"requests/{reference}", "service_requests", "requests.json"),
        ("requests", "service_requests", "requests.json"),
    ]:
        element = await get_xml(app311, path)
        assert element.tag == root
        assert as_json(element) == strings(await get_json(app311, path, schema)), path
    resp = await post_request(app311, form(description="Via XML"), "xml")
    assert resp.status == 200
    element = ET.fromstring(await resp.read())
    assert element.tag == "service_requests"
    assert element.findtext("request/service_request_id", "").startswith("1777-")
    assert element.findtext("request/token")


async def test_citizen_text_is_escaped_in_xml_and_json(app311: TestClient[Any, Any]) -> None:
    nasty = "Tegel <script>alert(\"x\")</script> & ]]> <!-- 'kapot' --> \x01einde"
    created = await create(app311, description=nasty, address_string="<b>Grote Markt</b> & co")
    reference = created["service_request_id"]
    [request] = await get_json(app311, f"requests/{reference}", "requests.json")
    expected = nasty.replace("\x01", "")  # a control character is no text (gateway.cleantext)
    assert request["description"] == expected
    resp = await app311.get(f"{BASE}/requests/{reference}.xml")
    raw = await resp.read()
    assert b"<script>" not in raw and b"<b>" not in raw
    element = ET.fromstring(raw)
    assert element.findtext("request/description") == expected
    assert element.findtext("request/address") == "<b>Grote Markt</b> & co"


async def test_filters_of_get_requests(app311: TestClient[Any, Any], clock: time_machine.Traveller) -> None:
    start = datetime.now(UTC)
    early = await create(app311, description="Eerste tegel")
    clock.shift(timedelta(days=10))
    groen = await create(app311, service_code="groen", description="Omgevallen boom in het park")
    clock.shift(timedelta(days=100))
    late = await create(app311, description="Late tegel")

    async def refs(**params: str) -> list[str]:
        found = await get_json(app311, "requests", "requests.json", **params)
        return [r["service_request_id"] for r in found]

    assert await refs() == [late["service_request_id"]]  # the last 90 days by default
    first_90 = {"start_date": w3c(start - timedelta(hours=1)), "end_date": w3c(start + timedelta(days=89))}
    assert await refs(**first_90) == [groen["service_request_id"], early["service_request_id"]]
    assert await refs(**first_90, service_code="groen") == [groen["service_request_id"]]
    assert await refs(**first_90, service_code="wegen,groen", status="open") == [
        groen["service_request_id"],
        early["service_request_id"],
    ]
    assert await refs(**first_90, status="closed") == []
    assert await refs(start_date=w3c(start - timedelta(hours=1))) == [
        groen["service_request_id"],
        early["service_request_id"],
    ]  # start_date alone: the 90 days from it
    # service_request_id overrides every other argument
    ids = f"{early['service_request_id']}, {late['service_request_id']},1777-1999-000001"
    assert sorted(await refs(service_request_id=ids, status="closed", service_code="groen")) == sorted(
        [early["service_request_id"], late["service_request_id"]]
    )
    too_long = {"start_date": w3c(start), "end_date": w3c(start + timedelta(days=90, seconds=1))}
    [error] = await get_json(app311, "requests", "errors", expect=400, **too_long)
    assert "90 days" in error["description"]
    for bad, why in [
        ({"start_date": "gisteren"}, "w3c date-time"),
        ({"start_date": "2026-01-01T00:00:00"}, "time zone"),
        ({"start_date": w3c(start), "end_date": w3c(start - timedelta(days=1))}, "before start_date"),
        ({"status": "pending"}, "open or closed"),
        ({"service_request_id": "1777-2026-000001\x00"}, "control character"),
        ({"service_request_id": ",".join(f"1777-2026-{n:06}" for n in range(101))}, "at most 100"),
    ]:
        [error] = await get_json(app311, "requests", "errors", expect=400, **bad)
        assert why in error["description"], error
    assert (await get_xml(app311, "requests", expect=400, status="x")).tag == "errors"


async def test_meldingen_of_other_channels_are_listed_without_their_text(
    app311: TestClient[Any, Any], open311_settings: Settings
) -> None:
    by_web = await post(app311)  # a loose tile by the JSON API: routed to wegen by the rules
    [error] = await get_json(app311, f"requests/{by_web['reference']}", "errors", expect=404)
    assert "not found" in error["description"]  # not routed yet: no service request of a type
    await run_worker(open311_settings)
    [request] = await get_json(app311, f"requests/{by_web['reference']}", "requests.json")
    assert request["service_code"] == "wegen" and request["status"] == "open"
    assert request["description"] is None and request["media_url"] is None  # a citizen's words stay private
    assert request["address"] == "Budastraat 12, 8500"


async def test_bad_posts_get_spec_errors(app311: TestClient[Any, Any]) -> None:
    assert "service_code" in await refused(app311, form(service_code=""), 400)
    assert "'parking' not found" in await refused(app311, form(service_code="parking"), 404)
    assert "not found" in await refused(app311, form(service_code="info"), 404)  # not offered
    assert "lat must be a number" in await refused(app311, form(lat="vijftig"), 400)
    assert "finite" in await refused(app311, form(lat="nan"), 400)
    assert "outside the area" in await refused(app311, form(lat="51.2194", long="4.4025"), 400)  # Antwerp
    assert "together" in await refused(app311, {k: v for k, v in form().items() if k != "long"}, 400)
    nowhere = {k: v for k, v in form().items() if k not in ("lat", "long")}
    assert "location is required" in await refused(app311, nowhere, 400)
    assert "address_id is not supported" in await refused(app311, {**nowhere, "address_id": "123"}, 400)
    assert "4001 characters" in await refused(app311, form(description="x" * 4001), 400)
    assert "Invalid api_key" in await refused(app311, form(api_key="guess"), 403)
    assert "api_key is missing" in await refused(app311, form(api_key=""), 403)
    assert "jurisdiction_id 'gent.be' not found" in await refused(
        app311, form(jurisdiction_id="gent.be"), 404
    )
    assert "e-mail address" in await refused(app311, form(email="an-at-example"), 400)
    assert "phone number" in await refused(app311, form(phone="12"), 400)
    assert "http(s) URL" in await refused(app311, form(media_url="file:///etc/passwd"), 400)
    # none of those stored anything; the limits themselves are accepted
    assert await get_json(app311, "requests", "requests.json") == []
    await create(
        app311, description="x" * 4000, jurisdiction_id="kortrijk.be", address_string="Grote Markt 1"
    )
    assert len(await get_json(app311, "requests", "requests.json")) == 1


async def test_no_keys_configured_refuses_every_post(client: TestClient[Any, Any]) -> None:
    assert "Invalid api_key" in await refused(client, form(), 403)


async def test_unknown_things_are_404_in_the_spec_format(app311: TestClient[Any, Any]) -> None:
    [error] = await get_json(app311, "requests/1777-2026-999999", "errors", expect=404)
    assert "not found" in error["description"]
    await get_json(app311, "tokens/nope", "errors", expect=404)
    await get_json(app311, "services/parking", "errors", expect=404)
    await get_json(app311, "services", "errors", expect=404, jurisdiction_id="gent.be")
    assert await get_json(app311, "services", "services.json", jurisdiction_id="kortrijk.be")
    resp = await app311.get(f"{BASE}/services.html")
    assert resp.status == 404
    valid("errors", await resp.json())
    element = await get_xml(app311, "nothing/here", expect=404)
    assert element.findtext("error/code") == "404"


async def test_a_path_with_a_control_character_is_the_spec_404(app311: TestClient[Any, Any]) -> None:
    # Found by the OpenAPI fuzz: the catch-all's `.*` stopped at a line feed, so such a path got the
    # app's own JSON 404 instead of the spec's error list.
    for path in ("requests/a%0Ab.json", "tokens/%0A%7F.json", "x%0Ay.json"):
        resp = await app311.get(URL(f"{BASE}/{path}", encoded=True))
        assert resp.status == 404
        valid("errors", await resp.json())
    resp = await app311.get(URL(f"{BASE}/requests/a%0Ab.xml", encoded=True))
    assert resp.status == 404 and resp.content_type == "text/xml"
    assert ET.fromstring(await resp.read()).findtext("error/code") == "404"


async def test_another_method_on_a_resource_is_405_in_the_spec_format(app311: TestClient[Any, Any]) -> None:
    # The catch-all takes every method: without looking, a POST to services.json was a 404.
    resp = await app311.post(f"{BASE}/services.json")
    assert resp.status == 405 and set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
    [error] = await resp.json()
    assert error["code"] == 405 and "GET" in error["description"]
    resp = await app311.delete(f"{BASE}/requests.xml")
    assert resp.status == 405 and set(resp.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
    assert ET.fromstring(await resp.read()).findtext("error/code") == "405"
    assert (await app311.post(f"{BASE}/nothing.json")).status == 404


async def test_an_address_string_is_located_by_the_worker(
    app311: TestClient[Any, Any], open311_settings: Settings
) -> None:
    created = await create(app311, lat="", long="", address_string="Budastraat 12, 8500 Kortrijk")
    reference = created["service_request_id"]
    [request] = await get_json(app311, f"requests/{reference}", "requests.json")
    assert request["address"] == "Budastraat 12, 8500 Kortrijk"
    assert request["lat"] is None and request["long"] is None  # not located yet
    await run_worker(open311_settings)
    [request] = await get_json(app311, f"requests/{reference}", "requests.json")
    assert request["zipcode"] == "8500"
    assert 50.72 < request["lat"] < 50.88 and 3.16 < request["long"] < 3.37


async def test_broken_bodies_and_outages_get_spec_errors(
    app311: TestClient[Any, Any], open311_settings: Settings, tmp_path: Path
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = await app311.post(f"{BASE}/requests.json", data=b"service_code=\xff\xfe", headers=headers)
    assert resp.status == 400
    assert "UTF-8" in valid("errors", await resp.json())[0]["description"]
    huge = form(description="x" * 70_000)  # over the test app's 64 KiB body limit
    resp = await post_request(app311, huge)
    assert resp.status == 413
    valid("errors", await resp.json())
    resp = await app311.post(f"{BASE}/requests.json", json=form())
    assert resp.status == 400 and "x-www-form-urlencoded" in (await resp.json())[0]["description"]

    outage = Outage(open311_settings, tmp_path)
    prepared = await outage.prepared()
    async with TestClient(TestServer(create_app(prepared))) as client:
        await outage.start(client.app[STORE])
        for fmt in ("json", "xml"):
            resp = await post_request(client, form(), fmt)
            assert resp.status == 503 and resp.headers["Retry-After"] == "30"
        assert (
            "nothing was stored"
            in valid("errors", await (await post_request(client, form())).json())[0]["description"]
        )
        await get_json(client, "requests", "errors", expect=503)
        await outage.end(client.app[STORE])
        await create(client)


async def test_too_many_posts_from_one_app_are_refused(
    open311_settings: Settings, clock: time_machine.Traveller
) -> None:
    # the clock stands still: the four POSTs fall in one minute's window
    limited = open311_settings.model_copy(update={"open311_rate_limit": 2})
    async with TestClient(TestServer(create_app(limited))) as client:
        await create(client, description="Eerste")
        await create(client, description="Tweede")
        assert "rate limit" in await refused(client, form(description="Derde"), 403)
        await create(client, api_key="other-app", description="Derde")  # another app has its own budget
        clock.shift(60)
        await create(client, description="Derde, een minuut later")
