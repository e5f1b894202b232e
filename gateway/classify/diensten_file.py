"""`config/diensten.toml` as pydantic models: the shape of the file, checked when it is read.

The models say which tables and keys exist (extra="forbid"), the bounds of the [routing]
numbers, that every dienst code has its table and no other, and what a weight may be, so
`load` refuses a malformed file with one message per problem naming the file, the dienst and
the entry. What needs the matcher's own reading of a term (its normalized words: single-word
phrases, "..." placement, stems too short, the same term twice in one dienst) is checked by
`gateway.classify.rules` where it builds the matcher. The file's header documents the format.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)

from gateway.config import ConfigError, load_toml_model
from gateway.melding import DIENST_CODES

__all__ = ["VETO", "DienstTable", "DienstenConfigError", "DienstenFile", "RoutingSettings", "load"]

VETO = "veto"


class DienstenConfigError(ConfigError):
    """The diensten file is unusable; the message names the file, the dienst and the entry."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Strict: a TOML string or boolean is never read as a number ("3" or true is a typo, not a weight).
Number = Annotated[float, Strict()]


class RoutingSettings(_Table):
    """[routing]: when the best dienst wins (see the file's "Scoring" section)."""

    min_score: Annotated[Number, Field(ge=0)] = 3.0
    min_margin: Annotated[Number, Field(ge=0)] = 1.5
    min_margin_ratio: Annotated[Number, Field(ge=0, le=1)] = 0.3
    saturation: Annotated[Number, Field(gt=0)] = 4.0  # divides the score
    max_chars: Annotated[int, Strict(), Field(ge=100)] = 8000


def _weight(allowed: str) -> WrapValidator:
    """One message for a weight of the wrong kind, rather than one per member of the union."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(f"weight must be {allowed}, got {value!r}") from None

    return WrapValidator(check)


def _not_zero(value: float) -> float:
    if value == 0:
        raise ValueError("zero")  # replaced by the message of `_weight`
    return value


def _compiles(source: str) -> str:
    try:
        re.compile(source)
    except re.error as exc:
        raise ValueError(f"not a valid regex: {exc}") from exc
    return source


_Positive = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]
_NonZero = Annotated[float, Strict(), Field(allow_inf_nan=False), AfterValidator(_not_zero)]
Weight = Annotated[_Positive, _weight("a number > 0")]
NegativeWeight = Annotated[_Positive | Literal["veto"], _weight('a number > 0 or "veto"')]
PatternWeight = Annotated[
    _NonZero | Literal["veto"], _weight('a non-zero number (negative subtracts) or "veto"')
]
Regex = Annotated[str, AfterValidator(_compiles)]
Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]


class DienstTable(_Table):
    """[diensten.<code>]; the terms (keys) are read by the rules layer, in file order."""

    name: Text
    handled_by: Text
    external: Annotated[bool, Strict()]
    keywords: dict[str, Weight] = Field(default_factory=dict)
    phrases: dict[str, Weight] = Field(default_factory=dict)
    negative: dict[str, NegativeWeight] = Field(default_factory=dict)
    patterns: dict[Regex, PatternWeight] = Field(default_factory=dict)


# [diensten]: one required table per dienst code, no other (a melding routes to one of these).
DienstenTable = create_model(
    "DienstenTable", __base__=_Table, **{code: (DienstTable, ...) for code in DIENST_CODES}
)


class DienstenFile(_Table):
    """The whole file."""

    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    diensten: DienstenTable

    def dienst(self, code: str) -> DienstTable:
        table: DienstTable = getattr(self.diensten, code)
        return table


def load(path: Path) -> DienstenFile:
    return load_toml_model(path, DienstenFile, DienstenConfigError, problems=_problems)


# --------------------------------------------------------------------------- messages


def _problems(path: Path, data: dict[str, Any], exc: ValidationError) -> list[str]:
    """One line per problem in the words of the file's header: `dienst 'groen': keywords: 'gras':
    weight must be ...`, `[routing]: 'min_score': ...`, `missing dienst(en) ['dieren']`."""
    problems: list[str] = []
    unknown: dict[tuple[Any, ...], list[str]] = {}
    missing_codes: list[str] = []
    for err in exc.errors():
        loc, kind = tuple(err["loc"]), err["type"]
        if kind == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(str(loc[-1]))
        elif kind == "missing" and loc == ("diensten",):
            problems.append("missing the [diensten.<code>] tables")
        elif kind == "missing" and len(loc) == 2 and loc[0] == "diensten":
            missing_codes.append(str(loc[1]))
        elif kind == "missing":
            problems.append(f"{_where(loc[:-1])}: '{loc[-1]}' is required")
        else:
            loc = _in_file(data, loc)  # without pydantic's own steps ("[key]", union members)
            what = "must be a table" if kind in ("model_type", "dict_type") else err["msg"]
            if kind == "value_error":  # a validator's own words, without pydantic's "Value error, "
                what = str(err["ctx"]["error"])
            problems.append(f"{_where(loc)}: {what}" if loc else what)
    if missing_codes:
        problems.append(f"missing dienst(en) {missing_codes}; all of {', '.join(DIENST_CODES)} are required")
    for loc, keys in unknown.items():
        names = sorted(keys)
        if not loc:
            problems.append(f"unknown top-level key(s) {names}; expected [routing] and [diensten.<code>]")
        elif loc == ("diensten",):
            problems.append(f"unknown dienst code(s) {names}; the codes are {', '.join(DIENST_CODES)}")
        elif loc == ("routing",):
            problems.append(f"[routing]: unknown setting(s) {names}")
        else:
            allowed = sorted(DienstTable.model_fields)
            problems.append(f"{_where(loc)}: unknown key(s) {names}; allowed: {allowed}")
    return [f"{path}: {problem}" for problem in problems]


def _in_file(data: dict[str, Any], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The longest start of `loc` that is a path of tables and keys in the file."""
    node: Any = data
    for i, part in enumerate(loc):
        if not isinstance(node, dict) or part not in node:
            return loc[:i]
        node = node[part]
    return loc


def _where(loc: tuple[Any, ...]) -> str:
    """`[routing]: 'min_score'`, `dienst 'groen'`, `dienst 'groen': 'external'`,
    `dienst 'groen': keywords: 'gras'`."""
    head, *rest = loc
    if head == "diensten" and rest:
        code, *rest = rest
        parts = [f"dienst '{code}'"]
        if len(rest) == 1:
            parts.append(f"'{rest[0]}'")
        elif rest:
            parts += [str(rest[0]), f"'{rest[1]}'"]
        return ": ".join(parts)
    return ": ".join([f"[{head}]", *(f"'{part}'" for part in rest)])
