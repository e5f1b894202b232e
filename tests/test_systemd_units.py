"""The systemd units in config/systemd: they parse, start a real `gateway` subcommand, restart
always, run as their own user with secrets from an EnvironmentFile, and are hardened."""

from __future__ import annotations

import argparse
import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import build_parser
from tests.support.data import ROOT

UNITS = ROOT / "config" / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))
INSTALLED = "/opt/gateway/.venv/bin/gateway"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)  # Environment= may repeat
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def subcommands() -> set[str]:
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_the_units_we_ship() -> None:
    assert {p.name for p in SERVICES} == {"gateway-serve.service", "gateway-worker@.service"}
    assert "serve" in subcommands()  # `serve` runs the SMTP listener too: no unit of its own


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_unit_runs_a_gateway_subcommand_restarting_hardened(path: Path) -> None:
    service = unit(path)["Service"]
    binary, command, *_ = shlex.split(service["ExecStart"])
    assert binary == INSTALLED and command in subcommands()
    assert service["Restart"] == "always" and float(service["RestartSec"]) > 0
    assert service["User"] == "gateway" and service["EnvironmentFile"] == "/etc/gateway/gateway.env"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""  # no capability at all: ports above 1024
    # Longer than a worker's SIGTERM grace, so running jobs can finish before SIGKILL.
    assert float(service["TimeoutStopSec"]) > 15
    assert unit(path)["Install"]["WantedBy"] == "gateway.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at this checkout's gateway command.
    gateway = Path(sys.executable).with_name("gateway")
    files = []
    for path in [*SERVICES, UNITS / "gateway.target"]:
        name = path.name.replace("@.service", "@1.service")  # a template is verified as an instance
        target = tmp_path / name
        target.write_text(path.read_text(encoding="utf-8").replace(INSTALLED, str(gateway)), encoding="utf-8")
        files.append(str(target))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True, timeout=60
    )
    # An unknown key or a bad value is only a warning ("..., ignoring"): any output is a failure.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
