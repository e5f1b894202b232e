"""BENCHMARKS.md and the `--quick` JSON line, made from the figures the benchmarks return.

Nothing here measures: `render` lays out what `python -m bench` collected (one flat dict of
figures per benchmark), each figure beside the baseline measured in the same run and the
target of issue 11 where there is one. Figures a table does not name are listed under it,
so a benchmark that returns more (or other) figures still shows them all.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.desk import DESK_PAGES, PAGES
from bench.intake import REDIS_URL, ROOT

Figures = Mapping[str, float]


@dataclass(frozen=True)
class Target:
    text: str  # as the issue states it
    met: Callable[[float, float | None], bool]  # (figure, its baseline) -> met?


def at_least(limit: float, unit: str) -> Target:
    return Target(f">= {limit:g} {unit}", lambda value, _base: value >= limit)


def below(limit: float, unit: str) -> Target:
    return Target(f"< {limit:g} {unit}", lambda value, _base: value < limit)


def ratio_at_least(limit: float) -> Target:
    return Target(f">= {limit:.2f}x baseline", lambda value, base: bool(base) and value / base >= limit)


@dataclass(frozen=True)
class Row:
    label: str
    key: str
    baseline: str | None = None
    target: Target | None = None


@dataclass(frozen=True)
class Section:
    bench: str
    title: str
    about: str  # what is measured, what the baseline is (or why there is none)
    columns: tuple[str, str] = ("gateway", "baseline")
    rows: Callable[[Figures], list[Row]] = field(default=lambda figures: [])


LOAD_NAMES = (
    ("req_s", "requests/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("cpu_us", "server CPU µs"),
    ("errors", "errors (answers not as expected)"),
)


def _load_rows(gateway: str, baseline: str, what: str = "requests") -> list[Row]:
    """The rows of a closed-loop load (bench/load.py `LoadResult.figures`) beside its baseline."""
    return [
        Row(label.replace("requests", what), f"{gateway}_{k}", f"{baseline}_{k}") for k, label in LOAD_NAMES
    ]


def _with_target(rows: list[Row], index: int, target: Target, key: str | None = None) -> list[Row]:
    row = rows[index]
    rows[index] = Row(row.label, key or row.key, row.baseline, target)
    return rows


def _intake_rows(f: Figures) -> list[Row]:
    rows = _load_rows("intake_gateway", "intake_baseline")
    _with_target(rows, 0, ratio_at_least(0.8))
    _with_target(rows, 2, below(100, "ms"))
    rows.append(Row("peak RSS MB", "intake_gateway_rss_mb", "intake_baseline_rss_mb", below(500, "MB")))
    return rows


_PIPELINES = {  # bench/worker.py's runs, in the order they are read
    "pipeline_sqlite_1w": "1 worker, SQLite: meldingen/s",
    "pipeline_pg_1w": "1 worker, PostgreSQL: meldingen/s",
    "pipeline_pg_2w": "2 workers, PostgreSQL: meldingen/s",
}
_NOT_A_RATE = {"pipeline_meldingen"}  # how many meldingen each run took: a count, listed below the table


def _worker_rows(f: Figures) -> list[Row]:
    """bench/worker.py: every pipeline rate beside arq's no-op rate (the queue's own ceiling)."""
    keys = [k for k in _PIPELINES if k in f]
    keys += sorted(k for k in f if k.startswith("pipeline_") and k not in _PIPELINES and k not in _NOT_A_RATE)
    rows = []
    for key in keys:
        target = at_least(300, "meldingen/s") if key.endswith("_1w") else None
        label = _PIPELINES.get(key) or key.removeprefix("pipeline_").replace("_", " ") + " meldingen/s"
        rows.append(Row(label, key, "arq_noop_jobs_s", target))
    if "second_worker_gain_pct" in f:
        rows.append(Row("second worker gain %", "second_worker_gain_pct", None, at_least(70, "%")))
    if "worker_rss_mb" in f:
        rows.append(Row("worker peak RSS MB", "worker_rss_mb", None, below(500, "MB")))
    return rows


def _email_rows(f: Figures) -> list[Row]:
    rows = _load_rows("email_gateway", "email_baseline", "messages")
    rows[0] = Row("messages/s", "email_gateway_msg_s", "email_baseline_msg_s", at_least(300, "messages/s"))
    return rows


def _sms_rows(f: Figures) -> list[Row]:
    return _with_target(_load_rows("sms_gateway", "sms_baseline", "webhooks"), 2, below(50, "ms"))


def _classify_rows(f: Figures) -> list[Row]:
    return [
        Row("meldingen/s end to end (start-up included)", "classify_default_per_s", "classify_jobs1_per_s"),
        Row("meldingen/s once started", "classify_default_started_per_s", "classify_jobs1_started_per_s"),
        Row("start-up s (empty input)", "classify_default_startup_s", "classify_jobs1_startup_s"),
        Row("CPU µs per melding", "classify_default_cpu_us", "classify_jobs1_cpu_us"),
        Row("keyword rules alone µs per melding (in process)", "classify_rules_us", None, below(1000, "µs")),
        Row("model on disk MB", "classify_model_mb"),
        Row("cold model load s", "classify_model_load_s"),
        Row("spaCy import s", "classify_spacy_import_s"),
    ]


def _dedupe_rows(f: Figures) -> list[Row]:
    rows = [
        Row("locate + text features p50 ms (any size)", "dedupe_features_p50_ms"),
        Row("locate + text features p95 ms (any size)", "dedupe_features_p95_ms"),
    ]
    sizes = sorted({int(m.group(1)) for k in f if (m := re.match(r"dedupe_(\d+)_", k))})
    for size in sizes:
        p = f"dedupe_{size}"
        rows += [
            Row(f"{size:,} open: memory index p50 ms", f"{p}_memory_p50_ms", f"{p}_brute_p50_ms"),
            Row(f"{size:,} open: memory index p95 ms", f"{p}_memory_p95_ms", f"{p}_brute_p95_ms"),
            Row(f"{size:,} open: store p50 ms", f"{p}_store_p50_ms", f"{p}_brute_p50_ms"),
            Row(f"{size:,} open: store p95 ms", f"{p}_store_p95_ms", f"{p}_brute_p95_ms"),
            Row(f"{size:,} open: index MB", f"{p}_index_mb"),
            Row(f"{size:,} open: candidates per melding", f"{p}_candidates"),
        ]
    return rows


def _desk_rows(f: Figures) -> list[Row]:
    rows = []
    for page in PAGES:
        load = _load_rows(f"desk_{page}", f"desk_{page}_baseline")
        rows += [Row(f"{page}: {r.label}", r.key, r.baseline) for r in load]
        rows.append(Row(f"{page}: page bytes", f"desk_{page}_bytes"))
        if page in DESK_PAGES:
            rows.append(Row(f"{page}: p95 ms", f"desk_{page}_p95_ms", None, below(200, "ms")))
    for days in (7, 30, 90, 365):  # the overview computed in a fresh process, before anything is cached
        rows.append(Row(f"overview over {days} days, not cached: ms", f"desk_overview_cold_{days}d_ms"))
    return rows


def _memory_rows(f: Figures) -> list[Row]:
    limit = below(500, "MB")
    return [
        Row("`gateway serve` under intake load, MB", "memory_serve_mb", "memory_baseline_mb", limit),
        Row("`gateway worker` delivering, MB", "memory_worker_mb", None, limit),
        Row("meldingen the worker delivered meanwhile", "memory_worker_delivered"),
    ]


def _addresses_rows(f: Figures) -> list[Row]:
    rows = []
    for name, what in (("shipped", "shipped register"), ("city", "3,000-street register")):
        p = f"addresses_{name}"
        rows += [
            Row(f"{what}: search p50 ms", f"{p}_p50_ms", f"{p}_brute_p50_ms"),
            Row(f"{what}: search p95 ms", f"{p}_p95_ms", f"{p}_brute_p95_ms"),
            Row(f"{what}: index build ms (once, at start-up)", f"{p}_build_ms"),
        ]
    rows += [
        Row("HTTP request p50 ms (shipped register)", "addresses_http_p50_ms"),
        Row("HTTP request p95 ms (shipped register)", "addresses_http_p95_ms"),
    ]
    return rows


SECTIONS = (
    Section(
        "intake",
        "Intake: `POST /api/v1/meldingen`",
        "The real intake (`gateway serve`: validation, durable store write, enqueue) and the baseline "
        "(`bench/baseline.py`: a bare aiohttp handler, JSON parse + Redis SET NX + arq enqueue), one after "
        "the other, each in its own process, 50 keep-alive connections in a closed loop, median round.",
        rows=_intake_rows,
    ),
    Section(
        "worker",
        "Worker: meldingen through `gateway worker`",
        "Each pipeline figure (route, locate, dedupe, deliver to a local webhook, status, notification "
        "decision) beside arq's own rate for a no-op job with the gateway's settings: the ceiling of the "
        "queue itself.",
        ("pipeline", "arq no-op jobs/s"),
        rows=_worker_rows,
    ),
    Section(
        "email",
        "E-mail: the SMTP listener",
        "Distinct messages (text + HTML, a photo in one of five) over 8 SMTP sessions to `gateway serve` "
        "(parsed, stored, enqueued), and the same to the baseline: a bare aiosmtpd handler that only sets "
        "the Message-ID in Redis (SET NX) and enqueues.",
        rows=_email_rows,
    ),
    Section(
        "sms",
        "SMS: the Twilio webhook",
        "Signed Twilio webhooks (one in ten an MMS) through `POST /channels/twilio/sms` to TwiML, and the "
        "same to the baseline: aiohttp parsing the form, checking the signature with the twilio library, "
        "SET NX on the MessageSid, enqueue, a fixed TwiML answer.",
        rows=_sms_rows,
    ),
    Section(
        "classify",
        "Classify: `gateway classify` on 10,000 texts",
        "No outside baseline does the same work (rules + a trained model); the default (`--jobs` = cores, "
        "forked after the model is loaded) stands beside one process (`--jobs 1`), and the start-up every "
        "run pays (Python, imports, spaCy, the model) is measured apart with an empty input.",
        ("default", "--jobs 1"),
        rows=_classify_rows,
    ),
    Section(
        "dedupe",
        "Duplicates: time per melding to find its duplicates",
        "`Deduper.best` over the in-memory index of `gateway dedupe` and over the worker's store (SQLite "
        "unless `--database-url`), beside a brute-force scan (rapidfuzz over the texts of every open "
        "melding, then dienst and distance: what a store without blocking would do).",
        ("blocked lookup", "brute force"),
        rows=_dedupe_rows,
    ),
    Section(
        "desk",
        "Desk and tracking pages",
        "`gateway serve` over a store filled through `Store.intake` (100,000 meldingen, 2,000 with "
        "`--quick`; a tenth in triage): the tracking page `/t/{token}` (Jinja2), the desk's triage queue "
        "`GET /api/v1/meldingen?stage=triage&limit=50` and one melding `GET /api/v1/meldingen/{id}`, 10 "
        "connections in a closed loop. Baseline: aiohttp answering a fixed body of the same size (no store, "
        "no template). `POST /api/v1/meldingen/{id}/dienst` (gateway/http/desk.py) is a signed write, not "
        "a page. The desk's own pages, logged in: `/desk/triage` (first 25 of the queue), "
        "`/desk/meldingen/{id}`, `/desk/waiting`, the search `/desk/search` by street, text and "
        "reporter (full-text; a directory lookup recorded per result), and `/desk/overview?days=365` and "
        "its charts (cached 60 s; the first computation of each period is timed apart).",
        rows=_desk_rows,
    ),
    Section(
        "memory",
        "Memory: peak resident set (VmHWM)",
        "`gateway serve` under the intake load beside the bare baseline under the same load; `gateway "
        "worker` routing and delivering what that intake stored. Read from /proc/<pid>/status before each "
        "process stops.",
        rows=_memory_rows,
    ),
    Section(
        "addresses",
        "Address suggestions: `GET /api/v1/addresses?q=`",
        "Thirteen queries a citizen types (typos, abbreviations, beginnings, no accents, house numbers) "
        "against the index the gateway builds at start-up (gateway/http/addresses.py), over the shipped "
        "register and a 3,000-street one made from its names; the HTTP figure is the whole request "
        "in-process. Baseline: no index, every name folded and scored with rapidfuzz's WRatio per query.",
        ("index", "brute force"),
        rows=_addresses_rows,
    ),
)


def number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.3f}"


def times(ratio: float) -> str:
    """A ratio, with the digits that tell 0.004x from 0.0004x."""
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def _table(section: Section, figures: Figures) -> list[str]:
    rows = section.rows(figures)
    used = {r.key for r in rows} | {r.baseline for r in rows if r.baseline}
    lines = [
        f"| figure | {section.columns[0]} | {section.columns[1]} | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        value = figures.get(row.key)
        if value is None:
            continue
        base = figures.get(row.baseline) if row.baseline else None
        ratio = times(value / base) if base and not math.isnan(base) else ""
        met = ""
        if row.target is not None:
            met = "yes" if row.target.met(value, base) else "**no**"
        target = row.target.text if row.target else ""
        shown_base = number(base) if row.baseline else ""
        lines.append(f"| {row.label} | {number(value)} | {shown_base} | {ratio} | {target} | {met} |")
    used |= {k for k in figures if k.endswith("_ratio")}  # the ratio column shows them
    rest = sorted(k for k in figures if k not in used)
    if rest:
        lines += ["", "| further figure | value |", "|---|---|"]
        lines += [f"| `{k}` | {number(figures[k])} |" for k in rest]
    return lines


@dataclass
class BenchRun:
    """What `python -m bench` collected: figures per benchmark, in the order run."""

    results: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # how long each took
    failures: dict[str, str] = field(default_factory=dict)  # the error of each that failed


@dataclass(frozen=True)
class RunInfo:
    machine: Mapping[str, str]
    date: str
    commit: str
    command: str


def render(run: BenchRun, info: RunInfo) -> str:
    """BENCHMARKS.md: the machine, then one table per benchmark that ran, in the order run."""
    results, failures, seconds = run.results, run.failures, run.seconds
    date, commit, command = info.date, info.commit, info.command
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` (bench/report.py; do not edit by hand). Date {date}, commit `{commit}`.",
        "Every figure stands beside its baseline measured in the same run; nothing here is asserted",
        "by the tests. Client, servers, Redis and the database share the machine's cores: read the",
        "server CPU per request where other load may have distorted a rate. How each benchmark works:",
        "bench/README.md.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.machine.items()),
    ]
    by_bench = {s.bench: s for s in SECTIONS}
    for bench in [*results, *(b for b in failures if b not in results)]:
        section = by_bench.get(bench, Section(bench, bench, "A benchmark bench/report.py has no table for."))
        took = f" ({seconds[bench]:.0f} s)" if bench in seconds else ""
        lines += ["", f"## {section.title}{took}", "", section.about, ""]
        if bench in failures:
            lines.append(f"**Failed**: {failures[bench]}")
        elif not results[bench]:
            lines.append(f"No figures: `bench/{bench}.py` returned none.")
        else:
            lines += _table(section, results[bench])
    return "\n".join(lines) + "\n"


def flatten(results: Mapping[str, Figures]) -> dict[str, float]:
    """One name -> number dict; a name two benchmarks share gets the later one's name as prefix."""
    flat: dict[str, float] = {}
    for bench, figures in results.items():
        for key, value in figures.items():
            flat[f"{bench}.{key}" if key in flat else key] = value
    return flat


