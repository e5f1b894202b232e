"""`config/dedupe.toml`: windows, radii, the decision threshold and hotspot thresholds.

The file documents every key; its layout is the pydantic model `DedupeFile` (defaults and
bounds there), so `load` refuses unknown keys and bad values with the file and the key named,
like the gateway's own settings. `load` gives the finder a `DedupeConfig`: the same values
with days as timedeltas and every dienst's hotspot thresholds filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    create_model,
    field_validator,
    model_validator,
)

from gateway.config import ConfigError, load_toml_model
from gateway.dedupe import kinds
from gateway.melding import DIENST_CODES


class DedupeConfigError(ConfigError):
    """The dedupe file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class DienstPolicy:
    window: timedelta  # how long an open problem attracts new reports (0: never deduplicated)
    radius_m: float  # how far apart two reports of one problem may be placed
    hotspot_min_count: int
    hotspot_window: timedelta
    hotspot_radius_m: float


@dataclass(frozen=True)
class DedupeConfig:
    """What `load` read; the defaults are `DedupeFile`'s."""

    threshold: float
    cell_m: float
    pin_radius_m: float
    metres_per_house_number: float
    space_weight: float
    time_weight: float  # the text has the rest: 1 - space_weight - time_weight
    suggest_threshold: float  # from here up to `threshold`: a suggestion for the desk, no link
    max_suggestions: int
    long_street_reaches: float  # a street longer than this many radii: "on it" is no spot
    long_street_hours: float  # ... unless the two reports came this close together
    address_points: Path | None
    landmarks: Path | None
    deelgemeenten: dict[str, str]
    diensten: dict[str, DienstPolicy]
    kind_windows: dict[str, timedelta]
    # `longest_window` of every dienst, worked out once: asked twice a melding, it went through every
    # kind's window each time (a fifth of an in-memory lookup).
    _longest: dict[str, timedelta] = field(init=False, repr=False, compare=False)
    # `window` per (dienst, kinds): asked for every candidate pair, and kinds come in few sets.
    _windows: dict[tuple[str, frozenset[str]], timedelta] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        longest = {
            dienst: max(
                [policy.window, *(w for k, w in self.kind_windows.items() if k.startswith(dienst + "."))]
            )
            for dienst, policy in self.diensten.items()
        }
        object.__setattr__(self, "_longest", longest)
        object.__setattr__(self, "_windows", {})

    def policy(self, dienst: str | None) -> DienstPolicy | None:
        return self.diensten.get(dienst or "")

    def window(self, dienst: str, kind_names: frozenset[str]) -> timedelta:
        """The dienst's window, or the shortest window of the melding's kinds that has one."""
        key = (dienst, kind_names)
        known = self._windows.get(key)
        if known is not None:
            return known
        # Only its own dienst's kinds: a wegen report about a bin also carries nette_stad's kinds.
        own = [
            self.kind_windows[k] for k in kind_names if k in self.kind_windows and k.startswith(dienst + ".")
        ]
        window = min(own) if own else self.diensten[dienst].window
        if len(self._windows) < 10_000:  # bounded for a long-running worker (kinds come in few sets)
            self._windows[key] = window
        return window

    def longest_window(self, dienst: str) -> timedelta:
        """How far back any pair of this dienst may reach (the dienst's and its kinds' windows)."""
        return self._longest[dienst]


