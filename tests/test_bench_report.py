"""`python -m bench`: the report it writes and its command line, without running a benchmark.

A real `python -m bench --quick` takes minutes of the machine: too long for the suite. These
tests feed the report writer a run's figures and check what a reader of BENCHMARKS.md and a
consumer of the `--quick` JSON line rely on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

import bench.__main__ as cli
from bench import report
from bench.dedupe import STREAMS, stream_meldingen
from bench.desk import DESK_PAGES

MACHINE = {
    "CPU": "Test CPU @ 2.0GHz",
    "cores": "2",
    "RAM": "3.8 GiB",
    "OS": "Linux 6.1",
    "Python": "3.11.7",
    "Redis": "7.0.15",
    "PostgreSQL": "15.8",
}
INFO = report.RunInfo(MACHINE, "2026-12-02 20:00 UTC", "abc1234", "python -m bench")

INTAKE = {
    "intake_gateway_req_s": 3516.0,
    "intake_gateway_p50_ms": 12.7,
    "intake_gateway_p99_ms": 26.1,
    "intake_gateway_cpu_us": 247.0,
    "intake_gateway_rss_mb": 118.0,
    "intake_baseline_req_s": 4173.0,
    "intake_baseline_p50_ms": 11.8,
    "intake_baseline_p99_ms": 18.5,
    "intake_baseline_cpu_us": 236.0,
    "intake_baseline_rss_mb": 41.0,
    "intake_ratio": 3516.0 / 4173.0,
    "intake_gateway_errors": 0.0,
    "intake_baseline_errors": 0.0,
}
WORKER = {  # what bench/worker.py returns once it measures PostgreSQL and two workers
    "arq_noop_jobs_s": 2400.0,
    "pipeline_sqlite_1w": 310.0,
    "pipeline_pg_1w": 250.0,
    "pipeline_pg_2w": 400.0,
    "second_worker_gain_pct": 60.0,
    "worker_rss_mb": 230.0,
    "pipeline_meldingen": 2000,  # a count, not a rate
}


def rows_of(text: str) -> dict[str, list[str]]:
    """Table rows of a Markdown text by their first cell."""
    out = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0]] = cells[1:]
    return out


def test_each_figure_stands_beside_its_baseline_with_the_ratio_and_the_target() -> None:
    figures = {**INTAKE, "intake_gateway_new_figure": 7.0}
    text = report.render(report.BenchRun(results={"intake": figures}, seconds={"intake": 61.0}), INFO)
    assert "## Intake: `POST /api/v1/meldingen` (61 s)" in text
    assert "Date 2026-12-02 20:00 UTC, commit `abc1234`" in text
    rows = rows_of(text)
    assert rows["requests/s"] == ["3,516", "4,173", "0.84x", ">= 0.80x baseline", "yes"]
    assert rows["p99 ms"] == ["26.1", "18.5", "1.41x", "< 100 ms", "yes"]
    assert rows["peak RSS MB"][:2] == ["118", "41.0"]
    assert rows["errors (answers not as expected)"][:3] == ["0.00", "0.00", ""]
    # a figure no table names is still shown, under the table; the ratio column makes *_ratio redundant
    assert rows["`intake_gateway_new_figure`"] == ["7.00"]
    assert "`intake_ratio`" not in rows
    for key, value in MACHINE.items():
        assert rows[key] == [value]


def test_a_target_missed_is_marked() -> None:
    slow = {**INTAKE, "intake_gateway_req_s": 2000.0, "intake_gateway_p99_ms": 140.0}
    rows = rows_of(report.render(report.BenchRun(results={"intake": slow}), INFO))
    assert rows["requests/s"][2:] == ["0.48x", ">= 0.80x baseline", "**no**"]
    assert rows["p99 ms"][-1] == "**no**"


def test_every_pipeline_figure_of_the_worker_is_paired_with_the_arq_noop_rate() -> None:
    rows = rows_of(report.render(report.BenchRun(results={"worker": WORKER}), INFO))
    assert rows["1 worker, SQLite: meldingen/s"] == ["310", "2,400", "0.13x", ">= 300 meldingen/s", "yes"]
    assert rows["1 worker, PostgreSQL: meldingen/s"][-1] == "**no**"
    assert rows["2 workers, PostgreSQL: meldingen/s"][:3] == ["400", "2,400", "0.17x"]
    assert not any("meldingen meldingen/s" in label for label in rows)
    assert rows["`pipeline_meldingen`"] == ["2,000"]
    assert rows["second worker gain %"] == ["60.0", "", "", ">= 70 %", "**no**"]
    assert rows["worker peak RSS MB"][-1] == "yes"


def test_every_desk_page_the_searches_included_is_held_to_200_ms_p95() -> None:
    desk = {f"desk_{page}_p95_ms": 150.0 for page in DESK_PAGES} | {"desk_search_text_p95_ms": 210.0}
    desk |= {"desk_melding_p95_ms": 90.0}  # the API's melding: no desk page, no target
    rows = rows_of(report.render(report.BenchRun(results={"desk": desk}), INFO))
    assert rows["search_street: p95 ms"] == ["150", "", "", "< 200 ms", "yes"]
    assert rows["search_text: p95 ms"][-1] == "**no**"
    assert {f"{page}: p95 ms" for page in DESK_PAGES} <= set(rows)
    assert "melding: p95 ms" not in rows and rows["`desk_melding_p95_ms`"] == ["90.0"]


def test_the_dedupe_bench_reads_its_fixed_streams_and_never_a_probe() -> None:
    """A stream added later must not shift its figures; the held-out probes are for scoring only."""
    assert not any(name.startswith("probe") for name in STREAMS)
    ids = {m.id.partition(":")[0] for m in stream_meldingen()}
    assert ids == {f"stream_{name}" for name in STREAMS}


def test_a_small_ratio_keeps_its_digits() -> None:
    dedupe = {"dedupe_100000_memory_p50_ms": 0.15, "dedupe_100000_brute_p50_ms": 166.0}
    rows = rows_of(report.render(report.BenchRun(results={"dedupe": dedupe}), INFO))
    assert rows["100,000 open: memory index p50 ms"][:3] == ["0.15", "166", "0.0009x"]


def test_a_benchmark_without_figures_or_that_failed_says_so() -> None:
    run = report.BenchRun(results={"worker": {}}, failures={"sms": "RuntimeError: server did not start"})
    text = report.render(run, INFO)
    assert "No figures: `bench/worker.py` returned none." in text
    assert "**Failed**: RuntimeError: server did not start" in text


def test_the_json_line_holds_every_figure_the_machine_and_the_date() -> None:
    line = report.json_line({"intake": INTAKE, "worker": WORKER}, "Test CPU, 2 cores", "2026-12-02 20:00 UTC")
    data = json.loads(line)
    assert data["machine"] == "Test CPU, 2 cores" and data["date"] == "2026-12-02 20:00 UTC"
    assert data["intake_gateway_req_s"] == 3516.0 and data["pipeline_pg_2w"] == 400.0
    assert "\n" not in line


def test_a_name_two_benchmarks_share_keeps_both() -> None:
    flat = report.flatten({"email": {"errors": 1.0}, "sms": {"errors": 2.0}})
    assert flat == {"errors": 1.0, "sms.errors": 2.0}


@pytest.fixture
def no_benchmarks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, Any]]]:
    """`run` records what it was asked and returns figures; no benchmark runs."""
    calls: list[tuple[list[str], dict[str, Any]]] = []

    def fake_run(names: list[str], opts: dict[str, Any]) -> report.BenchRun:
        calls.append((list(names), opts))
        return report.BenchRun(results={"intake": INTAKE, "worker": {}}, seconds={"intake": 12.0})

    monkeypatch.setattr(cli, "run", fake_run)
    monkeypatch.setattr(report, "machine_info", lambda: dict(MACHINE))
    return calls


def test_quick_prints_one_json_object_last_and_writes_nothing_by_default(
    no_benchmarks: list[tuple[list[str], dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(datetime(2026, 12, 2, 20, 15, tzinfo=UTC), tick=False):
        assert cli.main(["--quick"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    data = json.loads(last)
    assert data["date"] == "2026-12-02 20:15 UTC"
    assert data["machine"] == "Test CPU @ 2.0GHz, 2 cores, 3.8 GiB, Python 3.11.7"
    assert data["intake_gateway_p99_ms"] == 26.1
    assert no_benchmarks == [(list(cli.BENCHES), {"quick": True})]
    assert cli.output_path(cli.parse(["--quick"])) is None


def test_output_writes_the_report_where_asked(
    no_benchmarks: list[tuple[list[str], dict[str, Any]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "BENCH.md"
    assert cli.main(["intake", "--seconds", "2", "--output", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert "Generated by `python -m bench intake --seconds 2 --output" in text
    assert rows_of(text)["requests/s"][:3] == ["3,516", "4,173", "0.84x"]
    assert no_benchmarks == [(["intake"], {"quick": False, "seconds": 2.0})]
    assert not capsys.readouterr().out.strip().splitlines()[-1].startswith("{")  # JSON only with --quick


def test_only_a_full_run_overwrites_benchmarks_md() -> None:
    assert cli.output_path(cli.parse([])) == cli.DEFAULT_OUTPUT
    assert cli.output_path(cli.parse(list(cli.BENCHES))) == cli.DEFAULT_OUTPUT
    assert cli.output_path(cli.parse(["sms"])) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["intake", "nope"], "unknown benchmark nope; choose from intake, worker, email, sms, classify,"),
        (["--seconds", "0"], "--seconds must be above 0"),
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--fast"], "unrecognized arguments: --fast"),
    ],
)
def test_the_command_line_refuses_what_it_does_not_know(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
