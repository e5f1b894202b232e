"""Call records as the telephony platform posts them to /channels/phone/calls, signed."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.signing import sign

PHONE_SECRET = "phone-test-secret"

CALL: dict[str, Any] = {
    "call_id": "call-0001",
    "caller_number": "0470 12 34 56",
    "called_number": "1777",
    "started_at": "2026-03-02T09:14:00+01:00",
    "ended_at": "2026-03-02T09:17:30+01:00",
    "ivr_choice": "4",
    "agent_id": "agent-17",
    "agent_notes": "Losliggende stoeptegels voor nummer 12, gevaar voor voetgangers.",
    "outcome": "register",
    "transcription": "ja goeiedag, er liggen tegels los in de Budastraat",
    "recording_url": "https://pbx.example/rec/call-0001.wav",
    "reporter": {"name": "An Peeters", "email": "an@example.be"},
    "location": {"street": "Budastraat", "house_number": "12", "postcode": "8500"},
}


async def post(
    client: TestClient[Any, Any], record: Any, *, secret: str = PHONE_SECRET, ts: int | None = None
) -> Any:
    body = json.dumps(record).encode()
    headers = {"Content-Type": "application/json", **sign(secret, body, ts)}
    return await client.post("/channels/phone/calls", data=body, headers=headers)


def call(**changes: Any) -> dict[str, Any]:
    record = {**CALL, **changes}
    return {k: v for k, v in record.items() if v is not ...}
