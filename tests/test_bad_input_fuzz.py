"""Property-based bad input (hypothesis): whatever a stranger sends to the JSON and multipart intake,
the call-record handler or the SMS webhook, the answer is never a 5xx, a melding is stored whole
(with its `ontvangen` entry) or not at all, and no attachment file stays without a melding.

Bounded: at most 60 examples per test and backend, no deadline (a PostgreSQL commit is not a bug).
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.payload import BytesPayload
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gateway.cleantext import clean_text
from gateway.config import Settings
from gateway.signing import sign
from gateway.store.schema import attachments, meldingen, status_history
from tests.support import phone, sms
from tests.support.api import melding, store_of
from tests.support.twilio import jpeg, png

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    # One every_channel per test and backend, shared by its examples: each example adds meldingen to it.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every character hypothesis can make, the unstorable ones (NUL, controls, lone surrogates) made often.
ANY_TEXT = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from("\x00\x01\x1f\x7f\t\n\r \ud800\udfff")),
    max_size=60,
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _state(conn: Any) -> tuple[set[str], int, set[str]]:
    ids = set(conn.execute(select(meldingen.c.id)).scalars())
    with_history = conn.execute(select(func.count(func.distinct(status_history.c.melding_id)))).scalar_one()
    shas = set(conn.execute(select(attachments.c.sha256)).scalars())
    return ids, with_history, shas


async def _stored_whole(
    every_channel: TestClient[Any, Any], settings: Settings, before: set[str], new: str | None
) -> None:
    """Only the melding accepted now was added, with its history; no file without a row."""
    ids, with_history, shas = await store_of(every_channel).read(_state)
    assert ids - before == ({new} if new else set())
    assert with_history == len(ids)
    files = {p.name for p in settings.attachments_dir.rglob("*") if p.is_file()}
    assert files <= shas


async def _ids(every_channel: TestClient[Any, Any]) -> set[str]:
    return (await store_of(every_channel).read(_state))[0]


async def _answered(resp: Any) -> dict[str, Any]:
    """Never a 5xx; a 4xx is JSON that says why."""
    body = await resp.text()
    assert resp.status < 500, body
    if resp.status >= 400 and resp.content_type == "application/json":
        error = json.loads(body)["error"]
        assert error["code"] and error["message"]
    return json.loads(body) if resp.content_type == "application/json" else {}


# -- the JSON API -------------------------------------------------------------------------------------


_FIELDS = st.fixed_dictionaries(
    {"text": ANY_TEXT},
    optional={
        "subject": ANY_TEXT,
        "language": st.sampled_from(["nl", "fr", "en", "xx"]),
        "reporter": st.fixed_dictionaries(
            {}, optional={"name": ANY_TEXT, "email": ANY_TEXT, "phone": ANY_TEXT}
        ),
        "location": st.fixed_dictionaries(
            {},
            optional={
                "street": ANY_TEXT,
                "house_number": ANY_TEXT,
                "lat": st.floats(allow_nan=False) | ANY_TEXT,
                "lon": st.integers(),
            },
        ),
    },
)
# The fields of a melding, now and then beside a field nobody asked for.
MELDING_BODY = st.builds(
    lambda fields, extra: {**extra, **fields}, _FIELDS, st.dictionaries(ANY_TEXT, JSON_VALUE, max_size=2)
)


@BOUNDED
@given(body=MELDING_BODY | JSON_VALUE, raw=st.none() | st.binary(max_size=200))
async def test_json_intake_never_fails_nor_stores_half(
    every_channel: TestClient[Any, Any], settings: Settings, body: Any, raw: bytes | None
) -> None:
    before = await _ids(every_channel)
    data = raw if raw is not None else json.dumps(body).encode()
    resp = await every_channel.post(
        "/api/v1/meldingen", data=data, headers={"Content-Type": "application/json"}
    )
    answer = await _answered(resp)
    new = answer["id"] if resp.status == 202 else None
    if new:
        got = await melding(every_channel, new)
        assert got["text"] == clean_text(body["text"]).strip()
    await _stored_whole(every_channel, settings, before, new)


# -- multipart ----------------------------------------------------------------------------------------

PART_VALUE = st.binary(max_size=80) | ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
PART_NAME = st.sampled_from(["melding", "text", "subject", "street", "reporter_name", "lat", "language"]) | (
    st.text(string.ascii_letters, min_size=1, max_size=8)
)
FILE = st.tuples(
    st.sampled_from([jpeg(), png(), b"%PDF-1.4 not really", b"\x00" * 10, b""]),
    st.sampled_from(["image/jpeg", "image/png", "application/pdf", "text/plain", ""]),
    st.sampled_from(["foto.jpg", "../../etc/passwd", "..%2F..%2Fx.png", "", "a" * 300]),
)


@BOUNDED
@given(
    parts=st.lists(st.tuples(PART_NAME, PART_VALUE), max_size=5),
    files=st.lists(FILE, max_size=3),
    raw=st.none() | st.binary(max_size=300),
    boundary=st.sampled_from(["", "; boundary=x", "; boundary=" + "b" * 80, '; boundary=""']),
)
async def test_multipart_intake_never_fails_nor_stores_half(
    every_channel: TestClient[Any, Any],
    settings: Settings,
    parts: list[tuple[str, bytes]],
    files: list[tuple[bytes, str, str]],
    raw: bytes | None,
    boundary: str,
) -> None:
    before = await _ids(every_channel)
    if raw is not None:
        headers = {"Content-Type": "multipart/form-data" + boundary}
        resp = await every_channel.post("/api/v1/meldingen", data=raw, headers=headers)
    else:
        form = FormData(default_to_multipart=True)
        for name, value in parts:  # a field of arbitrary bytes, not a file
            form.add_field(name, BytesPayload(value, content_type="text/plain"))
        for data, content_type, filename in files:
            form.add_field("photo", data, filename=filename, content_type=content_type or None)
        resp = await every_channel.post("/api/v1/meldingen", data=form)
    answer = await _answered(resp)
    await _stored_whole(every_channel, settings, before, answer["id"] if resp.status == 202 else None)


# -- call records -------------------------------------------------------------------------------------

WHEN = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
).map(lambda d: d.isoformat()) | st.sampled_from(
    [
        (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59-23:59",
        "2026-13-01T00:00:00Z",
    ]
)
CALL_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "call_id": ANY_TEXT,
        "caller_number": ANY_TEXT | st.none(),
        "started_at": WHEN,
        "ended_at": WHEN,
        "ivr_choice": ANY_TEXT | st.none(),
        "agent_notes": ANY_TEXT,
        "outcome": st.sampled_from(["answered", "register", "forward", "other"]),
        "transcription": ANY_TEXT | st.none(),
        "recording_url": ANY_TEXT,
        "reporter": JSON_VALUE,
        "location": JSON_VALUE,
    },
)


@BOUNDED
@given(fields=CALL_FIELDS, raw=st.none() | st.binary(max_size=200), call_id=st.uuids())
async def test_call_records_never_fail_nor_store_half(
    every_channel: TestClient[Any, Any],
    settings: Settings,
    fields: dict[str, Any],
    raw: bytes | None,
    call_id: Any,
) -> None:
    before = await _ids(every_channel)
    record = {**phone.CALL, "call_id": str(call_id), **fields}
    data = raw if raw is not None else json.dumps(record).encode()
    headers = {"Content-Type": "application/json", **sign(phone.PHONE_SECRET, data)}
    resp = await every_channel.post("/channels/phone/calls", data=data, headers=headers)
    answer = await _answered(resp)
    new = answer["id"] if resp.status == 202 and answer["id"] not in before else None
    if resp.status == 202:
        assert sms.REFERENCE.fullmatch(answer["reference"]), answer["reference"]
    await _stored_whole(every_channel, settings, before, new)


# -- the SMS webhook ----------------------------------------------------------------------------------


@BOUNDED
@given(body=ANY_TEXT, sender=ANY_TEXT, extra=st.dictionaries(PART_NAME, ANY_TEXT, max_size=3), sid=st.uuids())
async def test_sms_never_fails_nor_stores_half(
    every_channel: TestClient[Any, Any],
    settings: Settings,
    body: str,
    sender: str,
    extra: dict[str, str],
    sid: Any,
) -> None:
    before = await _ids(every_channel)
    message = sms.message(f"SM{sid.hex}", body, sender or "+32470123456")
    # Form fields travel as UTF-8: a lone surrogate cannot be sent, its replacement can.
    params = {k: v.encode("utf-8", "replace").decode() for k, v in {**extra, **message}.items()}
    resp = await sms.post(every_channel, params)
    assert resp.status == 200, await resp.text()
    ids, with_history, _ = await store_of(every_channel).read(_state)
    assert len(ids - before) <= 1 and with_history == len(ids)  # a melding, or a follow-up of one
