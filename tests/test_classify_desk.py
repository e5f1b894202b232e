"""The worker routes with rules + model; the desk routes what waits in triage. Both stores."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from gateway.appkeys import STORE
from gateway.classify import model as m
from gateway.classify import router
from gateway.config import Settings
from gateway.store import desk
from tests.support.api import api_get
from tests.support.api import desk_decision as decide
from tests.support.classify import small_model_dir
from tests.support.http import SECRET, Receiver
from tests.support.worker import run_worker

UNDECIDED = {"text": "Goeiemiddag, ik had een vraagje. Groetjes"}  # the rules decide nothing here
# Two sentences: the small test model (its temperature fitted on every dev set) gave the one-sentence
# report 0.549 once dev14 was added, under the AGREE_MIN a keyword needs; the rules' decision is the point.
TILE = {
    "text": "Er ligt een losliggende tegel op het voetpad voor nummer 12, mijn moeder is erover gestruikeld."
}


async def post(client: TestClient[Any, Any], body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/api/v1/meldingen", json=body)
    assert resp.status == 202
    return await resp.json()


async def get(client: TestClient[Any, Any], melding_id: str) -> dict[str, Any]:
    return await (await api_get(client, f"/api/v1/meldingen/{melding_id}")).json()


def with_model(settings: Settings, threshold: float) -> Settings:
    return settings.model_copy(update={"model_dir": small_model_dir(), "triage_threshold": threshold})


# --------------------------------------------------------------------------- the worker uses the model


async def test_the_model_routes_what_the_rules_leave_open_and_the_delivery_says_so(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    created = await post(client, UNDECIDED)
    await run_worker(with_model(settings, threshold=0.0))
    version = m.current_version(small_model_dir())
    [hit] = receiver.created
    sent = hit["body"]["melding"]
    assert sent["id"] == created["id"]
    assert sent["routed_by"] == f"model:{version}"
    assert sent["dienst"] == sent["alternatives"][0][0]
    assert sent["confidence"] == sent["alternatives"][0][1] > 0
    assert len(sent["alternatives"]) == 3
    assert (await get(client, created["id"]))["stage"] == "delivered"


async def test_sure_rules_still_decide_in_the_worker(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    await post(client, TILE)
    await run_worker(with_model(settings, threshold=0.7))
    [hit] = receiver.created
    sent = hit["body"]["melding"]
    assert sent["dienst"] == "wegen"
    assert sent["routed_by"].startswith("rules:wegen:")
    meta = m.load(small_model_dir()).meta
    # Rules route only with the model's agreement; their precision is the confidence when the model
    # is sure itself (AGREE_SURE), else the model's probability with half its doubt taken away, kept
    # below 0.9 (TWO_THINGS_CONFIDENCE, the router's rule since the seventh round).
    [(best, p)] = sent["alternatives"][:1]
    assert best == "wegen"
    expected = (
        meta["rules_agree_precision"]
        if p >= router.AGREE_SURE
        else min(round((1 + p) / 2, 4), router.TWO_THINGS_CONFIDENCE)
    )
    assert sent["confidence"] == expected


async def test_an_unsure_model_sends_the_melding_to_triage_with_its_top_three(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    created = await post(client, UNDECIDED)
    await run_worker(with_model(settings, threshold=1.0))
    got = await get(client, created["id"])
    assert got["stage"] == "triage"
    assert got["dienst"] is None
    assert got["routed_by"] == f"model:{m.current_version(small_model_dir())}"
    assert len(got["alternatives"]) == 3
    assert got["alternatives"][0][1] >= got["alternatives"][1][1] >= got["alternatives"][2][1]
    assert receiver.received == []


# --------------------------------------------------------------------------- the desk decides


async def test_a_desk_decision_routes_the_melding_and_it_is_delivered(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    created = await post(client, UNDECIDED)
    await run_worker(settings)  # no model in these settings: the rules leave it in triage
    assert (await get(client, created["id"]))["stage"] == "triage"

    resp = await decide(client, created["id"], {"dienst": "info"})
    assert resp.status == 200
    body = await resp.json()
    assert body == {
        "id": created["id"],
        "reference": created["reference"],
        "dienst": "info",
        "stage": "received",  # back to the worker, which compares it with the open meldingen first
        "changed": True,
    }
    got = await get(client, created["id"])
    assert (got["dienst"], got["routed_by"], got["confidence"], got["stage"]) == (
        "info",
        "desk",
        1.0,
        "received",
    )

    await run_worker(settings)  # the process job the desk enqueued hands it to delivery
    [hit] = receiver.created
    assert hit["body"]["melding"]["dienst"] == "info"
    assert hit["body"]["melding"]["routed_by"] == "desk"
    assert (await get(client, created["id"]))["stage"] == "delivered"

    # The desk's decision is a training example for the next `gateway train`.
    store = client.server.app[STORE]
    assert await store.read(desk.decisions) == [(None, UNDECIDED["text"], "info")]

    # A repeat changes nothing; another dienst now is refused.
    again = await decide(client, created["id"], {"dienst": "info"})
    assert again.status == 200 and (await again.json())["changed"] is False
    other = await decide(client, created["id"], {"dienst": "wegen"})
    assert other.status == 409
    assert (await other.json())["error"]["code"] == "not_in_triage"
    assert len(receiver.created) == 1


async def test_the_desk_finds_a_melding_by_reference_too(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    created = await post(client, UNDECIDED)
    await run_worker(settings)
    resp = await decide(client, created["reference"], {"dienst": "groen"})
    assert resp.status == 200
    assert (await get(client, created["id"]))["dienst"] == "groen"


async def test_desk_decision_refusals(client: TestClient[Any, Any], settings: Settings) -> None:
    waiting = await post(client, UNDECIDED)
    routed = await post(client, TILE)
    await run_worker(settings)
    assert (await get(client, routed["id"]))["stage"] == "delivered"

    async def error(key: str, body: Any, secret: str = SECRET) -> tuple[int, str]:
        resp = await decide(client, key, body, secret)
        return resp.status, (await resp.json())["error"]["code"]

    assert await error(waiting["id"], {"dienst": "info"}, secret="wrong") == (401, "invalid_signature")
    assert await error(waiting["id"], b"{nope") == (400, "malformed_json")
    assert await error(waiting["id"], {"dienst": "brandweer"}) == (422, "unknown_dienst")
    assert await error(waiting["id"], {"dienst": "info", "note": "x"}) == (422, "invalid_body")
    assert await error(waiting["id"], ["info"]) == (422, "invalid_body")
    assert await error("00000000-0000-0000-0000-000000000000", {"dienst": "info"}) == (404, "not_found")
    assert await error(routed["id"], {"dienst": "info"}) == (409, "not_in_triage")
    unsigned = await client.post(f"/api/v1/meldingen/{waiting['id']}/dienst", json={"dienst": "info"})
    assert unsigned.status == 401
    got = await get(client, waiting["id"])
    assert (got["stage"], got["dienst"]) == ("triage", None)  # nothing refused changed anything
