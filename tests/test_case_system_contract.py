"""One contract every case-system adapter passes, run through the real pipeline (intake, arq worker,
store) against each adapter's stand-in: the webhook receiver and the TOPdesk stand-in.

A new adapter joins by adding its side (how its stand-in is asked what arrived, how it fails, how
it sets a status) to SIDES; the tests stay as they are.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from typing import Any, Protocol

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import select, update

from gateway.appkeys import REDIS, STORE
from gateway.attachments import AttachmentStore
from gateway.config import Settings
from gateway.melding import DeliveryState, Status
from gateway.queue import enqueue_delivery
from gateway.store import deliveries as deliveries_store
from gateway.store.schema import deliveries, notifications
from tests.support.api import add_followup, melding, post, signed
from tests.support.data import LAMP_PIN, LAMP_TEXT, PNG, TILE
from tests.support.http import Receiver
from tests.support.topdesk import FakeTopdesk, topdesk_settings
from tests.support.worker import run_worker, worker_ctx
from workers import case_status
from workers.casesystem.topdesk_config import load as load_topdesk_file


class Side(Protocol):
    """An adapter with its stand-in, as the contract sees them."""

    settings: Settings
    permanent_words: str  # what the case system said when it refused for good

    def cases(self, reference: str) -> int: ...  # cases the case system holds for this melding
    def actions(self, reference: str) -> list[str]: ...  # what was added to its case since
    def files(self, reference: str) -> list[bytes]: ...  # the files its case holds
    def fail_next(self, *, permanent: bool) -> None: ...
    async def set_status(
        self, client: TestClient[Any, Any], reference: str, status: Status, note: str, planned: date | None
    ) -> None: ...


class WebhookSide:
    permanent_words = "HTTP 422"

    def __init__(self, receiver: Receiver, settings: Settings):
        self.receiver = receiver
        self.settings = settings

    def _ok(self, reference: str, event: str) -> dict[str, dict[str, Any]]:
        # a receiver drops repeats by Idempotency-Key (the webhook's contract): one per key
        return {
            r["headers"]["Idempotency-Key"]: r["body"]
            for r in self.receiver.received
            if r["ok"] and r["body"]["event"] == event and r["body"]["melding"]["reference"] == reference
        }

    def cases(self, reference: str) -> int:
        return len(self._ok(reference, "melding.created"))

    def actions(self, reference: str) -> list[str]:
        found = [
            *self._ok(reference, "melding.followup").values(),
            *self._ok(reference, "melding.updated").values(),
        ]
        return [json.dumps(b.get("followup") or b.get("reporter_added"), ensure_ascii=False) for b in found]

    def files(self, reference: str) -> list[bytes]:
        # the webhook carries each file's description (hash, size); the receiver fetches nothing.
        # An extra reporter's files come with its update or its follow-up, beside the melding's.
        [body] = self._ok(reference, "melding.created").values()
        described = list(body["melding"]["attachments"])
        for event in ("melding.updated", "melding.followup"):
            for later in self._ok(reference, event).values():
                described += (later.get("reporter_added") or later.get("followup") or {}).get(
                    "attachments", []
                )
        return [a["sha256"].encode() for a in described]

    def fail_next(self, *, permanent: bool) -> None:
        self.receiver.responses = [422] if permanent else [503]

    async def set_status(
        self, client: TestClient[Any, Any], reference: str, status: Status, note: str, planned: date | None
    ) -> None:
        body: dict[str, Any] = {"status": status.value, "note": note}
        if planned:
            body["planned_date"] = planned.isoformat()
        raw, headers = signed(body)
        resp = await client.post(f"/api/v1/meldingen/{reference}/status", data=raw, headers=headers)
        assert resp.status == 200, await resp.text()


class TopdeskSide:
    permanent_words = "scripted failure 400"  # TOPdesk's own message, from its error body

    def __init__(self, fake: FakeTopdesk, settings: Settings):
        self.fake = fake
        self.settings = topdesk_settings(settings, fake)
        mapping = load_topdesk_file(self.settings.topdesk_file).status.processing
        self.names = {ours: name for name, ours in mapping.items()}

    def _incident(self, reference: str) -> dict[str, Any]:
        [incident] = self.fake.by_reference(reference)
        return incident

    def cases(self, reference: str) -> int:
        return len(self.fake.by_reference(reference))

    def actions(self, reference: str) -> list[str]:
        return [a["plainText"] for a in self.fake.actions.get(self._incident(reference)["id"], [])]

    def files(self, reference: str) -> list[bytes]:
        return [a["data"] for a in self.fake.attachments.get(self._incident(reference)["id"], [])]

    def fail_next(self, *, permanent: bool) -> None:
        self.fake.fail_next(400 if permanent else 503)

    async def set_status(
        self, client: TestClient[Any, Any], reference: str, status: Status, note: str, planned: date | None
    ) -> None:
        self.fake.set_status(reference, self.names[status], target_date=planned, action=note)
        async with worker_ctx(self.settings) as ctx:  # the worker's cron job, once
            assert "applied" in await case_status.poll_case_status(ctx)


@pytest.fixture(params=["webhook", "topdesk"])
def side(
    request: pytest.FixtureRequest, settings: Settings, receiver: Receiver, topdesk: FakeTopdesk
) -> Side:
    # both stand-ins run (they are cheap); the parameter picks the adapter
    return WebhookSide(receiver, settings) if request.param == "webhook" else TopdeskSide(topdesk, settings)


async def post_with_photo(
    client: TestClient[Any, Any], body: dict[str, Any] = TILE, photo: bytes = PNG
) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("melding", json.dumps(body), content_type="application/json")
    form.add_field("photo", photo, filename="tegel.png", content_type="image/png")
    resp = await client.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.text()
    return await resp.json()


async def test_create_hands_over_one_case_with_its_files(client: TestClient[Any, Any], side: Side) -> None:
    created = await post_with_photo(client)
    await run_worker(side.settings)
    got = await melding(client, created["id"])
    assert (got["stage"], got["status"]) == ("delivered", "geregistreerd")
    assert got["deliveries"][0]["case_id"]
    assert side.cases(created["reference"]) == 1
    [file] = side.files(created["reference"])
    assert file in (PNG, got["attachments"][0]["sha256"].encode())


async def test_a_followup_is_added_to_the_same_case(client: TestClient[Any, Any], side: Side) -> None:
    created = await post(client)
    await run_worker(side.settings)
    await add_followup(client, created["id"], "SM-1", "Het is nummer 12, naast de bakker")
    await run_worker(side.settings)
    assert side.cases(created["reference"]) == 1
    [action] = side.actions(created["reference"])
    assert "naast de bakker" in action
    assert [d["state"] for d in (await melding(client, created["id"]))["deliveries"]] == ["delivered"] * 2


async def test_an_extra_reporter_joins_the_first_case(client: TestClient[Any, Any], side: Side) -> None:
    first = await post(client, LAMP_TEXT)
    await run_worker(side.settings)
    second = await post(client, LAMP_PIN)  # the same lamp: a duplicate
    await run_worker(side.settings)
    assert side.cases(first["reference"]) == 1 and side.cases(second["reference"]) == 0
    [action] = side.actions(first["reference"])
    assert second["reference"] in action and "bert@example.be" in action
    dup = await melding(client, second["id"])
    assert (dup["duplicate_of"], dup["stage"], dup["status"]) == (first["id"], "delivered", "geregistreerd")


def the_file(data: bytes) -> tuple[bytes, bytes]:
    """A file as a case holds it: its bytes (uploaded), or its sha256 (a webhook's description)."""
    return data, hashlib.sha256(data).hexdigest().encode()


async def test_an_extra_reporters_photos_reach_the_first_case(
    client: TestClient[Any, Any], side: Side
) -> None:
    first = await post(client, LAMP_TEXT)
    await run_worker(side.settings)
    second = await post_with_photo(client, LAMP_PIN)  # the same lamp, with a photo: a duplicate
    await run_worker(side.settings)
    assert side.cases(second["reference"]) == 0
    [photo] = side.files(first["reference"])
    assert photo in the_file(PNG)
    # Its reporter answers with another photo: that one reaches the first case too.
    later = io.BytesIO()
    Image.new("RGB", (4, 3), (250, 200, 0)).save(later, "PNG")
    saved = AttachmentStore(side.settings.attachments_dir).save(
        later.getvalue(), filename="donker.png", content_type="image/png"
    )
    await add_followup(client, second["id"], "SM-3", "Hier nog een foto van de lamp", files=[saved])
    await run_worker(side.settings)
    assert side.cases(first["reference"]) == 1
    files = side.files(first["reference"])
    assert len(files) == 2 and files[0] in the_file(PNG) and files[1] in the_file(later.getvalue())
    delivered = [d["state"] for d in (await melding(client, first["id"]))["deliveries"]]
    assert delivered == ["delivered"] * 3  # created, the extra reporter, their follow-up


async def test_status_changes_come_back_into_the_history_and_are_notified(
    client: TestClient[Any, Any], side: Side
) -> None:
    created = await post(client)
    await run_worker(side.settings)
    await side.set_status(
        client, created["reference"], Status.GEPLAND, "Herstelling op 3 december", date(2026, 12, 3)
    )
    got = await melding(client, created["id"])
    assert [h["status"] for h in got["status_history"]] == ["ontvangen", "geregistreerd", "gepland"]
    last = got["status_history"][-1]
    assert (last["source"], last["planned_date"], last["note"]) == (
        "case_system",
        "2026-12-03",
        "Herstelling op 3 december",
    )
    await run_worker(side.settings)  # the notify job: a decision recorded (no relay here: skipped)
    rows = await client.app[STORE].read(
        lambda conn: conn.execute(select(notifications.c.channel, notifications.c.state)).all()
    )
    assert ("email", "skipped") in [tuple(r) for r in rows]


async def test_transient_failures_are_retried(client: TestClient[Any, Any], side: Side) -> None:
    side.fail_next(permanent=False)
    created = await post(client)
    await run_worker(side.settings)
    got = await melding(client, created["id"])
    assert got["stage"] == "delivered" and got["deliveries"][0]["attempts"] == 2
    assert side.cases(created["reference"]) == 1


async def test_permanent_failures_are_dead_with_the_case_systems_words(
    client: TestClient[Any, Any], side: Side
) -> None:
    side.fail_next(permanent=True)
    created = await post(client)
    await run_worker(side.settings)
    got = await melding(client, created["id"])
    assert got["stage"] == "dead"
    [delivery] = got["deliveries"]
    assert (delivery["state"], delivery["attempts"]) == ("dead", 1)
    assert side.permanent_words in delivery["last_error"]
    assert side.cases(created["reference"]) == 0


async def test_a_crash_between_sent_and_recorded_repeats_nothing(
    client: TestClient[Any, Any], side: Side
) -> None:
    created = await post_with_photo(client)
    await run_worker(side.settings)
    await add_followup(client, created["id"], "SM-2", "Nog steeds niet hersteld")
    await run_worker(side.settings)
    store = client.app[STORE]
    # Both deliveries went out, but their outcome was never written (the worker died in between):
    await store.write(
        lambda conn: conn.execute(
            update(deliveries)
            .where(deliveries.c.melding_id == created["id"])
            .values(state="pending", case_id=None, attempts=0, generation=deliveries.c.generation + 1)
        )
    )
    for delivery in await store.read(deliveries_store.in_states, [DeliveryState.PENDING]):
        await enqueue_delivery(client.app[REDIS], side.settings.queue_name, delivery)
    await run_worker(side.settings)
    assert side.cases(created["reference"]) == 1
    assert len(side.actions(created["reference"])) == 1
    assert len(side.files(created["reference"])) == 1
    got = await melding(client, created["id"])
    assert [d["state"] for d in got["deliveries"]] == ["delivered"] * 2 and got["deliveries"][0]["case_id"]
