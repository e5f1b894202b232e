"""What TOPdesk's operators read: the incident's brief description and request, and the actions.

`request` and `action` are HTML fields in TOPdesk (a few inline tags: <b>, <i>, <br>, ...).
They are rendered from Jinja2 templates (workers/casesystem/templates) with autoescape on, so
whatever the citizen wrote arrives as text, never as markup; `briefDescription` is plain text.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from gateway.melding import Melding

BRIEF_MAX = 80  # TOPdesk's limit on briefDescription
TEMPLATES = Path(__file__).parent / "templates"


def brief_description(melding: Melding) -> str:
    """The subject, or the text's first line, in at most 80 characters, cut at a word."""
    source = (melding.subject or "").strip() or melding.text.strip()
    line = " ".join(source.splitlines()[0].split()) if source else melding.reference
    if len(line) <= BRIEF_MAX:
        return line
    head = line[: BRIEF_MAX - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head  # one word longer than that: cut inside it
    return cut.rstrip(" ,.;:-") + "…"


def place(location: dict[str, Any]) -> str:
    street = " ".join(str(location[k]) for k in ("street", "house_number") if location.get(k))
    parts = [p for p in (location.get("address"), street, location.get("postcode")) if p]
    if location.get("lat") is not None and location.get("lon") is not None:
        parts.append(f"{location['lat']:.6f}, {location['lon']:.6f}")
    return ", ".join(dict.fromkeys(str(p) for p in parts))


def _lines(text: str) -> Markup:
    return Markup("<br>").join(text.splitlines())  # each line escaped, joined by a line break


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["lines"] = _lines
    return env


def _render(name: str, **values: Any) -> str:
    rendered = _environment().get_template(f"topdesk.{name}.html").render(**values)
    return "".join(line.strip() for line in rendered.splitlines())  # the markup alone says where lines break


def request_text(melding: Melding) -> str:
    return _render(
        "request",
        text=melding.text,
        place=place(melding.location.model_dump()),
        reference=melding.reference,
        channel=melding.channel.value,
    )


def action_text(melding: Melding, extra: dict[str, Any], marker: str) -> str:
    """A follow-up or an extra reporter, as the operator reads it in the incident's actions;
    `marker` (the idempotency key) lets a repeat find it."""
    if "reporter_added" in extra:
        added = extra["reporter_added"]
        who = added.get("reporter") or {}
        return _render(
            "reporter",
            reference=added.get("reference"),
            channel=added.get("channel"),
            contact=", ".join(str(who[k]) for k in ("name", "email", "phone") if who.get(k)),
            text=str(added.get("text") or ""),
            place=place(added.get("location") or {}),
            marker=marker,
        )
    followup = extra.get("followup") or {}
    return _render(
        "followup",
        channel=followup.get("channel", melding.channel.value),
        received_at=followup.get("received_at", ""),
        reporter_reference=followup.get("reporter_reference"),  # an extra reporter's (a duplicate's)
        text=str(followup.get("text") or ""),
        marker=marker,
    )
