"""Duplicates through the real pipeline: intake, arq worker, case system, status callbacks, e-mail.

Both store backends, real Redis, the webhook receiver and the SMTP relay of conftest.
"""

from __future__ import annotations

import email.policy
import json
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gateway.appkeys import STORE
from gateway.clock import now as gateway_now
from gateway.config import Settings
from gateway.store import meldingen
from gateway.store.duplicates import save_suggestions, suggestions_of
from gateway.store.retention import anonymise
from gateway.store.schema import deliveries
from tests.support.api import desk_decision, melding, post, signed
from tests.support.data import LAMP_PIN, LAMP_TEXT
from tests.support.http import Receiver, RelayHandler
from tests.support.worker import gateway_cli, run_worker, worker_ctx
from workers import jobs


def told(handler: RelayHandler, address: str, reference: str, status: str) -> bool:
    """Whether the relay got a status mail to `address` about `reference` saying `status`."""
    for envelope in handler.messages:
        subject = str(message_from_bytes(envelope.original_content)["Subject"])
        if envelope.rcpt_tos == [address] and reference in subject and status in subject:
            return True
    return False


async def test_a_duplicate_adds_a_reporter_to_one_case_and_its_reporter_hears_everything(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, smtp_relay: tuple[str, RelayHandler]
) -> None:
    relay, handler = smtp_relay
    with_relay = settings.model_copy(update={"smtp_relay": relay})
    first = await post(client, LAMP_TEXT)
    await run_worker(with_relay)
    second = await post(client, LAMP_PIN)  # same lamp, by web pin, the next report
    other = await post(client, {"text": "Graffiti op de gevel van Loofstraat 63", "location": {}})
    await run_worker(with_relay)

    # one case for the lamp (plus one for the graffiti), and the extra reporter added to it
    created = [r["body"]["melding"]["reference"] for r in receiver.created]
    assert sorted(created) == sorted([first["reference"], other["reference"]])
    [update] = [r for r in receiver.received if r["ok"] and r["body"]["event"] == "melding.updated"]
    assert update["signed"]
    assert update["body"]["melding"]["reference"] == first["reference"]
    added = update["body"]["reporter_added"]
    assert added["reference"] == second["reference"] and added["reporter"]["email"] == "bert@example.be"
    assert update["headers"]["Idempotency-Key"] == f"{first['id']}:melding.updated:reporter:{second['id']}"

    dup = await melding(client, second["id"])
    assert dup["duplicate_of"] == first["id"]
    assert dup["duplicate_score"] >= 0.6
    assert "m apart" in dup["duplicate_reason"] and "same verlichting.uit" in dup["duplicate_reason"]
    assert dup["located"]["source"] == "pin" and dup["located"]["confidence"] >= 0.9
    assert (dup["stage"], dup["status"]) == ("delivered", "geregistreerd")
    assert [h["status"] for h in dup["status_history"]] == ["ontvangen", "geregistreerd"]
    assert first["reference"] in dup["status_history"][-1]["note"]
    master = await melding(client, first["id"])
    assert master["duplicate_of"] is None
    assert (master["located"]["street"], master["located"]["house_number"]) == ("Loofstraat", "61")
    assert (await melding(client, other["id"]))["duplicate_of"] is None  # same street, other problem

    # both reporters were told their report is registered
    assert told(handler, "an@example.be", first["reference"], "Geregistreerd")
    assert told(handler, "bert@example.be", second["reference"], "Geregistreerd")

    # the case system plans the repair of the master: the duplicate follows, its reporter hears it
    raw, headers = signed({"status": "gepland", "planned_date": "2026-12-03", "note": "Lamp wordt vervangen"})
    resp = await client.post(f"/api/v1/meldingen/{first['reference']}/status", data=raw, headers=headers)
    assert resp.status == 200, await resp.text()
    await run_worker(with_relay)
    dup = await melding(client, second["id"])
    assert dup["status"] == "gepland"
    assert dup["status_history"][-1]["source"] == "case_system"
    assert dup["status_history"][-1]["planned_date"] == "2026-12-03"
    assert told(handler, "bert@example.be", second["reference"], "Gepland")
    assert told(handler, "an@example.be", first["reference"], "Gepland")
    # closed: a later report of the same lamp is a new problem
    raw, headers = signed({"status": "behandeld"})
    await client.post(f"/api/v1/meldingen/{first['reference']}/status", data=raw, headers=headers)
    await run_worker(with_relay)
    assert (await melding(client, second["id"]))["status"] == "behandeld"
    raw, headers = signed({"status": "in_behandeling", "note": "Lamp brandt opnieuw niet"})  # reopened
    await client.post(f"/api/v1/meldingen/{first['reference']}/status", data=raw, headers=headers)
    await run_worker(with_relay)
    assert (await melding(client, second["id"]))["status"] == "in_behandeling"
    assert told(handler, "bert@example.be", second["reference"], "In behandeling")
    raw, headers = signed({"status": "behandeld"})
    await client.post(f"/api/v1/meldingen/{first['reference']}/status", data=raw, headers=headers)
    await run_worker(with_relay)
    third = await post(client, {**LAMP_PIN, "reporter": {"email": "cas@example.be"}})
    await run_worker(with_relay)
    assert (await melding(client, third["id"]))["duplicate_of"] is None


