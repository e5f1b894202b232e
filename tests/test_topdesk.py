"""The TOPdesk adapter against its stand-in: what an incident holds, errors, and the status poller."""

from __future__ import annotations

import logging
from datetime import date
from email import message_from_bytes
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from arq import Retry
from sqlalchemy import select

from gateway.config import Settings
from gateway.melding import Channel, Melding, Reporter
from gateway.queue import case_status_poll_lock
from gateway.store import attempts, cursors
from gateway.store.schema import deliveries, notifications
from tests.support.api import melding, post, store_of
from tests.support.data import LAMP_PIN, LAMP_TEXT, ROOT, TILE
from tests.support.http import RelayHandler
from tests.support.topdesk import PASSWORD, USER, FakeTopdesk, topdesk_settings
from tests.support.worker import run_worker, worker_ctx
from tests.test_case_system_contract import add_followup
from workers import case_status, jobs
from workers.casesystem.topdesk_texts import brief_description

SHIPPED = (ROOT / "config" / "topdesk.toml").read_text(encoding="utf-8")


def with_file(settings: Settings, tmp_path: Path, *changes: tuple[str, str]) -> Settings:
    text = SHIPPED
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "topdesk.toml"
    path.write_text(text, encoding="utf-8")
    return settings.model_copy(update={"topdesk_file": path})


def a_melding(**fields: Any) -> Melding:
    base: dict[str, Any] = {
        "id": "m1",
        "reference": "1777-2026-000001",
        "channel": Channel.WEB,
        "received_at": "2026-12-02T10:00:00+00:00",
        "reporter": Reporter(),
        "text": "x",
        "location": {},
        "status": "ontvangen",
        "stage": "routed",
        "tracking_token": "t",
    }
    return Melding.model_validate({**base, **fields})


def test_brief_description_is_cut_at_a_word() -> None:
    long = "Losliggende tegels op het voetpad van de Budastraat ter hoogte van nummer twaalf, gevaarlijk"
    brief = brief_description(a_melding(text=long))
    assert len(brief) <= 80 and brief.endswith("…")
    assert long.startswith(brief[:-1]) and long[len(brief) - 1] == " "  # cut before a space
    assert brief_description(a_melding(subject="Tegel los", text=long)) == "Tegel los"
    assert brief_description(a_melding(text="Eerste regel\nTweede")) == "Eerste regel"
    assert len(brief_description(a_melding(text="x" * 200))) == 80  # one long word: cut inside it


async def test_an_incident_as_topdesk_validates_it(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk
) -> None:
    text = (
        "Er ligt een losliggende tegel op het voetpad voor nummer 12 <script>alert(1)</script> & "
        "iemand is er al over gestruikeld, dat is de tweede keer deze maand dat dit gebeurt.\nGraag snel."
    )
    created = await post(client, {**TILE, "text": text})
    await run_worker(topdesk_settings(settings, topdesk))
    assert topdesk.refused == []
    [incident] = topdesk.by_reference(created["reference"])
    assert incident["externalNumber"] == created["reference"]
    assert len(incident["briefDescription"]) <= 80 and incident["briefDescription"].endswith("…")
    assert "&lt;script&gt;" in incident["request"] and "<script>" not in incident["request"]
    assert "<br>Graag snel." in incident["request"] and "Budastraat 12" in incident["request"]
    # an/example.be is no TOPdesk person: an unregistered caller on the configured branch
    assert incident["caller"] == {
        "dynamicName": "An Peeters",
        "branch": {"name": "Stad Kortrijk"},
        "email": "an@example.be",
        "phoneNumber": "+32 470 12 34 56",  # stored in E.164, sent as people read it
    }
    assert (incident["category"], incident["subcategory"]) == (
        {"name": "Openbaar domein"},
        {"name": "Wegen en voetpaden"},
    )
    assert (incident["operatorGroup"], incident["callType"]) == ({"name": "Wegen"}, {"name": "Melding"})
    assert incident["entryType"] == {"name": "Website"}
    got = await melding(client, created["id"])
    assert got["deliveries"][0]["case_id"] == incident["id"]


