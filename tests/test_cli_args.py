"""The command line refuses what cannot work in one line: numbers out of range (argparse's own
error, exit 2) and a port that cannot be had (as `gateway serve` says it, exit 2)."""

from __future__ import annotations

import socket

import pytest

from gateway.cli import main


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # nan and -1 sent nothing to triage, 2 everything; -5 days printed "in the last -5 days"
        (["classify", "--threshold", "nan"], "argument --threshold: 'nan' is not a finite number"),
        (["classify", "--threshold", "-1"], "argument --threshold: -1 is not a number from 0 to 1"),
        (["classify", "--threshold", "2"], "argument --threshold: 2 is not a number from 0 to 1"),
        (["eval", "--threshold", "1.5"], "argument --threshold: 1.5 is not a number from 0 to 1"),
        (["classify", "--jobs", "0"], "argument --jobs: 0 is not a whole number of at least 1"),
        (["hotspots", "--days", "-5"], "argument --days: -5 is not a number above 0"),
        (["hotspots", "--days", "inf"], "argument --days: 'inf' is not a finite number"),
        (["train", "--processes", "-1"], "argument --processes: -1 is not a whole number of at least 0"),
        (["receiver", "--port", "99999"], "argument --port: 99999 is not a whole number from 1 to 65535"),
        (["receiver", "--port", "http"], "argument --port: 'http' is not a whole number"),
    ],
)
def test_a_number_out_of_range_is_refused_before_any_work(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"gateway {args[0]}: error: {said}"


@pytest.mark.parametrize("value", ["0", "0.7", "1"])
def test_a_threshold_from_0_to_1_is_taken(value: str) -> None:
    from gateway.cli import build_parser

    assert build_parser().parse_args(["classify", "--threshold", value]).threshold == float(value)


def test_the_receiver_on_a_taken_port_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["receiver", "--port", str(port)]) == 2  # used to be an OSError traceback
    err = capsys.readouterr().err
    assert err.startswith(f"gateway: cannot listen on 127.0.0.1:{port} (")
    assert err.endswith("); choose another --port\n") and err.count("\n") == 1
