"""An Open311 GeoReport v2 client for the tests: posts forms, reads JSON and XML, and validates every
JSON answer against the schemas of tests/data/open311 (open311/schema-validation, see SOURCE.txt)."""

from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

DATA = Path(__file__).resolve().parent.parent / "data" / "open311"
API_KEY = "app-key-1"
BASE = "/open311/v2"
# Inside Kortrijk: the Grote Markt
GROTE_MARKT = {"lat": "50.827782", "long": "3.266907"}

# A list element of the XML and the element of each of its items (the Spark convention's lists).
_XML_LISTS = {"services", "service_requests", "attributes", "values", "errors", "endpoints", "formats"}


def _schema(name: str) -> dict[str, Any]:
    return json.loads((DATA / "schema" / name).read_text(encoding="utf-8"))


@functools.cache
def validators() -> dict[str, Draft202012Validator]:
    """One validator per answer: the schema files, and swagger.json's POST and token answers."""
    files = ["request.json", "requests.json", "service.json", "services.json", "service-definition.json"]
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.opaque(_schema(name))) for name in files
    )
    definitions = _schema("swagger.json")["definitions"]
    schemas = {name: _schema(name) for name in files}
    schemas["post"] = {"type": "array", "minItems": 1, "items": definitions["RequestResponse"]}
    schemas["token"] = {"type": "array", "minItems": 1, "items": definitions["TokenResponse"]}
    schemas["errors"] = {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}},
        },
    }
    schemas["discovery"] = json.loads((DATA / "discovery.schema.json").read_text(encoding="utf-8"))
    checker = FormatChecker()
    return {
        name: Draft202012Validator(schema, registry=registry, format_checker=checker)
        for name, schema in schemas.items()
    }


def valid(schema: str, value: Any) -> Any:
    """`value`, after checking it against `schema` (every error listed when it fails)."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validators()[schema].iter_errors(value)]
    assert not errors, f"{schema}: {errors}"
    return value


async def get_json(
    client: TestClient[Any, Any], path: str, schema: str, expect: int = 200, **params: str
) -> Any:
    resp = await client.get(f"{BASE}/{path}.json", params=params)
    assert resp.status == expect, await resp.text()
    assert resp.content_type == "application/json" and resp.charset == "utf-8"
    return valid(schema, await resp.json())


async def get_xml(client: TestClient[Any, Any], path: str, expect: int = 200, **params: str) -> ET.Element:
    resp = await client.get(f"{BASE}/{path}.xml", params=params)
    assert resp.status == expect, await resp.text()
    assert resp.content_type == "text/xml" and resp.charset == "utf-8"
    raw = await resp.read()
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(raw)


def form(**fields: str) -> dict[str, str]:
    """A complete POST form for a loose tile on the Grote Markt; `fields` replace or add."""
    base = {
        "api_key": API_KEY,
        "service_code": "wegen",
        **GROTE_MARKT,
        "description": "Losliggende stoeptegel voor de ingang van het belfort",
        "email": "an@example.be",
        "first_name": "An",
        "last_name": "Peeters",
        "phone": "0470 12 34 56",
        "media_url": "https://photos.example.org/tegel.jpg",
    }
    return {k: v for k, v in {**base, **fields}.items() if v is not None}


async def post_request(client: TestClient[Any, Any], fields: dict[str, str], fmt: str = "json") -> Any:
    return await client.post(f"{BASE}/requests.{fmt}", data=fields)


async def create(client: TestClient[Any, Any], **fields: str) -> dict[str, Any]:
    resp = await post_request(client, form(**fields))
    assert resp.status == 200, await resp.text()
    [created] = valid("post", await resp.json())
    return created


async def refused(client: TestClient[Any, Any], fields: dict[str, str], status: int) -> str:
    """The description of a POST's spec error, checked in JSON and in XML."""
    resp = await post_request(client, fields)
    assert resp.status == status, await resp.text()
    [error] = valid("errors", await resp.json())
    assert error["code"] == status
    as_xml = await post_request(client, fields, "xml")
    assert as_xml.status == status
    root = ET.fromstring(await as_xml.read())
    assert root.tag == "errors" and root.findtext("error/code") == str(status)
    assert root.findtext("error/description") == error["description"]
    return str(error["description"])


def as_json(element: ET.Element) -> Any:
    """The Spark convention read back: what the JSON twin of this XML says, every value a string."""
    if element.tag in _XML_LISTS:
        return [as_json(child) for child in element]
    if len(element):
        return {child.tag: as_json(child) for child in element}
    return element.text


def strings(value: Any) -> Any:
    """A JSON value with its scalars as the XML writes them."""
    if isinstance(value, list):
        return [strings(v) for v in value]
    if isinstance(value, dict):
        return {k: strings(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)
