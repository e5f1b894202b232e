"""The desk's melding page made complete: what it shows (text, photos, place on the street map,
routing and why, history with names, messages, deliveries and attempts, the reporter's other
meldingen) and what it changes (resend a dead delivery, another dienst, another status only as the
transition table allows, the dossier PDF); every action under the operator's name. Both stores,
real Redis, the worker, the case-system receiver and the SMTP relay of conftest."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from gateway.appkeys import REDIS
from gateway.config import Settings
from gateway.dossier import who
from gateway.http.app import create_app
from gateway.intake import apply_status
from gateway.melding import TRANSITIONS, Stage, Status, StatusUpdate
from gateway.store import desk_actions
from gateway.store.schema import meldingen
from gateway.texts import dienst_name
from tests.support.api import melding, post, store_of
from tests.support.data import LAMP_PIN, LAMP_TEXT, PNG, TILE
from tests.support.desk import csrf_of
from tests.support.http import Receiver, RelayHandler
from tests.support.worker import run_worker

OPTION = re.compile(r'<select id="new-status" name="status" required>(.*?)</select>', re.S)


async def page_of(client: TestClient[Any, Any], melding_id: str) -> str:
    resp = await client.get(f"/desk/meldingen/{melding_id}")
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def act(client: TestClient[Any, Any], melding_id: str, action: str, **form: str) -> str:
    """POST one of the page's forms with its CSRF token; the page it leads back to."""
    token = await csrf_of(client, f"/desk/meldingen/{melding_id}")
    done = await client.post(
        f"/desk/meldingen/{melding_id}/{action}", data={"csrf": token, **form}, allow_redirects=False
    )
    assert done.status == 303, await done.text()
    assert done.headers["Location"] == f"/desk/meldingen/{melding_id}"
    return await page_of(client, melding_id)


async def test_the_page_shows_everything_about_the_melding(
    desk_client: TestClient[Any, Any], on: Settings
) -> None:
    form = FormData()
    form.add_field("melding", json.dumps(TILE), content_type="application/json")
    form.add_field("photo", PNG, filename="tegel.png", content_type="image/png")
    resp = await desk_client.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.text()
    made = await resp.json()
    # other places and problems: none of the three is a duplicate of another
    elsewhere = {"street": "Loofstraat", "house_number": "5", "postcode": "8500"}
    earlier = await post(
        desk_client, {**TILE, "text": "Graffiti op de gevel van de school.", "location": elsewhere}
    )
    stranger = {"name": "Els", "email": "els@example.be"}
    stranger = await post(
        desk_client, {"text": "Zwerfvuil aan de bushalte.", "reporter": stranger, "location": elsewhere}
    )
    await run_worker(on)
    got = await melding(desk_client, made["id"])
    assert got["duplicate_of"] is None
    page = await page_of(desk_client, made["id"])
    assert "losliggende tegel" in page and got["dienst"] is not None
    token = got["tracking_url"].rsplit("/", 1)[-1]
    assert f'src="/t/{token}/photos/1"' in page  # the tracking page's thumbnail route
    assert (await desk_client.get(f"/t/{token}/photos/1")).content_type == "image/jpeg"
    assert '<svg id="map"' in page and "Budastraat" in page  # the street map, no tile server
    assert 'id="why"' in page and ("regel:" in page or "model" in page)
    assert '<dd id="stage">in het dossiersysteem (delivered)</dd>' in page  # the stage in the desk's words
    assert "Geregistreerd" in page.split('id="history"', 1)[1]
    assert 'data-state="delivered"' in page  # its melding.created and the attempt that did it
    assert "an@example.be" in page  # the acknowledgement e-mail among the messages
    others = page.split('id="others"', 1)[1].split("</ul>", 1)[0]
    assert earlier["reference"] in others and stranger["reference"] not in others
    assert 'href="/desk/meldingen/{}/dossier.pdf"'.format(made["id"]) in page


async def test_a_dead_delivery_is_resent_and_delivered(
    desk_client: TestClient[Any, Any], on: Settings, receiver: Receiver
) -> None:
    receiver.responses = [400]  # refused for good: dead at once
    made = await post(desk_client, TILE)
    await run_worker(on)
    got = await melding(desk_client, made["id"])
    assert got["stage"] == "dead"
    page = await page_of(desk_client, made["id"])
    found = re.search(r'data-delivery="(\d+)" data-state="dead"', page)
    assert found and "Opnieuw versturen" in page
    page = await act(desk_client, made["id"], f"deliveries/{found.group(1)}/resend")
    assert "opnieuw verstuurd" in page
    await run_worker(on)
    got = await melding(desk_client, made["id"])
    assert (got["stage"], got["status"]) == ("delivered", "geregistreerd")
    assert [r["status"] for r in receiver.received if r["body"]["melding"]["id"] == made["id"]] == [400, 200]
    [resent] = await store_of(desk_client).read(desk_actions.of, made["id"])
    assert (resent.action, resent.source, resent.other_id) == (desk_actions.RESENT, "desk:an", found.group(1))
    page = await act(desk_client, made["id"], f"deliveries/{found.group(1)}/resend")  # not dead now
    assert "niet (meer) mislukt" in page


