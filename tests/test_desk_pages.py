"""The desk's pages at work: the triage queue and its route buttons, answering a melding and asking
its reporter, the waiting list; every action under the operator's name. Both stores, real Redis,
the worker, the case-system receiver and the SMTP relay of conftest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import urlparse

import pytest
import time_machine
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from gateway.config import Settings
from gateway.dossier import who
from gateway.http.desk_pages import views
from gateway.melding import Stage
from gateway.store import Store, desk
from gateway.store.operators import Role
from gateway.store.schema import meldingen
from tests.support.api import add_followup, melding, post, store_of
from tests.support.data import TILE
from tests.support.desk import add_operator, csrf_of, login
from tests.support.http import Receiver, RelayHandler
from tests.support.worker import run_worker

TOP3 = [["wegen", 0.46], ["nette_stad", 0.31], ["groen", 0.12]]


async def in_triage(store: Store, melding_id: str, received_at: datetime, alternatives: Any = TOP3) -> None:
    """What the worker leaves when the classifier is unsure (gateway.classify.router)."""

    def move(conn: Any) -> None:
        conn.execute(
            update(meldingen)
            .where(meldingen.c.id == melding_id)
            .values(
                stage=Stage.TRIAGE.value, received_at=received_at, alternatives=alternatives, confidence=0.46
            )
        )

    await store.write(move)


def mails_to(handler: RelayHandler, address: str) -> list[Message]:
    return [message_from_bytes(e.original_content) for e in handler.messages if e.rcpt_tos == [address]]


def body_of(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


# ------------------------------------------------------------------------------------------- triage


async def test_the_triage_queue_lists_the_oldest_first_with_the_top_three_and_pages(
    desk_client: TestClient[Any, Any],
) -> None:
    store = store_of(desk_client)
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    made = [await post(desk_client, {**TILE, "text": f"Vraag nummer {n}"}) for n in range(27)]
    for n, m in enumerate(made):  # received in the reverse order of posting
        await in_triage(store, m["id"], start + timedelta(minutes=len(made) - n))
    routed = await post(desk_client, {**TILE, "text": "Al doorgestuurd"})  # stage received: not listed
    page = await (await desk_client.get("/desk/triage")).text()
    assert "27 wachtend" in page
    listed = [ref for ref in (m["reference"] for m in reversed(made)) if f'data-reference="{ref}"' in page]
    assert len(listed) == 25
    positions = [page.index(f'data-reference="{ref}"') for ref in listed]
    assert positions == sorted(positions)  # the oldest (posted last) first
    assert routed["reference"] not in page and "Vraag nummer 0" not in page  # the newest two: page 2
    assert "Publieke Ruimte" in page and "46%" in page and "31%" in page and "12%" in page
    second = await (await desk_client.get("/desk/triage?page=2")).text()
    assert made[0]["reference"] in second and made[1]["reference"] in second
    assert made[2]["reference"] not in second
    assert (await desk_client.get("/desk/triage?page=x")).status == 400


async def test_a_route_button_routes_it_under_the_operators_name_enqueues_it_and_shows_the_next(
    desk_client: TestClient[Any, Any], on: Settings, receiver: Receiver
) -> None:
    store = store_of(desk_client)
    first, second = await post(desk_client), await post(desk_client, {**TILE, "text": "Een tweede vraag"})
    await in_triage(store, first["id"], datetime(2026, 11, 1, tzinfo=UTC))
    await in_triage(store, second["id"], datetime(2026, 11, 2, tzinfo=UTC))
    token = await csrf_of(desk_client)
    done = await desk_client.post(
        f"/desk/triage/{first['id']}/route",
        data={"csrf": token, "dienst": "nette_stad"},
        allow_redirects=False,
    )
    assert done.status == 303 and done.headers["Location"] == "/desk/triage"
    page = await (await desk_client.get("/desk/triage")).text()
    assert f"{first['reference']} doorgestuurd naar Nette Stad." in page  # said once, then the next one
    assert first["reference"] not in page.split("</p>", 2)[-1] and second["reference"] in page
    routed = await melding(desk_client, first["id"])
    assert (routed["stage"], routed["dienst"], routed["routed_by"]) == ("received", "nette_stad", "desk:an")
    assert who(routed["routed_by"]) == "1777-balie: an"  # as the dossier shows it
    await run_worker(on)  # the enqueued process job delivers it
    [created] = [r for r in receiver.created if r["body"]["melding"]["id"] == first["id"]]
    assert created["body"]["melding"]["dienst"] == "nette_stad"
    assert (await melding(desk_client, first["id"]))["stage"] == "delivered"
    # a training example for `gateway train`, as a decision of the JSON endpoint
    examples = await store.read(desk.decisions)
    assert [(text, dienst) for _, text, dienst in examples] == [(TILE["text"], "nette_stad")]


async def test_routing_what_is_no_longer_in_triage_changes_nothing_and_says_so(
    desk_client: TestClient[Any, Any],
) -> None:
    created = await post(desk_client)  # stage received
    token = await csrf_of(desk_client)
    form = {"csrf": token, "dienst": "groen"}
    done = await desk_client.post(f"/desk/triage/{created['id']}/route", data=form)
    assert "wacht niet meer in triage (nu: received); niets veranderd." in await done.text()
    assert (await melding(desk_client, created["id"]))["dienst"] is None
    unknown = await desk_client.post(
        f"/desk/triage/{created['id']}/route", data={**form, "dienst": "parking"}
    )
    assert unknown.status == 422 and (await unknown.json())["error"]["code"] == "unknown_dienst"
    missing = await desk_client.post("/desk/triage/nope/route", data=form)
    assert missing.status == 404


async def test_andere_dienst_left_unpicked_routes_nothing(desk_client: TestClient[Any, Any]) -> None:
    created = await post(desk_client)
    await in_triage(store_of(desk_client), created["id"], datetime(2026, 11, 1, tzinfo=UTC))
    page = await (await desk_client.get("/desk/triage")).text()
    assert 'name="dienst" required>\n<option value="">Kies een dienst</option>' in page  # no default
    form = {"csrf": await csrf_of(desk_client), "dienst": ""}
    done = await desk_client.post(f"/desk/triage/{created['id']}/route", data=form)
    assert "Kies eerst een dienst; niets veranderd." in await done.text()
    got = await melding(desk_client, created["id"])
    assert (got["stage"], got["dienst"]) == ("triage", None)


async def test_rules_only_triage_shows_no_percentage_that_is_no_probability(
    desk_client: TestClient[Any, Any],
) -> None:
    """No model yet: a melding left in triage has confidence 0.0 and the rules' shares of the
    evidence as alternatives; "Groendienst 100%" would read as a certainty."""
    created = await post(desk_client)
    store = store_of(desk_client)
    await in_triage(store, created["id"], datetime(2026, 11, 1, tzinfo=UTC), [["groen", 1.0]])

    def no_model(conn: Any) -> None:
        conn.execute(update(meldingen).where(meldingen.c.id == created["id"]).values(confidence=0.0))

    await store.write(no_model)
    for path in ("/desk/triage", f"/desk/meldingen/{created['id']}"):
        page = await (await desk_client.get(path)).text()
        assert "Groendienst" in page and "100%" not in page and "geen kans" in page, path


# -------------------------------------------------------------------------- answer, ask, waiting list


async def test_beantwoord_sends_the_answer_to_the_reporter_and_records_the_operator(
    desk_client: TestClient[Any, Any], on: Settings, smtp_relay: tuple[str, RelayHandler]
) -> None:
    store = store_of(desk_client)
    created = await post(desk_client)
    await in_triage(store, created["id"], datetime(2026, 11, 1, tzinfo=UTC))
    token = await csrf_of(desk_client, f"/desk/meldingen/{created['id']}")
    answer = "Het containerpark is open van 9 tot 17 uur <b>elke</b> werkdag."
    done = await desk_client.post(
        f"/desk/meldingen/{created['id']}/answer", data={"csrf": token, "text": answer}, allow_redirects=False
    )
    assert done.status == 303 and done.headers["Location"] == f"/desk/meldingen/{created['id']}"
    page = await (await desk_client.get(done.headers["Location"])).text()
    assert "Antwoord verstuurd." in page and "1777-balie: an" in page
    assert "&lt;b&gt;elke&lt;/b&gt;" in page  # escaped
    after = await melding(desk_client, created["id"])
    assert (after["status"], after["stage"]) == ("beantwoord", "answered")  # out of triage, never delivered
    last = after["status_history"][-1]
    assert (last["status"], last["source"], last["note"]) == ("beantwoord", "desk:an", answer)
    assert created["reference"] not in await (await desk_client.get("/desk/triage")).text()
    await run_worker(on)
    [mail] = mails_to(smtp_relay[1], "an@example.be")
    assert created["reference"] in str(mail["Subject"]) and answer in body_of(mail)
    # the tracking page shows the desk's answer, never the operator's name
    tracking_path = urlparse(created["tracking_url"]).path
    tracking = await (await desk_client.get(f"{tracking_path}.json")).json()
    assert [n["text"] for n in tracking["notes"]] == [answer]
    tracking_page = await (await desk_client.get(tracking_path)).text()
    assert "desk:an" not in tracking_page and "1777-balie: an" not in tracking_page


async def test_a_question_waits_for_the_reply_which_threads_back_and_the_list_says_how_long(
    desk_client: TestClient[Any, Any],
    on: Settings,
    smtp_relay: tuple[str, RelayHandler],
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = await post(desk_client)
    other = await post(desk_client, {**TILE, "text": "Nog een melding"})
    await run_worker(on)  # routed and delivered: geregistreerd
    token = await csrf_of(desk_client, f"/desk/meldingen/{created['id']}")
    question = "Aan welke kant van de straat ligt de tegel?"
    await desk_client.post(f"/desk/meldingen/{created['id']}/ask", data={"csrf": token, "text": question})
    clock.shift(timedelta(hours=3))
    assert (await login(desk_client, "an")).status == 303  # the session ended meanwhile
    token = await csrf_of(desk_client, f"/desk/meldingen/{other['id']}")
    second_question = {"csrf": token, "text": "Welk huisnummer?"}
    await desk_client.post(f"/desk/meldingen/{other['id']}/ask", data=second_question)
    asked = await melding(desk_client, created["id"])
    assert asked["status"] == "wachten_op_antwoord"
    assert (asked["status_history"][-1]["source"], asked["status_history"][-1]["note"]) == (
        "desk:an",
        question,
    )
    await run_worker(on)
    assert any(question in body_of(m) for m in mails_to(smtp_relay[1], "an@example.be"))

    waiting = await (await desk_client.get("/desk/waiting")).text()
    assert "Wachten op antwoord <small>(2)</small>" in waiting
    assert waiting.index(created["reference"]) < waiting.index(other["reference"])  # the longest first
    row = waiting.split(f'data-reference="{created["reference"]}"')[1].split("</tr>")[0]
    assert '<td class="age">3 u 0 min</td>' in row
    # a page at a time (one a page here): the longest waiting first, the next one on page 2
    monkeypatch.setattr(views, "WAITING_PAGE", 1)
    first = await (await desk_client.get("/desk/waiting")).text()
    assert created["reference"] in first and other["reference"] not in first
    assert 'href="/desk/waiting?page=2" rel="next"' in first
    second = await (await desk_client.get("/desk/waiting?page=2")).text()
    assert other["reference"] in second and created["reference"] not in second
    assert (await desk_client.get("/desk/waiting?page=x")).status == 400
    monkeypatch.undo()

    await add_followup(desk_client, created["id"], "SM-reply-1", "Aan de pare kant, bij nummer 12.")
    replied = await melding(desk_client, created["id"])
    assert replied["status"] == "in_behandeling"  # back to the desk, as a reply does today
    assert "Aan de pare kant" in await (await desk_client.get(f"/desk/meldingen/{created['id']}")).text()
    assert created["reference"] not in await (await desk_client.get("/desk/waiting")).text()


async def test_answer_and_question_need_a_text_and_a_csrf_token(desk_client: TestClient[Any, Any]) -> None:
    created = await post(desk_client)
    token = await csrf_of(desk_client, f"/desk/meldingen/{created['id']}")
    empty = await desk_client.post(
        f"/desk/meldingen/{created['id']}/answer", data={"csrf": token, "text": " "}
    )
    assert empty.status == 422 and (await empty.json())["error"]["field"] == "text"
    forged = await desk_client.post(f"/desk/meldingen/{created['id']}/ask", data={"text": "Welke kant?"})
    assert forged.status == 403
    assert (await melding(desk_client, created["id"]))["status"] == "ontvangen"


@pytest.mark.parametrize(
    "path",
    ["/desk/triage", "/desk/waiting", "/desk/duplicates", "/desk/search?text=lamp", "/desk/directory/log"],
)
async def test_every_list_refuses_a_page_that_is_no_number_and_takes_a_low_one_as_the_first(
    desk_client: TestClient[Any, Any], path: str
) -> None:
    await add_operator(store_of(desk_client), "ada", Role.ADMIN)  # the access log is for admins
    assert (await login(desk_client, "ada")).status == 303
    joiner = "&" if "?" in path else "?"
    refused = await desk_client.get(f"{path}{joiner}page=twee")
    assert refused.status == 400
    assert (await refused.json())["error"] == {
        "code": "invalid_page",
        "message": "page must be a whole number from 1",
        "field": "page",
    }
    first = await desk_client.get(f"{path}{joiner}page=-3")
    assert first.status == 200  # below 1 is the first page
