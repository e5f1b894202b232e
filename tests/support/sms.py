"""What Twilio posts to the SMS webhook, signed as Twilio signs it, and what the tests read back."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from gateway.store import Store
from gateway.store.schema import notifications
from tests.support.api import delivered, signed

TOKEN = "twilio-test-token"
OUR_NUMBER = "+3256277777"
PATH = "/channels/twilio/sms"
REFERENCE = re.compile(r"1777-\d{4}-\d{6}")
NUMBER = "+32470111222"  # a citizen's mobile number


def message(sid: str, body: str, sender: str = "+32470123456", **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        **extra,
    }


async def post(
    client: TestClient[Any, Any],
    params: dict[str, str],
    *,
    signed_url: str | None = None,
    path: str = PATH,
    signature: str | None = None,
) -> Any:
    """Post as Twilio does: form-encoded, signed over the public URL unless told otherwise."""
    public_url = "https://meldpunt.example"  # the `settings` fixture's public_url
    url = signed_url or public_url + path
    headers = {}
    if signature != "":
        headers["X-Twilio-Signature"] = signature or RequestValidator(TOKEN).compute_signature(url, params)
    return await client.post(path, data=params, headers=headers)


async def new_sms_melding(app: TestClient[Any, Any], sid: str, body: str, sender: str = NUMBER) -> str:
    resp = await post(app, message(sid, body, sender))
    assert resp.status == 200
    found = REFERENCE.search(await resp.text())
    assert found, "the TwiML answer names the reference"
    return found.group(0)


async def set_status(app: TestClient[Any, Any], reference: str, **body: Any) -> None:
    """The case system's signed status callback; a melding still in triage (short texts often are)
    is first recorded as handed over, since the gateway refuses a status for a melding it is not."""
    await delivered(app, reference)
    raw, headers = signed(body)
    resp = await app.post(f"/api/v1/meldingen/{reference}/status", data=raw, headers=headers)
    assert resp.status == 200, await resp.text()


async def decisions(store: Store, channel: str) -> list[tuple[str, str, str | None]]:
    query = (
        select(notifications.c.state, notifications.c.detail, notifications.c.recipient)
        .where(notifications.c.channel == channel)
        .order_by(notifications.c.id)
    )
    rows = await store.read(lambda conn: list(conn.execute(query)))
    return [(r.state, r.detail, r.recipient) for r in rows]
