"""Answers in the format the path asks for: JSON, or the spec's XML (its JSON is the Spark
convention's mapping of that XML, so one structure renders both). XML is built with the stdlib's
ElementTree, which escapes every text; characters XML 1.0 cannot carry at all are dropped first.
Errors take the spec's form, `[{"code": 400, "description": "..."}]` / `<errors><error>...`."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any, Literal

from aiohttp import web

Format = Literal["json", "xml"]
FORMATS: tuple[Format, ...] = ("json", "xml")

# A list's XML element and the element of each of its items.
_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
# Outside XML 1.0's Char production: ElementTree would write them, and no parser would read it back.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """A refusal in the spec's error format: 404 for what does not exist, 403 for the api_key,
    400 for everything else a client sent wrong."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _fill(node, _ITEMS[tag], item)
    elif value is not None:  # None: an empty element, as in the spec's examples
        node.text = _text(value)


def xml_bytes(root: str, value: Any) -> bytes:
    """`value` (a list under `root`, or a dict as `root`'s children) as an XML document."""
    element = ET.Element(root)
    if isinstance(value, list):
        for item in value:
            _fill(element, _ITEMS[root], item)
    else:
        for key, item in value.items():
            _fill(element, key, item)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def answer(fmt: str, root: str, value: Any, status: int = 200) -> web.Response:
    """`value` as JSON, or as XML under the element `root`."""
    if fmt == "xml":
        return web.Response(
            body=xml_bytes(root, value), status=status, content_type="text/xml", charset="utf-8"
        )
    return web.Response(
        text=json.dumps(value, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def error_answer(
    fmt: str, status: int, description: str, headers: dict[str, str] | None = None
) -> web.Response:
    response = answer(fmt, "errors", [{"code": status, "description": description}], status)
    response.headers.update(headers or {})
    return response