async def test_a_registered_reporter_is_the_caller_by_lookup(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk
) -> None:
    topdesk.persons.append({"id": "p-1", "email": "an@example.be"})
    created = await post(client)
    await run_worker(topdesk_settings(settings, topdesk))
    [incident] = topdesk.by_reference(created["reference"])
    assert incident["caller"] == {"email": "an@example.be", "registered": True}


async def test_an_unknown_category_is_dead_with_topdesks_message(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk, tmp_path: Path
) -> None:
    wrong = with_file(
        topdesk_settings(settings, topdesk),
        tmp_path,
        ('subcategory = "Wegen en voetpaden"', 'subcategory = "Wegen"'),
    )
    created = await post(client)
    await run_worker(wrong)
    got = await melding(client, created["id"])
    assert got["stage"] == "dead"
    assert "HTTP 400: subcategory with name 'Wegen' not found" in got["deliveries"][0]["last_error"]
    assert topdesk.incidents == {}


async def test_the_stand_in_checks_a_closing_as_topdesk_does(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk
) -> None:
    created = await post(client)
    await run_worker(topdesk_settings(settings, topdesk))
    [incident] = topdesk.by_reference(created["reference"])
    url = f"{topdesk.url}/tas/api/incidents/id/{incident['id']}"
    async with aiohttp.ClientSession(
        headers={"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
    ) as session:
        for body, message in (
            ({"action": "x", "closed": "true"}, "closed: expected a boolean"),
            ({"action": "x", "closed": True, "closureCode": {"name": "Weg"}}, "closureCode with name"),
            ({"action": "x", "closed": True, "status": "secondLine"}, "Unknown field 'status'"),
        ):
            async with session.patch(url, json=body) as answer:
                assert answer.status == 400 and message in (await answer.json())[0]["message"]
        assert not incident["closed"] and incident["closedDate"] is None  # nothing changed
        closing = {"action": "dicht", "closed": True, "closureCode": {"name": "Dubbele melding"}}
        async with session.patch(url, json=closing) as answer:
            assert answer.status == 200
    assert incident["closed"] and incident["completed"] and incident["closedDate"]
    assert incident["closureCode"]["name"] == "Dubbele melding"


async def test_refused_credentials_pause_delivery_without_spending_its_budget(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = topdesk_settings(settings, topdesk).model_copy(update={"topdesk_app_password": "old"})
    created = await post(client)
    async with worker_ctx(wrong) as ctx:
        await jobs.process(ctx, created["id"])
        [row] = await store_of(client).read(lambda conn: conn.execute(select(deliveries)).all())
        with caplog.at_level(logging.ERROR, logger="workers"), pytest.raises(Retry):
            await jobs.deliver(ctx, row.id)
    [row] = await store_of(client).read(lambda conn: conn.execute(select(deliveries)).all())
    assert (row.state, row.first_failed_at) == ("retrying", None)  # paused: never dead, no budget spent
    assert "GATEWAY_TOPDESK_USER / GATEWAY_TOPDESK_APP_PASSWORD" in row.last_error and "401" in row.last_error
    assert any("delivery paused" in r.getMessage() for r in caplog.records)
    assert (await melding(client, created["id"]))["stage"] == "routed"
    [paused] = await store_of(client).read(attempts.of_melding, created["id"])  # logged as a try
    assert (paused.outcome, paused.http_status) == ("transient", 401) and "401" in (paused.error or "")


STREETS = ("Budastraat", "Loofstraat", "Doorniksestraat", "Leiestraat", "Grote Markt")


async def deliver_all(client: TestClient[Any, Any], settings: Settings, n: int) -> list[dict[str, Any]]:
    """`n` meldingen of different problems (different streets: no duplicates), delivered."""
    created = [
        await post(
            client,
            {**TILE, "location": {"street": STREETS[i], "house_number": "3", "postcode": "8500"}},
        )
        for i in range(n)
    ]
    await run_worker(settings)
    return created


async def poll(settings: Settings) -> str:
    async with worker_ctx(settings) as ctx:
        return await case_status.poll_case_status(ctx)


async def test_the_poller_pages_and_resumes_from_its_cursor(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk, tmp_path: Path
) -> None:
    small = with_file(topdesk_settings(settings, topdesk), tmp_path, ("page_size = 100", "page_size = 2"))
    created = await deliver_all(client, small, 5)
    for c in created:
        topdesk.set_status(c["reference"], "In behandeling")
    assert await poll(small) == "5 applied of 5 read"
    pages = [p for p in topdesk.requests if p == ("GET", "/tas/api/incidents")]
    assert len(pages) >= 3  # 2 + 2 + 1: 206, 206, 200
    for c in created:
        assert (await melding(client, c["id"]))["status"] == "in_behandeling"
    cursor = await store_of(client).read(cursors.get, "topdesk")
    last = topdesk.by_reference(created[-1]["reference"])[0]
    assert cursor == f"{last['modificationDate']}|{last['id']}"  # the newest read, and which
    assert await poll(small) == "0 applied of 0 read"  # resumes after what it read
    topdesk.set_status(created[2]["reference"], "Afgemeld", closed=True)
    assert await poll(small) == "1 applied of 1 read"
    assert (await melding(client, created[2]["id"]))["status"] == "behandeld"


async def test_one_poller_at_a_time_and_bad_credentials_stop_it_loudly(
    client: TestClient[Any, Any],
    settings: Settings,
    topdesk: FakeTopdesk,
    redis_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    on = topdesk_settings(settings, topdesk)
    [created] = await deliver_all(client, on, 1)
    topdesk.set_status(created["reference"], "In behandeling")
    await redis_client.set(case_status_poll_lock(on.queue_name), "another-worker", px=60_000)
    assert await poll(on) == "another worker is polling"
    assert (await melding(client, created["id"]))["status"] == "geregistreerd"
    await redis_client.delete(case_status_poll_lock(on.queue_name))
    wrong = on.model_copy(update={"topdesk_app_password": "old"})
    with caplog.at_level(logging.ERROR, logger="workers"):
        assert (await poll(wrong)).startswith("failed")
    assert any("GATEWAY_TOPDESK_APP_PASSWORD" in r.getMessage() for r in caplog.records)
    assert await store_of(client).read(cursors.get, "topdesk") is None  # nothing read, nothing skipped
    assert await poll(on) == "1 applied of 1 read"
    assert not await redis_client.exists(case_status_poll_lock(on.queue_name))  # released


def mails_to(handler: RelayHandler, address: str) -> list[Any]:
    found = [message_from_bytes(e.original_content) for e in handler.messages if e.rcpt_tos == [address]]
    return found


async def test_a_melding_walks_to_behandeld_driven_by_the_poller(
    client: TestClient[Any, Any],
    settings: Settings,
    topdesk: FakeTopdesk,
    smtp_relay: tuple[str, RelayHandler],
) -> None:
    """Geregistreerd -> In behandeling -> Gepland -> Behandeld, each step set in TOPdesk and read
    back by the poller: a history entry and an e-mail per step, for the reporter and for the
    reporter of the same problem (a duplicate, one incident with an extra reporter's action)."""
    relay, handler = smtp_relay
    on = topdesk_settings(settings, topdesk).model_copy(update={"smtp_relay": relay})
    first = await post(client, LAMP_TEXT)
    await run_worker(on)
    second = await post(client, LAMP_PIN)  # the same lamp: an extra reporter on the same incident
    await run_worker(on)
    [incident] = topdesk.by_reference(first["reference"])
    assert topdesk.by_reference(second["reference"]) == []
    assert incident["operatorGroup"] == {"name": "Openbare verlichting"}
    steps = [
        ("In behandeling", {}, "in_behandeling", "In behandeling", None),
        (
            "Gepland",
            {"target_date": date(2026, 12, 9), "action": "Herstelling gepland."},
            "gepland",
            "Gepland",
            "09/12/2026",
        ),
        (
            "Afgemeld",
            {"closed": True, "action": "De lamp brandt weer."},
            "behandeld",
            "Behandeld",
            "brandt weer",
        ),
    ]
    for name, how, status, label, in_body in steps:
        topdesk.set_status(first["reference"], name, **how)
        assert await poll(on) == "1 applied of 1 read"
        await run_worker(on)  # the notify jobs
        for reporter, created in (("an@example.be", first), ("bert@example.be", second)):
            entry = (await melding(client, created["id"]))["status_history"][-1]
            assert (entry["status"], entry["source"]) == (status, "case_system")
            mail = mails_to(handler, reporter)[-1]
            assert created["reference"] in mail["Subject"] and label in mail["Subject"]
            if in_body:
                assert in_body in mail.get_payload(decode=True).decode()
    walked = ["ontvangen", "geregistreerd", "in_behandeling", "gepland", "behandeld"]
    for created in (first, second):
        history = (await melding(client, created["id"]))["status_history"]
        assert [h["status"] for h in history] == walked
        assert (history[3]["planned_date"], history[3]["note"]) == ("2026-12-09", "Herstelling gepland.")
        assert history[4]["note"] == "De lamp brandt weer."
    decisions = await store_of(client).read(
        lambda conn: conn.execute(
            select(notifications.c.melding_id, notifications.c.channel, notifications.c.state)
        ).all()
    )
    # one e-mail per step each reporter sees: geregistreerd, in behandeling, gepland, behandeld
    for created in (first, second):
        assert [(d.channel, d.state) for d in decisions if d.melding_id == created["id"]] == [
            ("email", "sent")
        ] * 4
    assert len(mails_to(handler, "an@example.be")) == len(mails_to(handler, "bert@example.be")) == 4
    assert await poll(on) == "0 applied of 0 read"  # polled again: nothing changes, nothing is sent
    assert len(handler.messages) == 8


async def test_a_reply_to_a_question_is_an_action_and_not_undone_by_the_next_poll(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk
) -> None:
    on = topdesk_settings(settings, topdesk)
    created = await post(client)
    await run_worker(on)
    topdesk.set_status(created["reference"], "Wachten op melder", action="Welk huisnummer precies?")
    assert await poll(on) == "1 applied of 1 read"
    got = await melding(client, created["id"])
    assert (got["status"], got["status_history"][-1]["note"]) == (
        "wachten_op_antwoord",
        "Welk huisnummer precies?",
    )
    await add_followup(client, created["id"], "SM-answer", "Nummer 12")  # the reporter answers
    await run_worker(on)
    [incident] = topdesk.by_reference(created["reference"])
    [answer] = [a for a in topdesk.actions[incident["id"]] if a["invisibleForCaller"]]
    assert "Nummer 12" in answer["plainText"] and "Reactie van de melder" in answer["plainText"]
    assert (await melding(client, created["id"]))["status"] == "in_behandeling"
    # our action changed the incident, still "Wachten op melder" in TOPdesk: nothing to undo
    assert await poll(on) == "0 applied of 1 read"
    assert (await melding(client, created["id"]))["status"] == "in_behandeling"
    # the operator plans the repair without writing the citizen anything new: the question is not
    # repeated as the note of the next step
    topdesk.set_status(created["reference"], "Gepland", target_date=date(2026, 12, 10))
    assert await poll(on) == "1 applied of 1 read"
    last = (await melding(client, created["id"]))["status_history"][-1]
    assert (last["status"], last["planned_date"], last["note"]) == ("gepland", "2026-12-10", None)


async def test_statuses_passed_through_between_two_polls_are_not_seen_only_the_latest(
    client: TestClient[Any, Any], settings: Settings, topdesk: FakeTopdesk
) -> None:
    """TOPdesk's API keeps no history of processing statuses (README, "Only the latest status
    between two polls"): a poll applies the status the incident has, with the newest note."""
    on = topdesk_settings(settings, topdesk)
    [created] = await deliver_all(client, on, 1)
    topdesk.set_status(created["reference"], "In behandeling", action="De ploeg kijkt ernaar")
    topdesk.set_status(
        created["reference"], "Gepland", target_date=date(2026, 12, 14), action="Herstelling op 14 december"
    )
    assert await poll(on) == "1 applied of 1 read"
    history = (await melding(client, created["id"]))["status_history"]
    assert [h["status"] for h in history] == ["ontvangen", "geregistreerd", "gepland"]
    assert (history[-1]["note"], history[-1]["planned_date"]) == ("Herstelling op 14 december", "2026-12-14")
