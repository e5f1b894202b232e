"""What Twilio posts to the voice callbacks of a call, signed as Twilio signs it."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

TOKEN = "twilio-test-token"
PUBLIC_URL = "https://meldpunt.example"  # the `settings` fixture's public_url
OUR_NUMBER = "+3256277777"
CALLER = "+32470123456"
ACCOUNT = "AC00000000000000000000000000000000"
SPOKEN = "Er ligt al drie dagen een matras op het voetpad in de Budastraat."


def recording_url(sid: str) -> str:
    return f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{sid}"


def status(sid: str, call_status: str, sequence: int, **extra: str) -> tuple[str, dict[str, str]]:
    params = {
        "CallSid": sid,
        "AccountSid": ACCOUNT,
        "From": "0470 12 34 56",  # as a Belgian caller id may come: normalised to E.164
        "To": OUR_NUMBER,
        "Direction": "inbound",
        "CallStatus": call_status,
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(sequence),
        "Timestamp": "Mon, 23 Nov 2026 10:00:00 +0000",
        **extra,
    }
    return "status", params


def recording(sid: str, rec_status: str = "completed") -> tuple[str, dict[str, str]]:
    params = {
        "CallSid": sid,
        "AccountSid": ACCOUNT,
        "RecordingSid": f"RE{sid}",
        "RecordingStatus": rec_status,
        "RecordingSource": "RecordVerb",
        "RecordingChannels": "1",
    }
    if rec_status == "completed":
        params |= {"RecordingUrl": recording_url(sid), "RecordingDuration": "17"}
    return "recording", params


def transcription(sid: str, text: str = SPOKEN, tr_status: str = "completed") -> tuple[str, dict[str, str]]:
    params = {
        "CallSid": sid,
        "AccountSid": ACCOUNT,
        "From": "+32 470 12 34 56",
        "To": OUR_NUMBER,
        "TranscriptionSid": f"TR{sid}",
        "TranscriptionStatus": tr_status,
        "TranscriptionText": text,
        "TranscriptionUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Transcriptions/TR{sid}",
        "RecordingSid": f"RE{sid}",
        "RecordingUrl": recording_url(sid),
    }
    return "transcription", params


def voicemail(sid: str) -> list[tuple[str, dict[str, str]]]:
    """A caller who leaves a message: every callback Twilio sends for the call."""
    return [
        status(sid, "ringing", 0),
        status(sid, "in-progress", 1),
        recording(sid, "in-progress"),
        recording(sid, "completed"),
        status(sid, "completed", 2, CallDuration="42"),
        transcription(sid),
    ]


async def post(
    client: TestClient[Any, Any], event: str, params: dict[str, str], *, signature: str | None = None
) -> Any:
    path = f"/channels/twilio/voice/{event}"
    headers = {}
    if signature != "":
        headers["X-Twilio-Signature"] = signature or RequestValidator(TOKEN).compute_signature(
            PUBLIC_URL + path, params
        )
    return await client.post(path, data=params, headers=headers)


async def post_all(client: TestClient[Any, Any], callbacks: list[tuple[str, dict[str, str]]]) -> None:
    for event, params in callbacks:
        resp = await post(client, event, params)
        assert resp.status == 204, await resp.text()
