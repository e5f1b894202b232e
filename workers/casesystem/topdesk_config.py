"""`config/topdesk.toml`: what a melding becomes in TOPdesk and how TOPdesk's statuses read back.

The layout is the pydantic model `TopdeskFile`; `load` refuses unknown keys and bad values with
the file, the table and the key named (gateway.config.load_toml_model), at worker start.
Every TOPdesk reference (category, operator group, ...) is given by name (a string) or by id
(`{ id = "..." }`): names are readable, ids survive a renaming in TOPdesk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.config import ConfigError, load_toml_model
from gateway.melding import DIENST_CODES, Channel, Status


class TopdeskConfigError(ConfigError):
    """The TOPdesk file is unusable; the message names the file and the key."""


class IdRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)


Ref = Annotated[str, Field(min_length=1)] | IdRef


def ref_json(ref: Ref) -> dict[str, str]:
    """TOPdesk's JSON for a reference: `{"name": ...}` or `{"id": ...}`."""
    return {"id": ref.id} if isinstance(ref, IdRef) else {"name": ref}


class Classification(BaseModel):
    """Where an incident lands: per dienst, over the defaults in [incident]."""

    model_config = ConfigDict(extra="forbid")
    category: Ref | None = None
    subcategory: Ref | None = None
    operator_group: Ref | None = None
    call_type: Ref | None = None

    def fields(self) -> dict[str, dict[str, str]]:
        names = {
            "category": "category",
            "subcategory": "subcategory",
            "operator_group": "operatorGroup",
            "call_type": "callType",
        }
        return {td: ref_json(getattr(self, ours)) for ours, td in names.items() if getattr(self, ours)}


class IncidentDefaults(Classification):
    # An unregistered caller (no TOPdesk person with the reporter's e-mail) needs a branch.
    caller_branch: Ref
    anonymous_caller: str = Field(default="Anonieme melder", min_length=1, max_length=100)
    # The closure code of an incident the gateway closes because the desk confirmed its melding as
    # a duplicate (TOPdesk's `closureCode`); None: closed without one.
    closure_code: Ref | None = None


class StatusMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # processingStatus name (as TOPdesk spells it) -> our status; an unmapped one is ignored (logged)
    processing: dict[str, Status]
    closed: Status = Status.BEHANDELD  # a closed incident whose processingStatus is not mapped
    completed: Status | None = None  # completed, not closed (None: its processingStatus decides)

    @field_validator("processing")
    @classmethod
    def _not_ontvangen(cls, v: dict[str, Status]) -> dict[str, Status]:
        bad = [name for name, status in v.items() if status == Status.ONTVANGEN]
        if bad:
            raise ValueError(f"ontvangen is set by the gateway only, not by TOPdesk status {bad[0]!r}")
        return v


class PollConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_size: int = Field(default=100, ge=1, le=10000)  # TOPdesk's pageSize (it allows 10000 at most)
    first_lookback_hours: float = Field(default=24.0, ge=0)  # the very first poll reads this far back


class TopdeskFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident: IncidentDefaults
    entry_types: dict[Channel, Ref] = Field(default_factory=dict)  # how the melding came in
    diensten: dict[str, Classification] = Field(default_factory=dict)
    status: StatusMap
    poll: PollConfig = Field(default_factory=PollConfig)

    @field_validator("diensten")
    @classmethod
    def _known_diensten(cls, v: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(v) - set(DIENST_CODES))
        if unknown:
            raise ValueError(f"unknown dienst(en) {', '.join(unknown)}; known: {', '.join(DIENST_CODES)}")
        return v

    def classification(self, dienst: str | None) -> dict[str, dict[str, str]]:
        """category, subcategory, operatorGroup, callType for an incident of this dienst."""
        fields = self.incident.fields()
        if dienst in self.diensten:
            fields.update(self.diensten[dienst].fields())
        return fields


def load(path: Path) -> TopdeskFile:
    return load_toml_model(path, TopdeskFile, TopdeskConfigError)
