"""Property-based bad input on the Twilio callbacks (hypothesis), every request validly signed: the
Voice callbacks (status, recording, transcription) and the SMS delivery receipts with arbitrary
fields: CallSids of any length, absurd numbers (RecordingDuration, CallDuration, SequenceNumber,
ErrorCode), NUL and invalid UTF-8 in TranscriptionText, a From that is no number. The answer is
2xx or a 4xx JSON error, never a 5xx; a melding is stored whole (with its history) or not at all.

A signature is the only authentication, so these reach the handlers as a stranger who learnt the
token, or Twilio itself on a bad day, would. Invalid UTF-8 is sent as it travels (percent-encoded
bytes); the signature covers what the gateway reads, as Twilio signs the values it sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from gateway.store import sms as sms_store
from gateway.store.schema import meldingen, sms_messages, status_history, voice_calls
from tests.support.api import store_of
from tests.support.data import TILE
from tests.support.voice import PUBLIC_URL, TOKEN, recording_url

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    # One every_channel per test and backend, shared by its examples (as tests/test_bad_input_fuzz.py).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ANY_TEXT = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from("\x00\x01\x1f\x7f\t\n\r \ud800\udfff")),
    max_size=60,
)
# What travels: text (a lone surrogate becomes invalid UTF-8 on the wire) or raw bytes.
VALUE = ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")) | st.binary(max_size=60)
NUMBERISH = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", "9" * 400, "-1", "1e999", "NaN", "١٢٣", "0x10", "1_000", " 7 ", "∞", "2147483648"]),
    ANY_TEXT,
).map(lambda t: t.encode("utf-8", "surrogatepass"))


# Long and incompressible: PostgreSQL compresses a long repeated key enough to index it, not this.
NOISE = base64.b64encode(hashlib.shake_256(b"noise").digest(3000)).decode()


def _b(values: list[str]) -> st.SearchStrategy[bytes]:
    return st.sampled_from([v.encode() for v in values]) | VALUE


CALL_SID = _b(["CAfuzz1", "CAfuzz2", "CA" + "f" * 32, "CA" + "x" * 64, "CA" + "x" * 300, "CA" + NOISE])
NUMBER = _b(["+32470123456", "0470 12 34 56", "anonymous", "client:Anonymous", "+", "+999999999999999999999"])
VOICE_FIELDS = st.fixed_dictionaries(
    {"CallSid": CALL_SID},
    optional={
        "CallStatus": _b(["ringing", "in-progress", "completed", "busy", "no-answer", "x" * 40]),
        "SequenceNumber": NUMBERISH,
        "CallDuration": NUMBERISH,
        "RecordingStatus": _b(["in-progress", "completed", "absent", "failed", "y" * 40]),
        "RecordingSid": _b(["REfuzz1", "RE" + "r" * 300]),
        "RecordingUrl": _b([recording_url("fuzz"), "javascript:alert(1)", "../../etc/passwd"]),
        "RecordingDuration": NUMBERISH,
        "TranscriptionStatus": _b(["completed", "failed", "z" * 40]),
        "TranscriptionSid": _b(["TRfuzz1", "TR" + "t" * 300]),
        "TranscriptionText": VALUE,
        "Digits": _b(["1", "12#", "*" * 300]),
        "From": NUMBER,
        "To": NUMBER,
        "Timestamp": VALUE,
    },
)
EVENT = st.sampled_from(["status", "recording", "transcription"]) | st.sampled_from(
    ["hangup", "%00", "..%2Fx"]
)


def _signed_form(path: str, fields: dict[str, bytes]) -> tuple[bytes, dict[str, str]]:
    """The urlencoded body and Twilio's signature over what the gateway will read from it."""
    body = "&".join(f"{quote_from_bytes(k.encode())}={quote_from_bytes(v)}" for k, v in fields.items())
    read = {k: v.decode("utf-8", "replace") for k, v in fields.items()}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, read)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return body.encode(), headers


def _state(conn: Any) -> tuple[int, int, int]:
    count = conn.execute(select(func.count()).select_from(meldingen)).scalar_one()
    with_history = conn.execute(select(func.count(func.distinct(status_history.c.melding_id)))).scalar_one()
    linked = conn.execute(
        select(func.count()).select_from(voice_calls).where(voice_calls.c.melding_id.is_not(None))
    ).scalar_one()
    return count, with_history, linked


