"""`config/dedupe.toml`: windows, radii, the decision threshold and hotspot thresholds.

The file documents every key; `load` refuses unknown keys and bad values with the key named,
like the gateway's own settings.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.config import ConfigError
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
    threshold: float = 0.60
    cell_m: float = 150.0
    pin_radius_m: float = 25.0
    metres_per_house_number: float = 4.0
    space_weight: float = 0.45
    time_weight: float = 0.1  # the text has the rest: 1 - space_weight - time_weight
    address_points: Path | None = None
    deelgemeenten: dict[str, str] = field(default_factory=dict)
    diensten: dict[str, DienstPolicy] = field(default_factory=dict)
    kind_windows: dict[str, timedelta] = field(default_factory=dict)

    def policy(self, dienst: str | None) -> DienstPolicy | None:
        return self.diensten.get(dienst or "")

    def window(self, dienst: str, kind_names: frozenset[str]) -> timedelta:
        """The dienst's window, or the shortest window of the melding's kinds that has one."""
        policy = self.diensten[dienst]
        own = [self.kind_windows[k] for k in kind_names if k in self.kind_windows]
        return min(own) if own else policy.window

    def longest_window(self, dienst: str) -> timedelta:
        """How far back any pair of this dienst may reach (the dienst's and its kinds' windows)."""
        windows = [self.diensten[dienst].window]
        windows += [w for k, w in self.kind_windows.items() if k.startswith(dienst + ".")]
        return max(windows)

    @property
    def max_window(self) -> timedelta:
        windows = [p.window for p in self.diensten.values()] + list(self.kind_windows.values())
        return max(windows, default=timedelta(0))


_TOP = {"dedupe", "register", "diensten", "kinds", "hotspots"}
_DEDUPE = {"threshold", "cell_m", "pin_radius_m", "metres_per_house_number", "space_weight", "time_weight"}
_REGISTER = {"address_points", "deelgemeenten"}
_HOTSPOTS = {"min_count", "window_days", "radius_m"}
_DIENST = {"window_days", "radius_m", "hotspot_min_count", "hotspot_window_days", "hotspot_radius_m"}


def _number(where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise DedupeConfigError(f"{where}: must be a number from {low} to {high}, not {value!r}")
    return float(value)


def _table(where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DedupeConfigError(f"{where}: must be a table")
    unknown = set(value) - allowed
    if unknown:
        raise DedupeConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return value


def load(path: Path) -> DedupeConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DedupeConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DedupeConfigError(f"{path}: not valid TOML: {exc}") from exc
    data = _table(str(path), data, _TOP)
    top = _table(f"{path} [dedupe]", data.get("dedupe", {}), _DEDUPE)
    values: dict[str, Any] = {}
    for key, (low, high) in {
        "threshold": (0.0, 1.0),
        "cell_m": (20.0, 5000.0),
        "pin_radius_m": (1.0, 1000.0),
        "metres_per_house_number": (0.5, 50.0),
        "space_weight": (0.0, 1.0),
        "time_weight": (0.0, 1.0),
    }.items():
        if key in top:
            values[key] = _number(f"{path} [dedupe] {key}", top[key], low, high)

    register = _table(f"{path} [register]", data.get("register", {}), _REGISTER)
    points = register.get("address_points", "")
    if not isinstance(points, str):
        raise DedupeConfigError(f"{path} [register] address_points: must be a file name")
    if points:
        values["address_points"] = (path.parent / points) if not Path(points).is_absolute() else Path(points)
    deel = register.get("deelgemeenten", {})
    if not isinstance(deel, dict) or not all(isinstance(v, str) for v in deel.values()):
        raise DedupeConfigError(f'{path} [register.deelgemeenten]: name = "postcode" pairs')
    values["deelgemeenten"] = dict(deel)

    hot = _table(f"{path} [hotspots]", data.get("hotspots", {}), _HOTSPOTS)
    hot_count = int(_number(f"{path} [hotspots] min_count", hot.get("min_count", 4), 2, 10_000))
    hot_days = _number(f"{path} [hotspots] window_days", hot.get("window_days", 30), 0, 3650)
    hot_radius = _number(f"{path} [hotspots] radius_m", hot.get("radius_m", 250), 10, 10_000)

    diensten = _table(f"{path} [diensten]", data.get("diensten", {}), set(DIENST_CODES))
    policies = {}
    for code in DIENST_CODES:
        where = f"{path} [diensten.{code}]"
        if code not in diensten:
            raise DedupeConfigError(f"{where}: missing (every dienst needs a window and a radius)")
        entry = _table(where, diensten[code], _DIENST)
        for needed in ("window_days", "radius_m"):
            if needed not in entry:
                raise DedupeConfigError(f"{where}: {needed} is required")
        policies[code] = DienstPolicy(
            window=timedelta(days=_number(f"{where} window_days", entry["window_days"], 0, 3650)),
            radius_m=_number(f"{where} radius_m", entry["radius_m"], 1, 10_000),
            hotspot_min_count=int(
                _number(f"{where} hotspot_min_count", entry.get("hotspot_min_count", hot_count), 2, 10_000)
            ),
            hotspot_window=timedelta(
                days=_number(
                    f"{where} hotspot_window_days", entry.get("hotspot_window_days", hot_days), 0, 3650
                )
            ),
            hotspot_radius_m=_number(
                f"{where} hotspot_radius_m", entry.get("hotspot_radius_m", hot_radius), 10, 10_000
            ),
        )
    values["diensten"] = policies

    kind_windows = {}
    for name, days in _table(f"{path} [kinds]", data.get("kinds", {}), set(kinds.BY_NAME)).items():
        kind_windows[name] = timedelta(days=_number(f"{path} [kinds] {name}", days, 0, 3650))
    values["kind_windows"] = kind_windows
    if values.get("space_weight", 0.45) + values.get("time_weight", 0.1) > 1:
        raise DedupeConfigError(f"{path} [dedupe]: space_weight + time_weight must not exceed 1")
    return DedupeConfig(**values)