async def test_status_changes_follow_the_transition_table(
    desk_client: TestClient[Any, Any], on: Settings, smtp_relay: tuple[str, RelayHandler]
) -> None:
    made = await post(desk_client, TILE)
    await run_worker(on)
    page = await page_of(desk_client, made["id"])
    offered = set(re.findall(r'value="([a-z_]+)"', OPTION.search(page).group(1)))  # type: ignore[union-attr]
    assert offered == {s.value for s in TRANSITIONS[Status.GEREGISTREERD]} - {"geregistreerd"}
    page = await act(desk_client, made["id"], "status", status="behandeld", note="Tegel vastgezet.")
    got = await melding(desk_client, made["id"])
    last = got["status_history"][-1]
    assert (last["status"], last["source"], last["note"]) == ("behandeld", "desk:an", "Tegel vastgezet.")
    offered = set(re.findall(r'value="([a-z_]+)"', OPTION.search(page).group(1)))  # type: ignore[union-attr]
    assert offered == {"in_behandeling", "geregistreerd", "wachten_op_antwoord"}  # closed: reopen only
    page = await act(desk_client, made["id"], "status", status="gepland")  # a stale page's choice
    assert "Niet mogelijk: de status kan niet van Behandeld naar Gepland; niets veranderd." in page
    assert (await melding(desk_client, made["id"]))["status"] == "behandeld"
    token = await csrf_of(desk_client, f"/desk/meldingen/{made['id']}")
    bad = await desk_client.post(f"/desk/meldingen/{made['id']}/status", data={"csrf": token, "status": "x"})
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_status"
    await run_worker(on)
    assert any(e.rcpt_tos == ["an@example.be"] for e in smtp_relay[1].messages)  # the reporter heard


async def test_nothing_picked_changes_nothing_and_gepland_carries_its_date(
    desk_client: TestClient[Any, Any], on: Settings
) -> None:
    """The status and dienst lists start empty: sent unpicked, the melding stays as it was (no
    Beantwoord by default); Gepland stores its planned date, as a case system's callback does."""
    made = await post(desk_client, TILE)
    await run_worker(on)
    page = await page_of(desk_client, made["id"])
    assert re.search(r'name="status" required><option value="">Kies een status</option>', page)
    assert re.search(r'name="dienst" required><option value="">Kies een dienst</option>', page)
    page = await act(desk_client, made["id"], "status", status="", note="Zomaar.")
    assert "Kies eerst een status; niets veranderd." in page
    page = await act(desk_client, made["id"], "dienst", dienst="")
    assert "Kies eerst een dienst; niets veranderd." in page
    got = await melding(desk_client, made["id"])
    assert (got["status"], got["dienst"], len(got["status_history"])) == ("geregistreerd", "wegen", 2)
    page = await act(desk_client, made["id"], "status", status="gepland")
    assert "Gepland vraagt een geplande datum" in page
    page = await act(desk_client, made["id"], "status", status="in_behandeling", planned_date="2026-12-20")
    assert "enkel bij Gepland" in page
    assert (await melding(desk_client, made["id"]))["status"] == "geregistreerd"
    page = await act(desk_client, made["id"], "status", status="gepland", planned_date="2026-12-20")
    last = (await melding(desk_client, made["id"]))["status_history"][-1]
    assert (last["status"], last["planned_date"], last["source"]) == ("gepland", "2026-12-20", "desk:an")


