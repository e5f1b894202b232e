"""MMS media: fetched by the worker from Twilio and stored as the melding's attachments.

The webhook only records the media to fetch (`sms_media`, in the melding's or follow-up's own
transaction), so its TwiML answer never waits for a download. The `process` job fetches the
pending media of a melding before routing it, so that the case system gets the photos with
`melding.created`; a follow-up MMS enqueues `process` for its melding again, and a delivery of
an SMS melding first fetches what is still pending (a follow-up's photos go with its
`melding.followup`). A melding is delivered without a media only once that one failed for good.

Credentials (HTTP basic, account sid : auth token) go only to the Twilio API: a media URL on
https://api.twilio.com is rewritten onto `twilio_api_url` (tests point that at a local server),
one on any other origin is refused. Twilio answers a media request with a redirect to its CDN;
no redirect ever gets the credentials. Downloads are streamed and cut off past
`max_attachment_bytes`; the content must be an accepted type and match what was declared.
Transient failures (connection errors, timeouts, 5xx, 408, 429) are retried with backoff up to
`sms_media_max_attempts`; the rest (404, too large, refused type, foreign origin) fail at once.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from gateway.attachments import AttachmentStore, content_refusal, sniff_content_type, storage_error
from gateway.config import Settings
from gateway.melding import Attachment, Melding
from gateway.metrics import count
from gateway.store import media as media_store
from gateway.store.media import PENDING, MediaRecord
from workers.ctx import redis, state

log = logging.getLogger("workers")

TWILIO_API = URL("https://api.twilio.com")
MAX_REDIRECTS = 5
TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
_ACCOUNT = re.compile(r"/Accounts/(AC[0-9a-fA-F]{32})/")
_TRANSIENT = {408, 425, 429}


class MediaError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Settled:
    stored: int = 0
    failed: int = 0
    waiting: int = 0  # failed transiently: to be tried again


def _origin(url: URL) -> tuple[str, str, int | None]:
    return (url.scheme, (url.host or "").lower(), url.port)


def api_url(raw: str, settings: Settings) -> URL:
    """Where to fetch a media URL with credentials: on the configured API, or refused."""
    url = URL(raw)
    api = URL(settings.twilio_api_url)
    if _origin(url) == _origin(TWILIO_API):
        return URL(settings.twilio_api_url.rstrip("/") + url.raw_path_qs, encoded=True)
    if _origin(url) == _origin(api):
        return url
    raise MediaError(
        f"refused: {url.scheme}://{url.host} is not the Twilio API (credentials go only to "
        f"{TWILIO_API} / {api.scheme}://{api.host}{f':{api.port}' if api.explicit_port else ''})",
        permanent=True,
    )


def basic_authorization(user: str, password: str) -> str:
    """An HTTP basic Authorization header value (aiohttp deprecates its `auth=` parameter)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _credentials(settings: Settings, url: URL) -> str:
    # The account sid is in the media URL too (a subaccount's media are under its own sid).
    found = _ACCOUNT.search(url.path)
    sid = settings.twilio_account_sid or (found.group(1) if found else "")
    if not sid or not settings.twilio_auth_token:
        raise MediaError("GATEWAY_TWILIO_ACCOUNT_SID or GATEWAY_TWILIO_AUTH_TOKEN is not set", permanent=True)
    return basic_authorization(sid, settings.twilio_auth_token)


async def download(
    session: aiohttp.ClientSession, url: URL, authorization: str, limit: int
) -> tuple[bytes, str | None]:
    """GET with credentials on the first request only, following redirects by hand."""
    headers = {"Authorization": authorization}
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with session.get(url, headers=headers, allow_redirects=False, timeout=TIMEOUT) as resp:
                if resp.status in (301, 302, 303, 307, 308):
                    location = resp.headers.get("Location")
                    if not location:
                        raise MediaError(f"HTTP {resp.status} without Location", permanent=True)
                    url, headers = url.join(URL(location)), {}  # credentials never go to the CDN
                    if url.scheme not in ("http", "https"):
                        raise MediaError(f"redirect to {url.scheme}: refused", permanent=True)
                    continue
                if resp.status != 200:
                    transient = resp.status >= 500 or resp.status in _TRANSIENT
                    raise MediaError(f"HTTP {resp.status} from {url.host}", permanent=not transient)
                return await _read_capped(resp, limit), resp.headers.get("Content-Type")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise MediaError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    raise MediaError(f"more than {MAX_REDIRECTS} redirects", permanent=True)


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        raise MediaError(f"too large: {resp.content_length} bytes (limit {limit})", permanent=True)
    data = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:  # the length header may lie or be missing: count what arrives
            raise MediaError(f"too large: more than {limit} bytes (limit {limit})", permanent=True)
    return bytes(data)


def _accepted(declared: str | None, settings: Settings) -> str:
    kind = (declared or "").split(";")[0].strip().lower()
    if kind not in settings.attachment_types:
        raise MediaError(f"type {kind or 'unknown'} is not accepted", permanent=True)
    return kind


async def fetch(ctx: dict[str, Any], media: MediaRecord) -> Attachment:
    s = state(ctx)
    if media.content_type:  # Twilio said what it is: a refused type is not even downloaded
        _accepted(media.content_type, s.settings)
    url = api_url(media.url, s.settings)
    auth = _credentials(s.settings, url)
    data, header = await download(s.session, url, auth, s.settings.max_attachment_bytes)
    kind = _accepted(media.content_type or header, s.settings)
    if (actual := sniff_content_type(data)) != kind:
        raise MediaError(
            f"declared {kind} but the content is {actual or 'not a recognised image or PDF'}", permanent=True
        )
    if (why := await asyncio.to_thread(content_refusal, data, kind)) is not None:
        raise MediaError(f"declared {kind} but the content is {why}", permanent=True)
    name = f"mms-{media.message_sid[-8:]}-{media.position}{mimetypes.guess_extension(kind) or ''}"
    files = AttachmentStore(s.settings.attachments_dir)
    try:
        return await asyncio.to_thread(files.save, data, filename=name, content_type=kind)
    except OSError as exc:  # a full disk may be freed: tried again with the backoff, then failed
        why = f"could not be stored: {storage_error(exc)}"
        log.error("mms media %s (%s)", why, files.root)
        raise MediaError(why, permanent=False) from exc


async def settle(ctx: dict[str, Any], melding: Melding) -> Settled:
    """Fetch the melding's pending media; what failed transiently stays pending (`waiting`)."""
    s = state(ctx)
    pending = await s.store.read(media_store.media_of, melding.id, PENDING)
    stored = failed = waiting = 0
    for media in pending:
        extra = {"reference": melding.reference, "message_sid": media.message_sid, "position": media.position}
        try:
            attachment = await fetch(ctx, media)
        except MediaError as exc:
            final = exc.permanent or media.attempts + 1 >= s.settings.sms_media_max_attempts
            await s.store.write(media_store.media_failed, media.id, error=str(exc), final=final)
            await count(redis(ctx), "sms_media_failed" if final else "sms_media_retrying")
            if final:
                failed += 1
                log.warning("mms media not stored: %s", exc, extra=extra)
            else:
                waiting += 1
                log.info("mms media fetch failed, will retry: %s", exc, extra=extra)
            continue
        if await s.store.write(media_store.media_stored, media.id, attachment):
            stored += 1
            await count(redis(ctx), "sms_media_stored")
            log.info("mms media stored (%s, %d bytes)", attachment.content_type, attachment.size, extra=extra)
    return Settled(stored, failed, waiting)
