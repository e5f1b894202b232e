"""The Open311 service types: the diensten of `config/diensten.toml` (their `name`, `handled_by` and
`external`). The file is read directly, not through gateway.classify: a channel knows nothing of
routing, and the service list needs only these three keys of each dienst (the classifier validates
the whole file when the workers load it)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.melding import DIENST_CODES

# Info questions are answered by the 1777 desk at once: not a service request an app can file.
NOT_OFFERED = frozenset({"info"})


@dataclass(frozen=True)
class Service:
    code: str  # the dienst code: the service_code
    name: str
    handled_by: str
    external: bool

    @property
    def group(self) -> str:
        return "externe partner" if self.external else "stad"

    def as_dict(self) -> dict[str, object]:
        """The spec's service element (GET services)."""
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": f"Behandeld door {self.handled_by}.",
            "metadata": False,  # no attributes beyond the spec's fields
            "type": "realtime",  # the reference is known as soon as the request is stored
            "keywords": None,
            "group": self.group,
        }


@functools.cache
def _read(path: Path, mtime: float) -> tuple[Service, ...]:
    with path.open("rb") as f:
        tables = tomllib.load(f).get("diensten", {})
    return tuple(
        Service(code, str(t["name"]), str(t["handled_by"]), bool(t.get("external", False)))
        for code in DIENST_CODES
        if code not in NOT_OFFERED and isinstance(t := tables.get(code), dict)
    )


def services(diensten_file: Path) -> tuple[Service, ...]:
    """The services offered, in the order of PRODUCT.md; re-read when the file changes."""
    return _read(diensten_file, diensten_file.stat().st_mtime)


def service(diensten_file: Path, code: str) -> Service | None:
    return next((s for s in services(diensten_file) if s.code == code), None)