def _in(low: float, high: float) -> PlainValidator:
    """A number (not a boolean, not a string) from low to high; the message says which."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"must be a number from {low} to {high}, not {value!r}")
        return float(value)

    return PlainValidator(check)


Days = Annotated[float, _in(0, 3650)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringTable(_Table):
    """[dedupe]"""

    threshold: Annotated[float, _in(0.0, 1.0)] = 0.60
    cell_m: Annotated[float, _in(20.0, 5000.0)] = 150.0
    pin_radius_m: Annotated[float, _in(1.0, 1000.0)] = 25.0
    metres_per_house_number: Annotated[float, _in(0.5, 50.0)] = 4.0
    space_weight: Annotated[float, _in(0.0, 1.0)] = 0.45
    time_weight: Annotated[float, _in(0.0, 1.0)] = 0.1
    suggest_threshold: Annotated[float, _in(0.0, 1.0)] = 0.45
    max_suggestions: Annotated[float, _in(0, 10)] = 3
    long_street_reaches: Annotated[float, _in(1.0, 1000.0)] = 5.0
    long_street_hours: Annotated[float, _in(0.0, 720.0)] = 12.0

    @model_validator(mode="after")
    def _weights_leave_room_for_the_text(self) -> ScoringTable:
        if self.space_weight + self.time_weight > 1:
            raise ValueError("space_weight + time_weight must not exceed 1")
        if self.suggest_threshold > self.threshold:
            raise ValueError("suggest_threshold must not exceed threshold")
        return self


class RegisterTable(_Table):
    """[register]"""

    address_points: str = ""  # relative to the dedupe file; "" for none
    landmarks: str = ""  # idem
    deelgemeenten: dict[str, str] = Field(default_factory=dict)  # name -> postcode


class HotspotsTable(_Table):
    """[hotspots]: the thresholds of every dienst that sets none of its own."""

    min_count: Annotated[float, _in(2, 10_000)] = 4
    window_days: Days = 30
    radius_m: Annotated[float, _in(10, 10_000)] = 250


class DienstTable(_Table):
    """[diensten.<code>]; a hotspot threshold left out is the one of [hotspots]."""

    window_days: Days
    radius_m: Annotated[float, _in(1, 10_000)]
    hotspot_min_count: Annotated[float | None, _in(2, 10_000)] = None
    hotspot_window_days: Annotated[float | None, _in(0, 3650)] = None
    hotspot_radius_m: Annotated[float | None, _in(10, 10_000)] = None


# [diensten]: one required table per dienst code (every dienst needs a window and a radius), no other.
DienstenTable = create_model(
    "DienstenTable", __base__=_Table, **{code: (DienstTable, ...) for code in DIENST_CODES}
)


class DedupeFile(_Table):
    """The whole file."""

    dedupe: ScoringTable = Field(default_factory=ScoringTable)
    # not `register`: that name is taken by the model class (ABCMeta.register)
    register_: RegisterTable = Field(default_factory=RegisterTable, alias="register")
    # validate_default: a file without [diensten] is told which diensten are missing
    diensten: DienstenTable = Field(default_factory=dict, validate_default=True)
    kinds: dict[str, Days] = Field(default_factory=dict)  # problem kind -> window, where not the dienst's
    hotspots: HotspotsTable = Field(default_factory=HotspotsTable)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(kinds.BY_NAME)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
        return v

    def config(self, path: Path) -> DedupeConfig:
        hot = self.hotspots

        def policy(d: DienstTable) -> DienstPolicy:
            def own(value: float | None, default: float) -> float:
                return default if value is None else value

            return DienstPolicy(
                window=timedelta(days=d.window_days),
                radius_m=d.radius_m,
                hotspot_min_count=int(own(d.hotspot_min_count, hot.min_count)),
                hotspot_window=timedelta(days=own(d.hotspot_window_days, hot.window_days)),
                hotspot_radius_m=own(d.hotspot_radius_m, hot.radius_m),
            )

        points, landmarks = self.register_.address_points, self.register_.landmarks
        scoring = self.dedupe.model_dump()
        scoring["max_suggestions"] = int(scoring["max_suggestions"])
        return DedupeConfig(
            **scoring,
            address_points=(path.parent / points) if points else None,  # an absolute one stays itself
            landmarks=(path.parent / landmarks) if landmarks else None,
            deelgemeenten=dict(self.register_.deelgemeenten),
            diensten={code: policy(getattr(self.diensten, code)) for code in DIENST_CODES},
            kind_windows={name: timedelta(days=days) for name, days in self.kinds.items()},
        )


def load(path: Path) -> DedupeConfig:
    return load_toml_model(path, DedupeFile, DedupeConfigError).config(path)
