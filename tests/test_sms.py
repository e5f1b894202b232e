"""The SMS channel: Twilio's signed webhook, TwiML answers, retries, opt-outs and conversations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from gateway.channels.twilio.signature import signature_valid
from gateway.channels.twilio.sms import e164, keyword, twiml
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.melding import Channel, Status, StatusUpdate
from gateway.store import history, inbound
from gateway.store import meldingen as meldingen_store
from gateway.store import sms as sms_store
from tests.support.api import store_of
from tests.support.data import CORPORA
from tests.support.sms import OUR_NUMBER, PATH, REFERENCE, TOKEN, message, post

VECTORS = json.loads((CORPORA / "twilio-webhooks" / "signature-vectors.json").read_text())


# -- the validator itself, against the SDKs' published vectors ----------------------------------------


def test_validator_accepts_the_published_vectors() -> None:
    form = VECTORS["form"]
    validator = RequestValidator(VECTORS["auth_token"])
    assert validator.validate(form["url"], form["params"], form["signature"])
    for url, signature in form["with_explicit_port"].items():
        assert validator.validate(url, form["params"], signature)


def test_validator_refuses_forgeries() -> None:
    form = VECTORS["form"]
    validator = RequestValidator(VECTORS["auth_token"])
    assert not validator.validate(form["url"], {**form["params"], "Digits": "9999"}, form["signature"])
    assert not validator.validate(form["url"].replace("foo=1", "foo=2"), form["params"], form["signature"])
    assert not RequestValidator("54321").validate(form["url"], form["params"], form["signature"])


def _gateway_accepts(url: str, params: Any, signature: str, token: str = VECTORS["auth_token"]) -> bool:
    """The gateway's own check (`signature_valid`), with the vector's URL as public URL + path."""
    parts = urlsplit(url)
    public_url = f"{parts.scheme}://{parts.netloc}"
    settings = Settings(twilio_auth_token=token, public_url=public_url)
    return signature_valid(settings, url.removeprefix(public_url), params, signature)


def test_gateway_check_accepts_what_the_validator_accepts() -> None:
    """signature_valid stops at the first URL form that matches; it accepts the same vectors, the
    port given or dropped, and refuses the same forgeries."""
    form = VECTORS["form"]
    assert _gateway_accepts(form["url"], form["params"], form["signature"])
    for url, signature in form["with_explicit_port"].items():
        assert _gateway_accepts(url, form["params"], signature)
    # The port-less URL Twilio signed, the gateway configured with :443 (and the other way round).
    assert _gateway_accepts(form["url"].replace(".com/", ".com:443/"), form["params"], form["signature"])
    port_443 = form["with_explicit_port"]["https://mycompany.com:443/myapp.php?foo=1&bar=2"]
    assert _gateway_accepts(form["url"], form["params"], port_443)
    assert not _gateway_accepts(form["url"], {**form["params"], "Digits": "9999"}, form["signature"])
    assert not _gateway_accepts(form["url"].replace("foo=1", "foo=2"), form["params"], form["signature"])
    assert not _gateway_accepts(form["url"], form["params"], form["signature"], token="54321")
    for forged in ("", "é", "\udcff", form["signature"][:-1]):
        assert not _gateway_accepts(form["url"], form["params"], forged)


def test_numbers_and_keywords() -> None:
    assert e164("0470 12 34 56") == "+32470123456"
    assert e164("+32 (0)470/12.34.56") == "+32470123456"
    assert e164("+14158675309") == "+14158675309"
    assert e164("Kortrijk") == "Kortrijk"  # an alphanumeric sender id stays what it is
    assert keyword(" stop ") == "STOP" and keyword("Afmelden.") == "AFMELDEN" and keyword("start") == "START"
    assert keyword("stop met dat lawaai in de straat") is None


# -- the webhook, through the real app ----------------------------------------------------------------


def sms_settings(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update={"twilio_auth_token": TOKEN, "twilio_number": OUR_NUMBER, **update})


@pytest.fixture
async def sms(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(sms_settings(settings)))) as c:
        yield c


async def test_signed_sms_becomes_a_melding_answered_with_twiml(sms: TestClient[Any, Any]) -> None:
    resp = await post(sms, message("SM001", "Er ligt een sluikstort naast de glasbak", "+32 470 12 34 56"))
    assert resp.status == 200
    assert resp.content_type == "text/xml"
    body = await resp.text()
    assert body.startswith("<?xml") and "<Response><Message>" in body
    reference = REFERENCE.search(body).group(0)  # type: ignore[union-attr]
    melding = await store_of(sms).read(meldingen_store.by_reference, reference)
    assert melding is not None
    assert melding.channel == Channel.SMS and melding.external_id == "SM001"
    assert melding.reporter.phone == "+32470123456"
    assert f"https://meldpunt.example/t/{melding.tracking_token}" in body
    assert "Bedankt voor uw melding" in body


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
async def test_missing_or_forged_signature_is_refused_and_nothing_stored(
    sms: TestClient[Any, Any], signature: str, caplog: pytest.LogCaptureFixture
) -> None:
    resp = await post(sms, message("SM002", "Lamp kapot in de Doorniksestraat"), signature=signature)
    assert resp.status == 403
    assert any("sms refused" in r.getMessage() for r in caplog.records)
    assert (await resp.json())["error"]["code"] == "invalid_signature"
    assert await store_of(sms).read(meldingen_store.list_meldingen) == []
    assert await store_of(sms).lookup(inbound.inbound_outcome, "sms", "SM002") is None


async def test_changed_parameters_invalidate_the_signature(sms: TestClient[Any, Any]) -> None:
    params = message("SM003", "Boom omgevallen")
    signature = RequestValidator(TOKEN).compute_signature("https://meldpunt.example" + PATH, params)
    resp = await post(sms, {**params, "Body": "Iets anders"}, signature=signature)
    assert resp.status == 403
    assert await store_of(sms).read(meldingen_store.list_meldingen) == []


async def test_behind_a_proxy_the_public_url_is_what_counts(sms: TestClient[Any, Any]) -> None:
    # The app is reached at http://127.0.0.1:<port>; Twilio signed https://meldpunt.example/...
    params = message("SM004", "Riool stinkt", "+32470000004")
    resp = await post(sms, params, path=PATH + "?site=kortrijk")
    assert resp.status == 200 and REFERENCE.search(await resp.text())
    # signed over the URL the app itself sees: not what Twilio would sign, refused
    seen = str(sms.make_url(PATH))
    resp = await post(sms, message("SM005", "Riool stinkt", "+32470000005"), signed_url=seen)
    assert resp.status == 403


async def test_a_retried_message_makes_one_melding_and_the_same_answer(sms: TestClient[Any, Any]) -> None:
    params = message("SM006", "Put in het fietspad aan de Ringlaan")
    first = await (await post(sms, params)).text()
    again = await post(sms, params)
    assert again.status == 200
    assert await again.text() == first
    assert len(await store_of(sms).read(meldingen_store.list_meldingen)) == 1


async def test_french_sms_gets_a_french_answer(sms: TestClient[Any, Any]) -> None:
    resp = await post(sms, message("SM007", "Bonjour, il y a des déchets dans la rue devant chez nous"))
    body = await resp.text()
    assert "Merci pour votre signalement" in body and REFERENCE.search(body)


async def test_stop_opts_out_and_start_opts_in_without_meldingen(sms: TestClient[Any, Any]) -> None:
    store = store_of(sms)
    number = "+32470000008"
    resp = await post(sms, message("SM008", "STOP", number))
    assert resp.status == 200
    assert REFERENCE.search(await resp.text()) is None and "<Message>" not in await resp.text()
    assert await store.lookup(sms_store.opted_out, number)
    assert await store.lookup(inbound.inbound_outcome, "sms", "SM008") == ("opt_out", None)
    assert await store.read(meldingen_store.list_meldingen) == []

    await post(sms, message("SM009", "start", number))
    assert not await store.lookup(sms_store.opted_out, number)
    await post(sms, message("SM010", "Uitschrijven", number))
    assert await store.lookup(sms_store.opted_out, number)
    await post(sms, message("SM011", "Aanmelden", number))
    assert not await store.lookup(sms_store.opted_out, number)
    assert await store.read(meldingen_store.list_meldingen) == []
    assert not await store.lookup(sms_store.opted_out, "+32470999999")  # never seen: not opted out


async def test_a_second_sms_within_the_window_is_a_followup(sms: TestClient[Any, Any]) -> None:
    store = store_of(sms)
    first = await (await post(sms, message("SM012", "Vuilniszakken niet opgehaald"))).text()
    reference = REFERENCE.search(first).group(0)  # type: ignore[union-attr]
    resp = await post(sms, message("SM013", "Het gaat om nummer 12"))
    body = await resp.text()
    assert "toegevoegd aan melding " + reference in body
    # a retry of the follow-up adds nothing and answers the same
    assert await (await post(sms, message("SM013", "Het gaat om nummer 12"))).text() == body
    meldingen = await store.read(meldingen_store.list_meldingen)
    assert len(meldingen) == 1
    melding = await store.read(meldingen_store.by_reference, reference)
    assert melding is not None
    assert [(f.channel, f.text, f.sender) for f in melding.followups] == [
        (Channel.SMS, "Het gaat om nummer 12", "+32470123456")
    ]
    # another number is another melding
    other = await (await post(sms, message("SM014", "Lamp kapot", "+32470000014"))).text()
    assert REFERENCE.search(other).group(0) != reference  # type: ignore[union-attr]


async def test_outside_the_window_only_a_waiting_melding_takes_followups(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(sms_settings(settings, sms_followup_window_hours=0)))) as c:
        store = store_of(c)
        first = REFERENCE.search(await (await post(c, message("SM015", "Hond blaft"))).text()).group(0)  # type: ignore[union-attr]
        second = REFERENCE.search(await (await post(c, message("SM016", "Lamp kapot"))).text()).group(0)  # type: ignore[union-attr]
        assert first != second
        waiting = await store.read(meldingen_store.by_reference, second)
        assert waiting is not None
        change = StatusUpdate(Status.WACHTEN_OP_ANTWOORD, source="desk", note="Welk huisnummer?")
        await store.write(history.add_status, waiting.id, change)
        body = await (await post(c, message("SM017", "Aan nummer 5"))).text()
        assert "toegevoegd aan melding " + second in body
        after = await store.read(meldingen_store.by_reference, second)
        assert after is not None and len(after.followups) == 1
        assert after.status == Status.IN_BEHANDELING  # the reporter answered: back to the desk


async def test_messaging_service_message_to_another_number_is_accepted(sms: TestClient[Any, Any]) -> None:
    params = message(
        "SM018",
        "Graffiti op de brug",
        "+32470000018",
        To="+32460999999",
        MessagingServiceSid="MG00000000000000000000000000000000",
    )
    resp = await post(sms, params)
    assert resp.status == 200
    reference = REFERENCE.search(await resp.text()).group(0)  # type: ignore[union-attr]
    assert (await store_of(sms).read(meldingen_store.by_reference, reference)) is not None


async def test_without_an_auth_token_nothing_is_accepted(client: TestClient[Any, Any]) -> None:
    # An empty key would make anyone's signature valid: the channel stays closed instead.
    resp = await post(client, message("SM019", "Lamp kapot"))
    assert resp.status == 503
    assert await store_of(client).read(meldingen_store.list_meldingen) == []


@pytest.mark.parametrize(
    "text",
    [None, "", "Bedankt, uw melding 1777-2026-000123: https://meldpunt.example.be/t/abc?x=1&y=2",
     "a <b> & \"c\" 'd' \u00e9\u20ac\U0001f600\n", "x\r\ny\t]]> &amp;"],
)  # fmt: skip
def test_twiml_is_what_the_twilio_library_writes(text: str | None) -> None:
    response = MessagingResponse()
    if text:
        response.message(text)
    assert twiml(text) == str(response)