def json_line(results: Mapping[str, Figures], machine: str, date: str) -> str:
    """The last line of `--quick`: every figure, plus "machine" and "date"; NaN becomes null."""
    flat = {k: (None if math.isnan(v) else round(v, 4)) for k, v in flatten(results).items()}
    return json.dumps({**flat, "machine": machine, "date": date}, ensure_ascii=False)


def machine_info() -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python, Redis and PostgreSQL versions of this machine."""
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    return {
        "CPU": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "RAM": f"{int(mem.group(1)) / 2**20:.1f} GiB" if mem else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Redis": _redis_version(),
        "PostgreSQL": _postgres_version(),
    }


def machine_summary(machine: Mapping[str, str]) -> str:
    return f"{machine['CPU']}, {machine['cores']} cores, {machine['RAM']}, Python {machine['Python']}"


def git_commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _redis_version() -> str:
    import redis

    try:
        return str(redis.Redis.from_url(REDIS_URL, socket_timeout=2).info("server")["redis_version"])
    except redis.RedisError as exc:
        return f"unknown ({exc})"


def _postgres_version() -> str:
    """The server's version when one answers (GATEWAY_TEST_PG_ADMIN_URL), else the client's."""
    import asyncio

    import asyncpg

    url = os.environ.get("GATEWAY_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

    async def ask() -> str:
        conn = await asyncpg.connect(url, timeout=3)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return asyncio.run(ask())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"not reachable ({type(exc).__name__})"
