"""A local TOPdesk stand-in: the part of `/tas/api` the adapter uses, on a free loopback port.

It validates what TOPdesk validates (Basic auth with an operator and an application password,
JSON types (`closed` a boolean), required fields, only the fields an update may change,
`briefDescription` <= 80 and `externalNumber` <= 60 characters, references that must exist: an
unknown category or closure code is a 400 with a TOPdesk-like error body `[{"message": ...}]`,
the multipart part `file`), keeps incidents in memory (closing dates them, `closedDate`),
answers lists as TOPdesk does (204 when empty, 206 when more pages follow), and lets a test act
as the operator (`set_status`, `add_visible_action`) or break it (`fail_next`).
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import BasicAuth, web

from gateway.config import Settings
from tests.support.http import serve_app
from workers.casesystem.topdesk_config import IdRef, TopdeskFile

USER, PASSWORD = "api-1777", "app-password-1234"
TOPDESK_DATE = "%Y-%m-%dT%H:%M:%S.%f%z"
REFERENCES = ("category", "subcategory", "callType", "entryType", "operatorGroup")
UPDATE_FIELDS = {"action", "actionInvisibleForCaller", "closed", "closureCode"}  # what we PATCH
INCIDENT_FIELDS = {"caller", "callerLookup", "briefDescription", "request", "externalNumber", *REFERENCES}


def td_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def errors(*messages: str, status: int = 400) -> web.Response:
    return web.json_response([{"message": m} for m in messages], status=status)


@dataclass
class FakeTopdesk:
    url: str = ""
    # name -> id of what may be referenced, per kind (REFERENCES and "branch")
    known: dict[str, dict[str, str]] = field(default_factory=dict)
    persons: list[dict[str, str]] = field(default_factory=list)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    attachments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)  # answered to the next requests, in order
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of each request
    refused: list[list[str]] = field(default_factory=list)  # the error messages of each 400 answered
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _last_change: datetime = field(default_factory=lambda: datetime(2000, 1, 1, tzinfo=UTC))

    # -- the test as operator ----------------------------------------------------------------------

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)

    def by_reference(self, reference: str) -> list[dict[str, Any]]:
        return [i for i in self.incidents.values() if i.get("externalNumber") == reference]

    def set_status(
        self,
        reference: str,
        processing_status: str,
        *,
        closed: bool = False,
        target_date: date | None = None,
        action: str | None = None,
    ) -> None:
        """An operator moves the incident on (and may write the caller a visible action)."""
        [incident] = self.by_reference(reference)
        incident["processingStatus"] = {
            "id": self._id("processingStatus", processing_status),
            "name": processing_status,
        }
        incident["closed"] = closed
        incident["completed"] = closed
        if target_date is not None:
            incident["targetDate"] = f"{target_date.isoformat()}T09:00:00.000+0000"
        if action is not None:
            self._add_action(incident["id"], action, invisible=False)
        self._touch(incident)

    def _id(self, kind: str, name: str) -> str:
        return self.known.setdefault(kind, {}).setdefault(name, str(uuid.uuid4()))

    def _touch(self, incident: dict[str, Any]) -> None:
        # strictly increasing, whatever the (possibly frozen) clock says
        now = max(datetime.now(UTC), self._last_change + timedelta(milliseconds=1))
        self._last_change = now
        incident["modificationDate"] = td_date(now)

    def _add_action(self, incident_id: str, memo: str, *, invisible: bool) -> None:
        plain = re.sub(r"<br\s*/?>", "\n", memo)
        plain = re.sub(r"<[^>]+>", "", plain)
        self.actions.setdefault(incident_id, []).append(
            {
                "id": str(uuid.uuid4()),
                "memoText": memo,
                "plainText": plain,
                "invisibleForCaller": invisible,
                "entryDate": td_date(max(datetime.now(UTC), self._last_change)),
            }
        )

    # -- the API ------------------------------------------------------------------------------------

    @web.middleware
    async def gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if auth is None or (auth.login, auth.password) != (USER, PASSWORD):
            return errors("Invalid credentials: application password required", status=401)
        if self.failures:
            status = self.failures.pop(0)
            return errors(f"scripted failure {status}", status=status)
        response = await handler(request)
        if response.status == 400 and isinstance(response, web.Response) and response.body:
            self.refused.append([e["message"] for e in json.loads(response.body)])
        return response

    def _reference(self, kind: str, value: Any) -> str | None:
        """The problem with a reference `{"id"}` / `{"name"}` of this kind, or None when it exists."""
        if not isinstance(value, dict) or set(value) - {"id", "name"} or not value:
            return f"{kind}: expected an object with 'id' or 'name'"
        names = self.known.get(kind, {})
        if "id" in value and value["id"] not in names.values():
            return f"{kind} with id '{value['id']}' not found"
        if "name" in value and value["name"] not in names:
            return f"{kind} with name '{value['name']}' not found"
        return None

    async def create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return errors("Request body is not valid JSON")
        if not isinstance(body, dict):
            return errors("Request body must be a JSON object")
        problems = [f"Unknown field '{k}'" for k in body if k not in INCIDENT_FIELDS]
        for name, limit in (("briefDescription", 80), ("externalNumber", 60)):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                problems.append(f"{name}: expected a string")
            elif value is not None and len(value) > limit:
                problems.append(f"{name}: length {len(value)} exceeds the maximum of {limit}")
        if not isinstance(body.get("request", ""), str):
            problems.append("request: expected a string")
        problems += self._caller_problems(body)
        problems += [p for k in REFERENCES if k in body and (p := self._reference(k, body[k]))]
        if problems:
            return errors(*problems)
        incident_id = str(uuid.uuid4())
        incident = {
            "id": incident_id,
            "number": f"I 2612 {next(self._numbers):03d}",
            **{k: v for k, v in body.items() if k != "callerLookup"},
            "caller": body.get("caller") or {"email": body["callerLookup"]["email"], "registered": True},
            "processingStatus": {
                "id": self._id("processingStatus", "Geregistreerd"),
                "name": "Geregistreerd",
            },
            "closed": False,
            "closedDate": None,
            "closureCode": None,
            "completed": False,
            "targetDate": None,
        }
        self._touch(incident)
        self.incidents[incident_id] = incident
        return web.json_response(incident, status=201)

    def _caller_problems(self, body: dict[str, Any]) -> list[str]:
        lookup, caller = body.get("callerLookup"), body.get("caller")
        if lookup is None and caller is None:
            return ["Either caller or callerLookup is required"]
        if lookup is not None:
            if not isinstance(lookup, dict) or not isinstance(lookup.get("email"), str):
                return ["callerLookup: expected an object with 'email'"]
            if not any(p["email"] == lookup["email"] for p in self.persons):
                return [f"callerLookup: no person found with email '{lookup['email']}'"]
            return []
        if not isinstance(caller, dict):
            return ["caller: expected an object"]
        problems = []
        name = caller.get("dynamicName")
        if not isinstance(name, str) or not name:
            problems.append("caller.dynamicName is required for an unregistered caller")
        elif len(name) > 109:
            problems.append("caller.dynamicName: length exceeds the maximum of 109")
        for key, limit in (("email", 100), ("phoneNumber", 25)):
            if key in caller and (not isinstance(caller[key], str) or len(caller[key]) > limit):
                problems.append(f"caller.{key}: expected a string of at most {limit} characters")
        if "branch" not in caller:
            problems.append("caller.branch is required for an unregistered caller")
        elif problem := self._reference("branch", caller["branch"]):
            problems.append(f"caller.{problem}")
        return problems

    def _incident(self, request: web.Request) -> dict[str, Any]:
        incident = self.incidents.get(request.match_info["id"])
        if incident is None:
            raise web.HTTPNotFound(
                text='[{"message": "Incident not found"}]', content_type="application/json"
            )
        return incident

    async def update(self, request: web.Request) -> web.Response:
        incident = self._incident(request)
        try:
            body = await request.json()
        except ValueError:
            return errors("Request body is not valid JSON")
        if not isinstance(body, dict):
            return errors("Request body must be a JSON object")
        problems = [f"Unknown field '{k}'" for k in body if k not in UPDATE_FIELDS]
        if not isinstance(body.get("action"), str) or not body["action"]:
            problems.append("action: expected a non-empty string")
        for flag in ("actionInvisibleForCaller", "closed"):
            if flag in body and not isinstance(body[flag], bool):
                problems.append(f"{flag}: expected a boolean")
        if "closureCode" in body and (problem := self._reference("closureCode", body["closureCode"])):
            problems.append(problem)
        if problems:
            return errors(*problems)
        self._add_action(
            incident["id"], body["action"], invisible=body.get("actionInvisibleForCaller", False)
        )
        if "closed" in body:
            self._close(incident, body["closed"], body.get("closureCode"))
        self._touch(incident)
        return web.json_response(incident)

    def _close(self, incident: dict[str, Any], closed: bool, code: dict[str, str] | None) -> None:
        """Closing completes it too and dates it; reopening clears both (as TOPdesk does)."""
        incident["closed"] = incident["completed"] = closed
        incident["closedDate"] = td_date(datetime.now(UTC)) if closed else None
        if code is not None:
            names = self.known["closureCode"]
            name = code.get("name") or next(n for n, i in names.items() if i == code["id"])
            incident["closureCode"] = {"id": names[name], "name": name}
        elif not closed:
            incident["closureCode"] = None

    async def list_actions(self, request: web.Request) -> web.Response:
        incident = self._incident(request)
        found = list(reversed(self.actions.get(incident["id"], [])))  # newest first, as TOPdesk
        return web.json_response(found) if found else web.Response(status=204)

    async def upload(self, request: web.Request) -> web.Response:
        incident = self._incident(request)
        if not request.content_type.startswith("multipart/"):
            return errors("Expected multipart/form-data")
        fields: dict[str, Any] = {}
        async for part in await request.multipart():
            name = getattr(part, "name", None)
            fields[name or ""] = (getattr(part, "filename", None), await part.read())  # type: ignore[union-attr]
        if "file" not in fields or not fields["file"][0]:
            return errors("Multipart part 'file' (with a filename) is required")
        filename, data = fields["file"]
        description = fields.get("description", (None, b""))[1].decode()
        saved = {"id": str(uuid.uuid4()), "fileName": filename, "size": len(data), "description": description}
        self.attachments.setdefault(incident["id"], []).append({**saved, "data": data})
        return web.json_response(saved)

    async def list_attachments(self, request: web.Request) -> web.Response:
        incident = self._incident(request)
        found = [
            {k: v for k, v in a.items() if k != "data"} for a in self.attachments.get(incident["id"], [])
        ]
        return web.json_response(found) if found else web.Response(status=204)

    async def list_persons(self, request: web.Request) -> web.Response:
        match = re.fullmatch(r'email=="([^"]*)"', request.query.get("query", ""))
        found = [p for p in self.persons if match and p["email"] == match.group(1)]
        return web.json_response(found) if found else web.Response(status=204)

    async def list_incidents(self, request: web.Request) -> web.Response:
        selected = list(self.incidents.values())
        for clause in filter(None, request.query.get("query", "").split(";")):
            if m := re.fullmatch(r'externalNumber=="([^"]*)"', clause):
                selected = [i for i in selected if i.get("externalNumber") == m.group(1)]
            elif m := re.fullmatch(r"modificationDate=ge=(.+)", clause):
                try:
                    since = datetime.strptime(m.group(1), TOPDESK_DATE)
                except ValueError:
                    return errors(f"'{clause}' is not a valid FIQL selector")
                selected = [
                    i for i in selected if datetime.strptime(i["modificationDate"], TOPDESK_DATE) >= since
                ]
            else:
                return errors(f"'{clause}' is not a valid FIQL selector")
        if request.query.get("sort") == "modificationDate:asc,id:asc":
            selected.sort(key=lambda i: (datetime.strptime(i["modificationDate"], TOPDESK_DATE), i["id"]))
        try:
            start = int(request.query.get("pageStart", "0"))
            size = int(request.query.get("pageSize", "10"))
        except ValueError:
            return errors("pageStart and pageSize must be numbers")
        if size < 1 or size > 10000:
            return errors("pageSize must be between 1 and 10000")
        page = selected[start : start + size]
        if fields := request.query.get("fields"):
            wanted = set(fields.split(","))
            page = [{k: v for k, v in i.items() if k in wanted} for i in page]
        if not page:
            return web.Response(status=204)
        return web.json_response(page, status=206 if start + size < len(selected) else 200)


def known_from(config: TopdeskFile) -> dict[str, list[str]]:
    """The names a TOPdesk configured like `config` knows (what the shipped topdesk.toml names)."""
    known: dict[str, list[str]] = {"branch": [], "entryType": []}
    for classification in [config.incident, *config.diensten.values()]:
        for kind, value in classification.fields().items():
            if "name" in value:
                known.setdefault(kind, []).append(value["name"])
    if not isinstance(config.incident.caller_branch, IdRef):
        known["branch"].append(config.incident.caller_branch)
    known["entryType"] += [r for r in config.entry_types.values() if not isinstance(r, IdRef)]
    code = config.incident.closure_code
    known["closureCode"] = [code] if isinstance(code, str) else []
    return known


def topdesk_settings(settings: Settings, fake: FakeTopdesk) -> Settings:
    """The test's settings with TOPdesk (the stand-in) as the case system."""
    return settings.model_copy(
        update={
            "case_system": "topdesk",
            "topdesk_url": fake.url,
            "topdesk_user": USER,
            "topdesk_app_password": PASSWORD,
        }
    )


@asynccontextmanager
async def fake_topdesk(known: dict[str, list[str]] | None = None) -> AsyncIterator[FakeTopdesk]:
    """The stand-in on a free loopback port; `known` names what may be referenced, per kind."""
    fake = FakeTopdesk()
    for kind, names in (known or {}).items():
        for name in names:
            fake._id(kind, name)
    app = web.Application(middlewares=[fake.gate])
    app.router.add_post("/tas/api/incidents", fake.create)
    app.router.add_get("/tas/api/incidents", fake.list_incidents)
    app.router.add_patch("/tas/api/incidents/id/{id}", fake.update)
    app.router.add_get("/tas/api/incidents/id/{id}/actions", fake.list_actions)
    app.router.add_post("/tas/api/incidents/id/{id}/attachments", fake.upload)
    app.router.add_get("/tas/api/incidents/id/{id}/attachments", fake.list_attachments)
    app.router.add_get("/tas/api/persons", fake.list_persons)
    async with serve_app(app) as url:
        fake.url = url
        yield fake