async def test_the_deciding_rule_is_said_in_words_with_the_raw_rule_in_a_title(
    desk_client: TestClient[Any, Any], on: Settings
) -> None:
    made = await post(desk_client, TILE)
    await run_worker(on)
    routed_by = (await melding(desk_client, made["id"]))["routed_by"]
    assert routed_by == "rules:wegen:phrase:losliggend *tegel"
    page = await page_of(desk_client, made["id"])
    why = re.search(r'<dd id="why" title="([^"]*)">([^<]*)</dd>', page)
    assert why is not None and why.group(1) == routed_by
    assert why.group(2) == "regel: woordgroep &#39;losliggend … tegel&#39; (Publieke Ruimte)"
    dienst = re.search(r'<dd id="dienst">([^<]*)</dd>', page)
    assert dienst is not None and "rules:" not in dienst.group(1) and "woordgroep" in dienst.group(1)
    pattern = r"rules:dieren:pattern:\b(?:dood|dode|dead)\w*"
    assert who(pattern) == "regel: patroon 'dood' (Dierenwelzijn)"


async def test_another_dienst_is_recorded_and_the_case_system_told(
    desk_client: TestClient[Any, Any], on: Settings, receiver: Receiver
) -> None:
    made = await post(desk_client, TILE)
    await run_worker(on)
    before = (await melding(desk_client, made["id"]))["dienst"]
    new = "groen" if before != "groen" else "wegen"
    page = await act(desk_client, made["id"], "dienst", dienst=new)
    assert f"Dienst gewijzigd naar {dienst_name(new)}." in page  # the name, not the code
    got = await melding(desk_client, made["id"])
    assert (got["dienst"], got["routed_by"]) == (new, "desk:an")
    await run_worker(on)
    [told] = [r for r in receiver.received if r["ok"] and r["body"].get("update") == "dienst_changed"]
    assert told["body"]["dienst_changed"] == {"from": before, "to": new, "by": "desk:an"}
    assert told["body"]["melding"]["dienst"] == new
    [rerouted] = await store_of(desk_client).read(desk_actions.of, made["id"])
    assert (rerouted.action, rerouted.source, rerouted.note) == (
        desk_actions.REROUTED,
        "desk:an",
        f"{before} → {new}",
    )
    assert f"{before} → {new}" in page and "1777-balie: an" in page
    token = await csrf_of(desk_client, f"/desk/meldingen/{made['id']}")
    bad = await desk_client.post(
        f"/desk/meldingen/{made['id']}/dienst", data={"csrf": token, "dienst": "nope"}
    )
    assert bad.status == 422


async def test_a_dienst_chosen_on_the_page_routes_a_melding_out_of_triage(
    desk_client: TestClient[Any, Any], on: Settings, receiver: Receiver
) -> None:
    made = await post(desk_client, TILE)

    def to_triage(conn: Any) -> None:
        conn.execute(update(meldingen).where(meldingen.c.id == made["id"]).values(stage=Stage.TRIAGE.value))

    await store_of(desk_client).write(to_triage)
    page = await act(desk_client, made["id"], "dienst", dienst="groen")
    assert "Doorgestuurd naar Groendienst." in page
    await run_worker(on)  # the process job the page enqueued: compared, then delivered
    got = await melding(desk_client, made["id"])
    assert (got["dienst"], got["routed_by"], got["stage"]) == ("groen", "desk:an", "delivered")
    [created] = [r for r in receiver.created if r["body"]["melding"]["id"] == made["id"]]
    assert created["body"]["melding"]["dienst"] == "groen"


async def test_the_dossier_link_returns_a_pdf_for_operators_only(
    desk_client: TestClient[Any, Any], on: Settings
) -> None:
    made = await post(desk_client, TILE)
    await run_worker(on)
    resp = await desk_client.get(f"/desk/meldingen/{made['reference']}/dossier.pdf")
    assert resp.status == 200 and resp.content_type == "application/pdf"
    assert (await resp.read()).startswith(b"%PDF")
    async with TestClient(TestServer(create_app(on))) as stranger:
        resp = await stranger.get(f"/desk/meldingen/{made['id']}/dossier.pdf", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/desk/login")


async def test_a_status_change_of_a_master_through_the_page_reaches_its_duplicates(
    desk_client: TestClient[Any, Any], on: Settings
) -> None:
    """The page's status change is taken as a case-system status is: duplicates follow."""
    first = await post(desk_client, LAMP_TEXT)
    await run_worker(on)
    second = await post(desk_client, LAMP_PIN)
    await run_worker(on)
    assert (await melding(desk_client, second["id"]))["duplicate_of"] == first["id"]
    await act(desk_client, first["id"], "status", status="in_behandeling")
    assert (await melding(desk_client, second["id"]))["status"] == "in_behandeling"
    change = StatusUpdate(Status.BEHANDELD, source="case_system")
    await apply_status(
        store_of(desk_client), desk_client.app[REDIS], on.queue_name, melding_id=first["id"], change=change
    )
    assert (await melding(desk_client, second["id"]))["status"] == "behandeld"