async def _answered(resp: Any) -> None:
    """2xx, or a 4xx that says why (JSON); never a 5xx."""
    body = await resp.text()
    assert resp.status < 500, body
    if resp.status >= 400:
        error = json.loads(body)["error"]
        assert error["code"] and error["message"]


@BOUNDED
@given(event=EVENT, fields=VOICE_FIELDS)
async def test_voice_callbacks_never_fail_nor_store_half(
    every_channel: TestClient[Any, Any], event: str, fields: dict[str, bytes]
) -> None:
    path = f"/channels/twilio/voice/{event}"
    body, headers = _signed_form(path, fields)
    resp = await every_channel.post(path, data=body, headers=headers)
    await _answered(resp)
    count, with_history, linked = await store_of(every_channel).read(_state)
    assert with_history == count  # every melding whole
    assert linked <= count  # a call's melding is made with its call, never without


# -- SMS delivery receipts ----------------------------------------------------------------------------

KNOWN = ("SMfuzzknown1", "SMfuzzknown2")


@pytest.fixture
async def sent(every_channel: TestClient[Any, Any]) -> Iterator[None]:
    """Two messages the gateway sent (as the worker records them), for receipts to move."""
    created = await (await every_channel.post("/api/v1/meldingen", json=TILE)).json()
    store = store_of(every_channel)

    def record(conn: Any) -> None:
        history_id = conn.execute(
            select(status_history.c.id).where(status_history.c.melding_id == created["id"])
        ).scalar_one()
        for sid in KNOWN:
            sms_store.record_sent(
                conn,
                {
                    "sid": sid,
                    "melding_id": created["id"],
                    "history_id": history_id,
                    "channel": "sms",
                    "part": 1,
                    "parts": 1,
                    "recipient": "+32470123456",
                    "body": "Uw melding is ontvangen.",
                },
            )

    await store.write(record)
    yield


RECEIPT_FIELDS = st.fixed_dictionaries(
    {
        "MessageSid": _b([*KNOWN, "SMunknown", "SM" + "s" * 300]),
        "MessageStatus": _b(["sent", "delivered", "undelivered", "failed", "w" * 40]),
    },
    optional={
        "ErrorCode": NUMBERISH,
        "SmsStatus": _b(["sent", "delivered"]),
        "To": NUMBER,
        "From": NUMBER,
        "AccountSid": VALUE,
    },
)


@BOUNDED
@given(fields=RECEIPT_FIELDS)
async def test_sms_receipts_never_fail(
    every_channel: TestClient[Any, Any], sent: None, fields: dict[str, bytes]
) -> None:
    path = "/channels/twilio/sms/status"
    body, headers = _signed_form(path, fields)
    resp = await every_channel.post(path, data=body, headers=headers)
    await _answered(resp)
    rows = await store_of(every_channel).read(lambda conn: list(conn.execute(select(sms_messages))))
    assert {r.sid for r in rows} == set(KNOWN)  # a receipt never makes a message up


# -- inbound SMS / MMS --------------------------------------------------------------------------------

SMS_FIELDS = st.fixed_dictionaries(
    {
        "MessageSid": _b(["SMfuzz1", "SMfuzz2", "MM" + "m" * 32, "SM" + NOISE]),
        "Body": VALUE,
        "From": NUMBER,
    },
    optional={
        "To": NUMBER,
        "NumMedia": NUMBERISH | st.sampled_from([b"1", b"2", b"10"]),
        "MediaUrl0": _b(
            ["https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0", "file:///etc/passwd"]
        ),
        "MediaContentType0": _b(["image/jpeg", "application/x-executable", "x" * 300]),
        "MediaUrl1": VALUE,
        "NumSegments": NUMBERISH,
    },
)


@BOUNDED
@given(fields=SMS_FIELDS)
async def test_inbound_sms_never_fails_nor_stores_half(
    every_channel: TestClient[Any, Any], fields: dict[str, bytes]
) -> None:
    path = "/channels/twilio/sms"
    body, headers = _signed_form(path, fields)
    resp = await every_channel.post(path, data=body, headers=headers)
    await _answered(resp)
    if resp.status == 200:
        assert resp.content_type == "text/xml"
    count, with_history, _ = await store_of(every_channel).read(_state)
    assert with_history == count
