"""The route table (paths fixed by PRODUCT.md)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.channels.open311 import views as open311
from gateway.channels.phone import calls as phone_calls
from gateway.channels.twilio import sms as twilio_sms
from gateway.channels.twilio import sms_status as twilio_sms_status
from gateway.channels.twilio import voice as twilio_voice
from gateway.http import addresses, api, desk, form, identity, openapi, tracking

# A key in a path (an id, a reference, a token) never holds a control character: such a path is no
# resource, so the router answers 404 before a handler would hand it to the store (PostgreSQL
# refuses NUL: that was a 500).
KEY = r"[^/\x00-\x1f\x7f]+"
TOKEN = r"[^/.\x00-\x1f\x7f]+"
STATIC = Path(__file__).parent / "static"  # form.js, its stylesheet, vendored Leaflet and Swagger UI


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", api.healthz)
    app.router.add_get("/metrics", api.metrics)
    # The description of every route below a program calls (gateway/http/openapi_paths.py keeps the table)
    app.router.add_get("/api/v1/openapi.json", openapi.openapi_json)
    app.router.add_get("/api/v1/docs", openapi.docs_page)
    app.router.add_post("/api/v1/meldingen", api.post_melding)
    app.router.add_get("/api/v1/meldingen", api.list_meldingen)
    app.router.add_get(f"/api/v1/meldingen/{{id:{KEY}}}", api.get_melding)
    app.router.add_post(f"/api/v1/meldingen/{{reference:{KEY}}}/status", api.post_status)
    app.router.add_post(f"/api/v1/meldingen/{{id:{KEY}}}/dienst", desk.post_dienst)
    # The JSON twin first: a page token never holds a dot (secrets.token_urlsafe), so ".json" is not one.
    app.router.add_get(f"/t/{{token:{TOKEN}}}.json", tracking.tracking_json)
    app.router.add_get(f"/t/{{token:{TOKEN}}}/photos/{{n:{KEY}}}", tracking.tracking_photo)
    app.router.add_put(
        f"/api/v1/meldingen/{{id:{KEY}}}/national-register-number", identity.put_national_register_number
    )
    app.router.add_get(f"/t/{{token:{KEY}}}", tracking.tracking_page)
    app.router.add_post("/channels/twilio/sms", twilio_sms.inbound_sms)
    app.router.add_post(twilio_sms_status.PATH, twilio_sms_status.sms_status)
    app.router.add_post(f"/channels/twilio/voice/{{event:{KEY}}}", twilio_voice.voice_callback)
    app.router.add_post("/channels/phone/calls", phone_calls.post_call)
    # The citizen web form (README, "Web form")
    app.router.add_get("/", form.form_page)
    app.router.add_post("/", form.post_form)
    app.router.add_get(f"/bedankt/{{token:{KEY}}}", form.thanks_page)
    app.router.add_get("/api/v1/addresses", addresses.get_addresses)
    app.router.add_static("/static", STATIC, append_version=False)
    open311.add_routes(app.router)  # /open311/v2/...
