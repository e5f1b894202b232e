"""The TOPdesk adapter (GATEWAY_CASE_SYSTEM=topdesk): a melding becomes a TOPdesk incident.

Followed from TOPdesk's public REST API as public integrations use it (Cortex XSOAR's TOPdesk
pack, demisto/content Packs/TOPdesk/Integrations/TOPdesk: incidents, `/attachments` with the
multipart part `file`, `/actions`, FIQL `query` on lists; Tools4ever's HelloID TOPdesk
connectors: Basic auth with an operator's application password, `callerLookup`):

- `melding.created` -> `POST /tas/api/incidents`: the caller is the TOPdesk person with the
  reporter's e-mail (`callerLookup`) or else an unregistered caller (`caller.dynamicName`,
  e-mail, phone, the configured branch); `briefDescription` (80 characters at most, cut at a
  word), the full text in `request` (escaped: TOPdesk renders a few inline tags there),
  `externalNumber` = our reference (60 at most), the entry type by channel and category,
  subcategory, operator group and call type by dienst (config/topdesk.toml). Then each photo:
  `POST /tas/api/incidents/id/{id}/attachments`.
- `melding.followup` and an extra reporter's `melding.updated` -> an action on that incident
  (`PATCH /tas/api/incidents/id/{id}` with `action`, `actionInvisibleForCaller`): never a
  second incident. Invisible for the caller: an extra reporter's details are another person's,
  and the caller-visible actions are what we read back as notes for the citizen.
- The desk confirms a melding as a duplicate (`melding.updated`, `"update": "merged"`): the
  action on its own incident also closes it (`closed`, and `closureCode` when config/topdesk.toml
  names one); a split of that link (`"update": "split"`) reopens it, with an action saying why.
- Status back: `status_changes` reads changed incidents (`GET /tas/api/incidents`, FIQL
  `modificationDate=ge=...`, sorted, `pageStart` / `pageSize`; 206 means more pages) and maps
  `processingStatus` (and closed / completed) to our statuses (config/topdesk.toml); the
  planned date is `targetDate`, the note the newest caller-visible action.

Idempotency after a crash between "sent" and "recorded": before creating, the incident with
our reference as `externalNumber` is looked up and reused; a file is uploaded only when no
attachment carries its hash in its description; an action carries its idempotency key
(`[1777:<key>]`) and is not added again when one with that key exists.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from gateway import clock
from gateway.config import ConfigError, Settings
from gateway.melding import (
    EVENT_CREATED,
    UPDATE_MERGED,
    UPDATE_SPLIT,
    Attachment,
    Melding,
    Status,
    StatusUpdate,
)
from gateway.phonenumber import readable
from workers.casesystem import CaseStatus, DeliveryError, StatusPage, extra_attachments
from workers.casesystem.topdesk_api import TopdeskApi, Upload
from workers.casesystem.topdesk_config import TopdeskFile, load, ref_json
from workers.casesystem.topdesk_texts import action_text, brief_description, request_text

log = logging.getLogger("workers")

EXTERNAL_NUMBER_MAX, NAME_MAX, EMAIL_MAX, PHONE_MAX = 60, 100, 100, 25
TOPDESK_DATE = "%Y-%m-%dT%H:%M:%S.%f%z"  # how TOPdesk writes modificationDate: 2026-12-02T20:15:00.000+0000
POLL_FIELDS = (
    "id,number,externalNumber,processingStatus,closed,completed,targetDate,modificationDate,supplier"
)


# An address that can go into a FIQL value as it is; anything else is looked up by nobody.
_QUERY_SAFE = re.compile(r"[^\s\"\\,;()=!~<>]+@[^\s\"\\,;()=!~<>]+")


def _marker(idempotency_key: str) -> str:
    return f"[1777:{idempotency_key}]"


class TopdeskCaseSystem:
    name = "topdesk"

    def __init__(self, api: TopdeskApi, config: TopdeskFile, attachments_dir: Path):
        self.api = api
        self.config = config
        self.attachments_dir = attachments_dir

    @classmethod
    def from_settings(cls, settings: Settings, session: aiohttp.ClientSession) -> TopdeskCaseSystem:
        missing = [
            f"GATEWAY_{name.upper()}"
            for name in ("topdesk_url", "topdesk_user", "topdesk_app_password")
            if not getattr(settings, name)
        ]
        if missing:
            raise ConfigError(f"GATEWAY_CASE_SYSTEM=topdesk needs {', '.join(missing)}")
        api = TopdeskApi(
            settings.topdesk_url,
            settings.topdesk_user,
            settings.topdesk_app_password,
            session,
            settings.case_system_timeout,
        )
        return cls(api, load(settings.topdesk_file), settings.attachments_dir)

    # -- deliveries ----------------------------------------------------------------------------

    async def deliver(
        self, event: str, melding: Melding, *, idempotency_key: str, extra: dict[str, Any] | None = None
    ) -> str | None:
        if event == EVENT_CREATED:
            incident_id = await self._incident_by_reference(melding.reference) or await self._create(melding)
        else:
            incident_id = await self._incident_of(melding)
            await self._add_action(incident_id, melding, extra or {}, idempotency_key)
        # a follow-up's photos too, and an extra reporter's (they are another melding's)
        await self._upload_missing(incident_id, [*melding.attachments, *extra_attachments(extra)])
        return incident_id

    async def _incident_by_reference(self, reference: str) -> str | None:
        answer = await self.api.call(
            "GET",
            "/incidents",
            params={
                "query": f'externalNumber=="{reference}"',
                "fields": "id,externalNumber",
                "pageSize": "2",
            },
        )
        found = [i for i in answer.items() if i.get("externalNumber") == reference and i.get("id")]
        return str(found[0]["id"]) if found else None

    async def _incident_of(self, melding: Melding) -> str:
        """The incident of a delivered melding: its `melding.created` case id, else by reference."""
        for delivery in melding.deliveries:
            if delivery.event == EVENT_CREATED and delivery.case_id:
                return delivery.case_id
        found = await self._incident_by_reference(melding.reference)
        if found is None:  # its creation is still on its way (or was lost): try again later
            raise DeliveryError(
                f"no TOPdesk incident with externalNumber {melding.reference} yet", permanent=False
            )
        return found

    async def _create(self, melding: Melding) -> str:
        body: dict[str, Any] = {
            **await self._caller(melding),
            "briefDescription": brief_description(melding),
            "request": request_text(melding),
            "externalNumber": melding.reference[:EXTERNAL_NUMBER_MAX],
            **self.config.classification(melding.dienst),
        }
        entry_type = self.config.entry_types.get(melding.channel)
        if entry_type is not None:
            body["entryType"] = ref_json(entry_type)
        answer = await self.api.call("POST", "/incidents", json_body=body)
        if not isinstance(answer.body, dict) or not answer.body.get("id"):
            raise DeliveryError(
                f"TOPdesk created an incident but answered no id: {answer.body!r:.200}", permanent=False
            )
        log.info(
            "TOPdesk incident %s created", answer.body.get("number"), extra={"reference": melding.reference}
        )
        return str(answer.body["id"])

    async def _caller(self, melding: Melding) -> dict[str, Any]:
        reporter = melding.reporter
        if reporter.email and _QUERY_SAFE.fullmatch(reporter.email):  # never FIQL from a stranger's text
            found = await self.api.call(
                "GET",
                "/persons",
                params={"query": f'email=="{reporter.email}"', "fields": "id", "pageSize": "1"},
            )
            if found.items():
                return {"callerLookup": {"email": reporter.email}}
        caller: dict[str, Any] = {
            "dynamicName": (reporter.name or self.config.incident.anonymous_caller)[:NAME_MAX],
            "branch": ref_json(self.config.incident.caller_branch),
        }
        if reporter.email and len(reporter.email) <= EMAIL_MAX:
            caller["email"] = reporter.email
        if reporter.phone:
            caller["phoneNumber"] = readable(reporter.phone)[:PHONE_MAX]  # stored E.164, read by people
        return {"caller": caller}

    async def _add_action(
        self, incident_id: str, melding: Melding, extra: dict[str, Any], idempotency_key: str
    ) -> None:
        marker = _marker(idempotency_key)
        actions = await self.api.call(
            "GET", f"/incidents/id/{incident_id}/actions", params={"pageSize": "100"}
        )
        if any(marker in str(a.get("memoText") or a.get("plainText") or "") for a in actions.items()):
            return  # added before a crash kept us from recording it
        body = {
            "action": action_text(melding, extra, marker),
            "actionInvisibleForCaller": True,
            **self._closing(extra),
        }
        await self.api.call("PATCH", f"/incidents/id/{incident_id}", json_body=body)

    def _closing(self, extra: dict[str, Any]) -> dict[str, Any]:
        """A confirmed duplicate's own incident is closed (one case with N reporters, as the
        automatic link makes it); a split of that link hands it back, open. In the same PATCH as
        the action, so the action's marker also says whether the closing was done."""
        if extra.get("update") == UPDATE_MERGED:
            code = self.config.incident.closure_code
            return {"closed": True, **({"closureCode": ref_json(code)} if code is not None else {})}
        if extra.get("update") == UPDATE_SPLIT:
            return {"closed": False}
        return {}

    async def _upload_missing(self, incident_id: str, attachments: list[Attachment]) -> None:
        if not attachments:
            return
        answer = await self.api.call("GET", f"/incidents/id/{incident_id}/attachments")
        present = {str(a.get("description") or "") for a in answer.items()}
        for attachment in attachments:
            description = f"sha256:{attachment.sha256}"
            if description in present:
                continue
            path = self.attachments_dir / attachment.storage_path
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:  # the file is gone: no retry brings it back
                raise DeliveryError(f"attachment {attachment.filename}: {exc}", permanent=True) from None
            upload = Upload(attachment.filename, attachment.content_type, data, description)
            await self.api.call("POST", f"/incidents/id/{incident_id}/attachments", upload=upload)
            present.add(description)

    # -- status back ---------------------------------------------------------------------------

    async def status_changes(self, cursor: str | None) -> StatusPage | None:
        """One page of incidents changed since `cursor`: "<modificationDate>|<ids>", the ids those
        incidents with exactly that date already read. Keyset paging, not pageStart over one fixed
        query: an incident changed while we page moves to the end instead of shifting an unread one
        into a page already read; the ids keep incidents changed in the same millisecond apart."""
        since, seen = _parse_cursor(cursor) if cursor else (self._first_since(), [])
        answer = await self.api.call(
            "GET",
            "/incidents",
            params={
                "query": f"modificationDate=ge={since}",
                "sort": "modificationDate:asc,id:asc",
                "pageStart": "0",
                "pageSize": str(min(10000, self.config.poll.page_size + len(seen))),
                "fields": POLL_FIELDS,
            },
        )
        read = [i for i in answer.items() if not (i.get("modificationDate") == since and i.get("id") in seen)]
        changes = [c for c in [await self._status_of(i) for i in read] if c is not None]
        return StatusPage(changes, _next_cursor(since, seen, read), more=answer.more)

    def _first_since(self) -> str:
        start = clock.now() - timedelta(hours=self.config.poll.first_lookback_hours)
        return format_date(start)

    async def _status_of(self, incident: dict[str, Any]) -> CaseStatus | None:
        reference = incident.get("externalNumber")
        if not reference or not incident.get("id"):
            return None  # not one of ours
        status = self._mapped(incident)
        if status is None:
            return None
        planned = _date(incident.get("targetDate")) if status == Status.GEPLAND else None
        supplier = incident.get("supplier")
        partner = supplier.get("name") if isinstance(supplier, dict) else None
        update = StatusUpdate(
            status,
            source="case_system",
            note=await self._visible_note(str(incident["id"])),
            planned_date=planned,
            external_partner=partner if status == Status.NAAR_EXTERNE_PARTNER else None,
        )
        return CaseStatus(str(reference), update, str(incident["id"]))

    def _mapped(self, incident: dict[str, Any]) -> Status | None:
        rules = self.config.status
        processing = incident.get("processingStatus")
        name = processing.get("name") if isinstance(processing, dict) else None
        if name in rules.processing:
            return rules.processing[name]
        if incident.get("closed"):
            return rules.closed
        if incident.get("completed") and rules.completed is not None:
            return rules.completed
        log.info(
            "TOPdesk status %r of %s is not mapped (topdesk_file [status.processing])",
            name,
            incident.get("externalNumber"),
        )
        return None

    async def _visible_note(self, incident_id: str) -> str | None:
        """The newest action the caller may see: what the operator wrote for the citizen."""
        answer = await self.api.call(
            "GET", f"/incidents/id/{incident_id}/actions", params={"pageSize": "100", "inlineimages": "false"}
        )
        visible = [a for a in answer.items() if not a.get("invisibleForCaller")]
        if not visible:
            return None
        newest = max(visible, key=lambda a: str(a.get("entryDate") or ""))
        text = (
            str(newest.get("plainText") or "").strip()
            or html.unescape(str(newest.get("memoText") or "")).strip()
        )
        return text[:2000] or None


def format_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(str(value), TOPDESK_DATE).date()
    except ValueError:
        try:
            return datetime.fromisoformat(str(value)).date()
        except ValueError:
            return None


def _parse_cursor(cursor: str) -> tuple[str, list[str]]:
    since, _, ids = cursor.partition("|")
    return since, [i for i in ids.split(",") if i]


def _next_cursor(since: str, seen: list[str], incidents: list[dict[str, Any]]) -> str:
    """After a page: the newest modificationDate read, and the ids read with exactly that date."""
    dated = [(str(i.get("modificationDate") or ""), str(i.get("id"))) for i in incidents]
    if not dated or not dated[-1][0]:
        return f"{since}|{','.join(seen)}"
    last = dated[-1][0]
    ids = [i for d, i in dated if d == last]
    if last == since:
        ids = seen + ids
    return f"{last}|{','.join(ids)}"