async def test_the_extra_reporter_waits_for_the_masters_case(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    receiver.responses = [503]  # the first delivery fails once
    a = await post(client, LAMP_TEXT)
    b = await post(client, LAMP_PIN)  # both processed in one worker run, concurrently
    await run_worker(settings)
    ok = [r for r in receiver.received if r["ok"]]
    assert [r["body"]["event"] for r in ok] == ["melding.created", "melding.updated"]
    master_ref = ok[0]["body"]["melding"]["reference"]
    assert ok[1]["body"]["melding"]["reference"] == master_ref  # added to the case that exists
    got = {m["reference"]: m for m in [await melding(client, a["id"]), await melding(client, b["id"])]}
    [dup] = [m for m in got.values() if m["reference"] != master_ref]
    assert dup["duplicate_of"] == got[master_ref]["id"] and dup["status"] == "geregistreerd"


async def test_reprocessing_a_duplicate_adds_its_reporter_once_and_never_opens_a_case(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    first = await post(client, LAMP_TEXT)
    await run_worker(settings)
    second = await post(client, LAMP_PIN)
    async with worker_ctx(settings) as ctx:
        # the DuplicateFinder protocol's read-only look: what routing would link it to
        stored = await client.app[STORE].read(meldingen.get, second["id"])
        assert stored is not None
        match = await ctx["gateway"].duplicates.find(stored.model_copy(update={"dienst": "verlichting"}))
        assert match is not None and match.master_id == first["id"]
        assert await jobs.process(ctx, second["id"]) == "routed"
        assert await jobs.process(ctx, second["id"]) == "routed"  # a lost job run again by the sweep
    await run_worker(settings)
    query = select(deliveries.c.melding_id, deliveries.c.event, deliveries.c.state).order_by(deliveries.c.id)
    rows = await client.app[STORE].read(lambda conn: [tuple(r) for r in conn.execute(query)])
    assert rows == [
        (first["id"], "melding.created", "delivered"),
        (first["id"], "melding.updated", "delivered"),
    ]
    assert len(receiver.created) == 1


async def test_triage_meldingen_keep_their_location_but_are_not_compared(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    created = await post(client, {"text": "Goeiemiddag, ik had een vraagje over de Loofstraat 61. Groetjes"})
    await run_worker(settings)
    got = await melding(client, created["id"])
    assert got["stage"] == "triage" and got["duplicate_of"] is None
    assert got["located"]["source"] == "text" and got["located"]["street"] == "Loofstraat"
    assert got["located"]["house_number"] == "61" and 0 < got["located"]["confidence"] <= 1
    nowhere = await post(client, {"text": "De lamp voor mijn deur is al een week kapot"})
    await run_worker(settings)
    located = (await melding(client, nowhere["id"]))["located"]
    assert located["source"] == "none" and "no street" in located["detail"]


# no keyword of any dienst: the rules leave it in triage, where it is not compared (no dienst)
DARK = {
    "text": "Het is al een week pikdonker voor onze deur",
    "reporter": {"name": "Cis Claes", "email": "cis@example.be"},
    "location": LAMP_TEXT["location"],
}


async def desk_routes(client: TestClient[Any, Any], melding_id: str, dienst: str) -> dict[str, Any]:
    resp = await desk_decision(client, melding_id, {"dienst": dienst})
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_a_melding_the_desk_routes_out_of_triage_is_compared_like_any_other(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    first = await post(client, LAMP_TEXT)
    dark = await post(client, DARK)
    await run_worker(settings)
    assert (await melding(client, dark["id"]))["stage"] == "triage"
    # back to the worker with the desk's dienst: it compares, links and delivers
    assert (await desk_routes(client, dark["id"], "verlichting"))["stage"] == "received"
    await run_worker(settings)
    got = await melding(client, dark["id"])
    assert (got["duplicate_of"], got["routed_by"], got["stage"]) == (first["id"], "desk", "delivered")
    assert "same verlichting.uit" in got["duplicate_reason"]
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [first["reference"]]
    [update] = [r for r in receiver.received if r["ok"] and r["body"]["event"] == "melding.updated"]
    assert update["body"]["reporter_added"]["reference"] == dark["reference"]


async def test_a_later_report_is_linked_to_a_melding_the_desk_routed(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    dark = await post(client, DARK)
    await run_worker(settings)
    await desk_routes(client, dark["id"], "verlichting")
    await run_worker(settings)  # its own case: nothing to link it to
    assert (await melding(client, dark["id"]))["duplicate_of"] is None
    pin = await post(client, LAMP_PIN)  # the same lamp, a map pin, the next report
    await run_worker(settings)
    assert (await melding(client, pin["id"]))["duplicate_of"] == dark["id"]
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [dark["reference"]]


async def test_a_hotspot_is_raised_for_the_desk(client: TestClient[Any, Any], settings: Settings) -> None:
    """Three different sewer problems in one street within half a year (riolering: 3 in 180 days)."""
    texts = [
        "Straatkolk verstopt in de Overleiestraat aan nr 17, het water loopt niet weg",
        "Sterke rioolgeur in de Overleiestraat rond nummer 43",
        "Putdeksel rammelt bij elke auto, Overleiestraat 61",
    ]
    refs = [(await post(client, {"text": t}))["reference"] for t in texts]
    await run_worker(settings)
    assert gateway_cli(settings, "hotspots").stdout.strip().endswith("1 hotspot in the last 60 days")
    listed = gateway_cli(settings, "hotspots", "--json")
    assert listed.returncode == 0, listed.stderr
    [hotspot] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert hotspot["dienst"] == "riolering" and hotspot["count"] == 3
    assert sorted(hotspot["references"]) == sorted(refs)


async def test_a_plausible_duplicate_is_a_suggestion_for_the_desk(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    """Two lamps 63 m apart: maybe one problem, maybe two. The second gets its own case and the
    first as a suggestion, stored by the worker and shown by the API; retention drops its reason."""
    first = await post(client, {**LAMP_PIN, "location": {"lat": 50.82166, "lon": 3.27034}})
    await run_worker(settings)
    second = await post(client, {**LAMP_PIN, "location": {"lat": 50.82166, "lon": 3.27124}})
    await run_worker(settings)
    got = await melding(client, second["id"])
    assert got["duplicate_of"] is None and got["dienst"] == "verlichting"
    [suggestion] = got["duplicate_suggestions"]
    assert (suggestion["id"], suggestion["reference"]) == (first["id"], first["reference"])
    assert 0.45 <= suggestion["score"] < 0.6 and "63 m apart" in suggestion["reason"]
    assert sorted(r["body"]["melding"]["reference"] for r in receiver.created) == sorted(
        [first["reference"], second["reference"]]
    )  # not decided: each its own case until the desk links them
    assert (await melding(client, first["id"]))["duplicate_suggestions"] == []

    store = client.app[STORE]
    await store.write(lambda conn: anonymise(conn, [second["id"]], gateway_now(), tmp_path, dry_run=False))
    [kept] = (await melding(client, second["id"]))["duplicate_suggestions"]
    assert kept["id"] == first["id"] and kept["score"] == suggestion["score"] and kept["reason"] is None


async def test_suggestions_are_replaced_when_judged_again_and_found_ones_always(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    """The worker routing a melding it read as just received skips the DELETE of its (no)
    earlier suggestions when it found none; what it finds, and any judging again, replaces them."""
    first, second, third = [(await post(client, {**LAMP_PIN, "text": f"lamp {n}"}))["id"] for n in range(3)]
    store = client.app[STORE]

    async def suggested() -> list[str]:
        return [s["id"] for s in await store.read(suggestions_of, third)]

    await store.write(save_suggestions, third, [(first, 0.5, "63 m apart")], judged_before=False)
    assert await suggested() == [first]
    await store.write(save_suggestions, third, [(second, 0.5, "60 m apart")], judged_before=False)
    assert await suggested() == [second]  # found ones replace what was there
    await store.write(save_suggestions, third, [], judged_before=False)
    assert await suggested() == [second]  # nothing found, never judged: nothing deleted
    await store.write(save_suggestions, third, [])
    assert await suggested() == []  # judged again: replaced by nothing


async def test_the_extra_reporter_reads_the_link_in_their_own_language_and_no_bookkeeping(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, smtp_relay: tuple[str, RelayHandler]
) -> None:
    relay, handler = smtp_relay
    with_relay = settings.model_copy(update={"smtp_relay": relay})
    first = await post(client, LAMP_TEXT)
    await run_worker(with_relay)
    second = await post(client, {**LAMP_PIN, "language": "fr"})
    await run_worker(with_relay)
    dup = await melding(client, second["id"])
    assert dup["duplicate_of"] == first["id"]
    assert first["reference"] in dup["status_history"][-1]["note"]  # the desk still reads the link

    [mail] = [
        message_from_bytes(e.original_content, policy=email.policy.default)
        for e in handler.messages
        if e.rcpt_tos == ["bert@example.be"]
    ]
    body = mail.get_content()  # type: ignore[attr-defined]
    assert "Enregistré" in body and "déjà été signalé" in body
    assert "Gekoppeld" not in body and first["reference"] not in body

    token = second["tracking_url"].rsplit("/", 1)[1]
    tracked = await (await client.get(f"/t/{token}.json")).json()
    assert tracked["notes"] == []  # the link's bookkeeping note is the desk's, not the reporter's
