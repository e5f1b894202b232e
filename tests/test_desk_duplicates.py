"""The desk's duplicates: confirm a suggestion (one case, the extra reporter delivered and told of
the master's status), reject one (never offered again), split a link (its own case again); every
decision under the operator's name. Both stores, real Redis, the worker, the case-system receiver
and the SMTP relay of conftest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from gateway.appkeys import REDIS
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.intake import apply_status
from gateway.melding import Status, StatusUpdate
from gateway.store import desk_actions
from gateway.store.duplicates import save_suggestions, suggestions_of
from gateway.store.schema import duplicate_suggestions
from tests.support.api import melding, post, signed, store_of
from tests.support.data import LAMP_PIN, LAMP_TEXT
from tests.support.desk import add_operator, csrf_of, desk_settings, login
from tests.support.http import Receiver, RelayHandler
from tests.support.topdesk import FakeTopdesk, topdesk_settings
from tests.support.worker import run_worker
from tests.test_topdesk import poll

# Two lamps 63 m apart: the worker is not sure, so the second gets its own case and a suggestion.
FIRST = {
    **LAMP_PIN,
    "reporter": {"name": "Cas", "email": "cas@example.be"},
    "location": {"lat": 50.82166, "lon": 3.27034},
}
SECOND = {**LAMP_PIN, "location": {"lat": 50.82166, "lon": 3.27124}}


async def suggested_pair(client: TestClient[Any, Any], on: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    first = await post(client, FIRST)
    await run_worker(on)
    second = await post(client, SECOND)
    await run_worker(on)
    got = await melding(client, second["id"])
    assert [s["id"] for s in got["duplicate_suggestions"]] == [first["id"]]
    assert got["duplicate_of"] is None and got["stage"] == "delivered"  # its own case meanwhile
    return first, second


def mails_to(handler: RelayHandler, address: str) -> int:
    return sum(1 for e in handler.messages if e.rcpt_tos == [address])


async def actions(client: TestClient[Any, Any], melding_id: str) -> list[desk_actions.DeskAction]:
    return await store_of(client).read(desk_actions.of, melding_id)


async def test_the_page_shows_each_pair_side_by_side_and_confirm_makes_one_case_with_two_reporters(
    desk_client: TestClient[Any, Any], on: Settings, receiver: Receiver, smtp_relay: tuple[str, RelayHandler]
) -> None:
    first, second = await suggested_pair(desk_client, on)
    store, redis = store_of(desk_client), desk_client.app[REDIS]
    # the case system took the first report on: the confirmed extra reporter must hear that
    change = StatusUpdate(Status.IN_BEHANDELING, source="case_system", note="Ploeg onderweg")
    await apply_status(store, redis, on.queue_name, melding_id=first["id"], change=change)
    await run_worker(on)
    mails_before = mails_to(smtp_relay[1], "bert@example.be")

    page = await (await desk_client.get("/desk/duplicates")).text()
    assert f'data-reference="{second["reference"]}"' in page
    assert first["reference"] in page and "63 m apart" in page and "Lamp kapot" in page
    assert "kaartpunt 50.82166, 3.27124" in page  # a pin without an address
    token = await csrf_of(desk_client, "/desk/duplicates")
    done = await desk_client.post(
        f"/desk/duplicates/{second['id']}/confirm",
        data={"csrf": token, "candidate": first["id"]},
        allow_redirects=False,
    )
    assert done.status == 303 and done.headers["Location"] == "/desk/duplicates"
    page = await (await desk_client.get("/desk/duplicates")).text()
    assert f"{second['reference']} gekoppeld aan {first['reference']}." in page
    assert f'data-reference="{second["reference"]}"' not in page  # decided: no longer offered

    await run_worker(on)  # the master's case gets the extra reporter, then the reporter hears
    updates = [r for r in receiver.received if r["ok"] and r["body"]["event"] == "melding.updated"]
    [update] = [u for u in updates if u["body"]["melding"]["id"] == first["id"]]
    added = update["body"]["reporter_added"]
    assert (added["id"], added["confirmed_by"]) == (second["id"], "desk:an")
    assert added["own_case_id"]  # the case it had on its own
    assert update["headers"]["Idempotency-Key"] == f"{first['id']}:melding.updated:reporter:{second['id']}"
    # ... and that own case is told to close: it is a duplicate of the first's case now
    [merged] = [u for u in updates if u["body"]["melding"]["id"] == second["id"]]
    assert merged["headers"]["Idempotency-Key"] == f"{second['id']}:melding.updated:merged:1"
    into = merged["body"]["merged_into"]
    assert (merged["body"]["update"], into["reference"], into["by"]) == (
        "merged",
        first["reference"],
        "desk:an",
    )
    assert into["own_case_id"] == added["own_case_id"] and into["case_id"]
    # the webhook's contract for it, unchanged: the event's fields as desk_duplicates wrote them
    assert set(merged["body"]) == {"event", "melding", "update", "merged_into", "followup"}
    assert set(into) == {"id", "reference", "case_id", "own_case_id", "by"}
    assert first["reference"] in merged["body"]["followup"]["text"]
    dup = await melding(desk_client, second["id"])
    assert dup["duplicate_of"] == first["id"] and "bevestigd door desk:an" in dup["duplicate_reason"]
    last = dup["status_history"][-1]
    assert (last["status"], last["source"]) == ("in_behandeling", "desk:an")
    assert first["reference"] in last["note"]
    assert mails_to(smtp_relay[1], "bert@example.be") == mails_before + 1
    [confirmed] = await actions(desk_client, second["id"])
    assert (confirmed.action, confirmed.source, confirmed.other_id) == (
        desk_actions.CONFIRMED,
        "desk:an",
        first["id"],
    )
    # its own case closing says nothing to its reporter: the master's case decides now
    raw, headers = signed({"status": "behandeld"})
    closed = await desk_client.post(
        f"/api/v1/meldingen/{second['reference']}/status", data=raw, headers=headers
    )
    assert closed.status == 200
    assert await closed.json() == {
        "reference": second["reference"],
        "status": "in_behandeling",
        "changed": False,
    }
    assert (await melding(desk_client, second["id"]))["status"] == "in_behandeling"
    # later statuses of the master pass on to it, as for an automatic duplicate
    done_change = StatusUpdate(Status.BEHANDELD, source="case_system", note="Lamp vervangen")
    await apply_status(store, redis, on.queue_name, melding_id=first["id"], change=done_change)
    assert (await melding(desk_client, second["id"]))["status"] == "behandeld"
    # split again: its own case, told to close, is handed back (no new case)
    token = await csrf_of(desk_client, f"/desk/meldingen/{second['id']}")
    await desk_client.post(f"/desk/meldingen/{second['id']}/split", data={"csrf": token})
    await run_worker(on)
    [back] = [r for r in receiver.received if r["ok"] and r["body"].get("update") == "split"]
    assert back["headers"]["Idempotency-Key"] == f"{second['id']}:melding.updated:split:1"
    assert back["body"]["split_from"] == {
        "id": first["id"],
        "reference": first["reference"],
        "own_case_id": into["own_case_id"],
        "by": "desk:an",
    }
    assert "geen duplicaat" in back["body"]["followup"]["text"]
    assert [r["body"]["melding"]["id"] for r in receiver.created].count(second["id"]) == 1


async def test_reject_removes_the_suggestion_and_it_is_never_offered_again(
    desk_client: TestClient[Any, Any], on: Settings, receiver: Receiver
) -> None:
    first, second = await suggested_pair(desk_client, on)
    token = await csrf_of(desk_client, "/desk/duplicates")
    done = await desk_client.post(
        f"/desk/duplicates/{second['id']}/reject",
        data={"csrf": token, "candidate": first["id"]},
        allow_redirects=False,
    )
    assert done.status == 303
    page = await (await desk_client.get("/desk/duplicates")).text()
    assert "niet meer voorgesteld" in page and f'data-reference="{second["reference"]}"' not in page
    store = store_of(desk_client)
    assert await store.read(suggestions_of, second["id"]) == []
    # the worker judging it again (routed again) does not offer the same pair
    await store.write(save_suggestions, second["id"], [(first["id"], 0.5, "63 m apart")])
    assert await store.read(suggestions_of, second["id"]) == []
    [rejected] = await actions(desk_client, second["id"])
    assert (rejected.action, rejected.source, rejected.other_id) == (
        desk_actions.REJECTED,
        "desk:an",
        first["id"],
    )
    assert (await melding(desk_client, second["id"]))["duplicate_of"] is None
    assert not [r for r in receiver.received if r["body"]["event"] == "melding.updated"]


async def test_confirm_without_the_token_or_candidate_is_refused(
    desk_client: TestClient[Any, Any], on: Settings
) -> None:
    first, second = await suggested_pair(desk_client, on)
    url = f"/desk/duplicates/{second['id']}/confirm"
    no_token = await desk_client.post(url, data={"candidate": first["id"]}, allow_redirects=False)
    assert no_token.status == 403
    token = await csrf_of(desk_client, "/desk/duplicates")
    no_candidate = await desk_client.post(url, data={"csrf": token}, allow_redirects=False)
    assert no_candidate.status == 422 and (await no_candidate.json())["error"]["code"] == "invalid_candidate"
    stranger = await desk_client.post(
        url, data={"csrf": token, "candidate": second["id"]}, allow_redirects=False
    )
    assert stranger.status == 303  # no such suggestion: nothing changed
    assert (await melding(desk_client, second["id"]))["duplicate_of"] is None


async def test_an_automatic_link_is_split_into_its_own_case(
    desk_client: TestClient[Any, Any], on: Settings, receiver: Receiver
) -> None:
    first = await post(desk_client, LAMP_TEXT)
    await run_worker(on)
    second = await post(desk_client, LAMP_PIN)  # the same lamp: linked by the worker
    await run_worker(on)
    assert (await melding(desk_client, second["id"]))["duplicate_of"] == first["id"]
    page = await (await desk_client.get(f"/desk/meldingen/{second['id']}")).text()
    assert f'href="/desk/meldingen/{first["id"]}"' in page and "Loskoppelen" in page
    master_page = await (await desk_client.get(f"/desk/meldingen/{first['id']}")).text()
    assert f'href="/desk/meldingen/{second["id"]}"' in master_page  # its extra reporter

    token = await csrf_of(desk_client, f"/desk/meldingen/{second['id']}")
    done = await desk_client.post(
        f"/desk/meldingen/{second['id']}/split", data={"csrf": token}, allow_redirects=False
    )
    assert done.status == 303 and done.headers["Location"] == f"/desk/meldingen/{second['id']}"
    await run_worker(on)
    split = await melding(desk_client, second["id"])
    assert split["duplicate_of"] is None and split["stage"] == "delivered"
    assert second["id"] in [r["body"]["melding"]["id"] for r in receiver.created]  # a case of its own
    [removed] = [r for r in receiver.received if r["ok"] and r["body"].get("update") == "reporter_removed"]
    assert not [r for r in receiver.received if r["body"].get("update") == "split"]  # no own case to reopen
    assert removed["body"]["melding"]["id"] == first["id"]
    assert removed["body"]["reporter_removed"] == {
        "id": second["id"],
        "reference": second["reference"],
        "by": "desk:an",
    }
    [action] = await actions(desk_client, second["id"])
    assert (action.action, action.source, action.other_id) == (desk_actions.SPLIT, "desk:an", first["id"])
    page = await (await desk_client.get(f"/desk/meldingen/{second['id']}")).text()
    assert "Losgekoppeld van" in page and "1777-balie: an" in page
    # the master's later statuses no longer pass to it
    change = StatusUpdate(Status.BEHANDELD, source="case_system")
    await apply_status(
        store_of(desk_client), desk_client.app[REDIS], on.queue_name, melding_id=first["id"], change=change
    )
    assert (await melding(desk_client, second["id"]))["status"] != "behandeld"
    again = await desk_client.post(
        f"/desk/meldingen/{second['id']}/split", data={"csrf": token}, allow_redirects=False
    )
    assert again.status == 303 and len(await actions(desk_client, second["id"])) == 1  # not linked: nothing


async def test_the_page_shows_fifty_pairs_the_newest_first_and_pages_on(
    desk_client: TestClient[Any, Any],
) -> None:
    ids = [(await post(desk_client, {**LAMP_TEXT, "text": f"Lamp {n} kapot"}))["id"] for n in range(8)]
    ordered = [(a, b) for a in ids for b in ids if a != b][:51]
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def seed(conn: Any) -> None:
        rows = [
            {
                "melding_id": a,
                "candidate_id": b,
                "score": 0.6,
                "reason": "63 m apart",
                "created_at": start + timedelta(minutes=n),
            }
            for n, (a, b) in enumerate(ordered)
        ]
        conn.execute(duplicate_suggestions.insert(), rows)

    await store_of(desk_client).write(seed)
    first = await (await desk_client.get("/desk/duplicates")).text()
    assert "Mogelijke duplicaten (51)" in first and first.count('<section class="item pair"') == 50
    assert 'href="/desk/duplicates?page=2" rel="next"' in first and 'rel="prev"' not in first
    second = await (await desk_client.get("/desk/duplicates?page=2")).text()
    assert second.count('<section class="item pair"') == 1  # the oldest suggestion, on its own
    oldest = second.split('<section class="item pair"')[1].split("</section>")[0]
    assert (
        f'name="candidate" value="{ordered[0][1]}"' in oldest
        and f"/desk/duplicates/{ordered[0][0]}/confirm" in oldest
    )
    assert 'href="/desk/duplicates?page=1" rel="prev"' in second and 'rel="next"' not in second
    assert (await desk_client.get("/desk/duplicates?page=x")).status == 400


async def test_on_topdesk_the_own_incident_is_closed_as_a_duplicate_and_a_split_reopens_it(
    settings: Settings, smtp_relay: tuple[str, RelayHandler], topdesk: FakeTopdesk
) -> None:
    on = topdesk_settings(desk_settings(settings, smtp_relay=smtp_relay[0]), topdesk)
    async with TestClient(TestServer(create_app(on))) as client:
        await add_operator(store_of(client), "an")
        await login(client, "an")
        first, second = await suggested_pair(client, on)
        token = await csrf_of(client, "/desk/duplicates")
        await client.post(
            f"/desk/duplicates/{second['id']}/confirm", data={"csrf": token, "candidate": first["id"]}
        )
        await run_worker(on)
        [master] = topdesk.by_reference(first["reference"])
        [own] = topdesk.by_reference(second["reference"])  # never a second incident for it
        assert any(second["reference"] in a["plainText"] for a in topdesk.actions[master["id"]])
        [told] = [a for a in topdesk.actions[own["id"]] if "duplicaat" in a["plainText"]]
        assert first["reference"] in told["plainText"] and "desk:an" in told["plainText"]
        assert "Bericht van de 1777-balie" in told["plainText"]  # not a reporter's reply
        assert own["closed"] and own["closedDate"] and own["closureCode"]["name"] == "Dubbele melding"
        assert not master["closed"] and master["closureCode"] is None
        before = (await melding(client, second["id"]))["status"]
        topdesk.set_status(second["reference"], "Afgesloten", closed=True)  # its operator closes it
        assert (await poll(on)).startswith("0 applied")
        assert (await melding(client, second["id"]))["status"] == before
        # the master's case decides its status now
        topdesk.set_status(first["reference"], "In behandeling")
        await poll(on)
        assert (await melding(client, second["id"]))["status"] == "in_behandeling"

        token = await csrf_of(client, f"/desk/meldingen/{second['id']}")
        await client.post(f"/desk/meldingen/{second['id']}/split", data={"csrf": token})
        await run_worker(on)
        assert topdesk.by_reference(second["reference"]) == [own]  # handed back, not a new one
        assert not own["closed"] and own["closedDate"] is None and own["closureCode"] is None
        [why] = [a for a in topdesk.actions[own["id"]] if "losgekoppeld" in a["plainText"]]
        assert first["reference"] in why["plainText"] and "geen duplicaat" in why["plainText"]
        assert not master["closed"]
        assert topdesk.refused == []
