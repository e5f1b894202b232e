"""`gateway classify`, `gateway eval` and `gateway train` as the command line runs them."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.classify import model as m
from gateway.classify.router import HybridRouter
from gateway.cli import classify as commands
from gateway.cli import main
from gateway.melding import DIENST_CODES, Channel, MeldingDraft, RoutingDecision
from gateway.store import Store, meldingen
from gateway.store import desk as desk_store
from tests.support.classify import (
    SMALL,
    copy_of_small_model,
    rules,
    small_model_dir,
    subset,
    use_few_dev_sets,
)
from tests.support.data import ROOT
from tests.support.http import free_port

LINES = [
    {"id": "a1", "text": "De straatlamp voor nummer 12 brandt al een week niet meer."},
    {"id": 2, "text": "Goeiemiddag, ik had een vraagje. Groetjes", "channel": "sms"},
    "{not json",
    {"text": "no id here"},
    ["an", "array"],
    "",
    {"id": "s1", "subject": "Sluikstort", "text": "Aan de glasbol liggen zakken en een matras."},
    {"id": "bad-text", "text": 42},
    {"id": "bad-subject", "text": "x", "subject": ["no"]},
    {"id": "fr", "text": "Bonjour, il y a un nid de guêpes sous le toit de l'abri de bus. Merci"},
    {"id": "en", "text": "Hi, the traffic light at the crossing is stuck on red since this morning."},
    {"id": "leeg", "text": ""},
]


def _stdin(lines: list[Any]) -> bytes:
    rows = [line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines]
    return ("\n".join(rows) + "\n").encode()


def _env(model_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_MODEL_DIR": str(model_dir),
        "GATEWAY_MODEL_AUTOTRAIN": "false",
        "GATEWAY_LOG_FORMAT": "text",
        # Nothing listens here: classify must need neither Redis nor a database.
        "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "GATEWAY_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
    }
    return env | extra


def _gateway(args: list[str], stdin: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_classify_contract_one_line_out_per_line_in_without_redis_or_database() -> None:
    done = _gateway(["classify"], _stdin(LINES), _env(small_model_dir()))
    assert done.returncode == 0, done.stderr.decode()
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(out) == len(LINES)
    version = m.current_version(small_model_dir())
    by_id = {}
    for given, got in zip(LINES, out, strict=True):
        if isinstance(given, dict) and "id" in given and isinstance(given.get("text"), str):
            if not isinstance(given.get("subject", ""), str):
                continue
            assert got["id"] == given["id"]
            assert got["dienst"] in DIENST_CODES
            assert 0.0 <= got["confidence"] <= 1.0
            assert len(got["alternatives"]) == 3
            assert all(code in DIENST_CODES and 0 <= p <= 1 for code, p in got["alternatives"])
            assert isinstance(got["triage"], bool)
            assert got["routed_by"].startswith(("rules:", f"model:{version}"))
            by_id[got["id"]] = got
        else:
            assert "error" in got and "dienst" not in got
    assert by_id["a1"]["dienst"] == "verlichting" and by_id["a1"]["routed_by"].startswith("rules:")
    assert by_id["s1"]["dienst"] == "nette_stad"  # the subject is read
    assert out[2] == {"id": None, "error": out[2]["error"]} and out[2]["error"].startswith("not JSON")
    assert out[3]["error"] == "missing id"
    assert out[5]["error"] == "empty line"
    assert out[7] == {"id": "bad-text", "error": "text must be a string"}
    assert out[8]["id"] == "bad-subject" and "subject" in out[8]["error"]


def test_classify_without_a_model_and_autotrain_off_is_a_one_line_error(tmp_path: Path) -> None:
    done = _gateway(["classify"], _stdin(LINES[:1]), _env(tmp_path / "models"))
    assert done.returncode == 2
    err = done.stderr.decode().strip()
    assert err == f"gateway: {tmp_path / 'models' / 'current'}: no routing model yet; run `gateway train`"
    assert done.stdout == b""


def test_classify_with_a_corrupt_model_is_a_one_line_error(tmp_path: Path) -> None:
    directory = copy_of_small_model(tmp_path / "models")
    weights = directory / str(m.current_version(directory)) / "nlp" / "textcat" / "model"
    weights.write_bytes(weights.read_bytes()[:-10])
    done = _gateway(["classify"], _stdin(LINES[:1]), _env(directory))
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0]
    assert str(weights) in lines[0] and "damaged" in lines[0] and "gateway train" in lines[0]


def test_parallel_classify_gives_the_same_lines_in_the_same_order() -> None:
    # Through the command, as it is run: `--jobs 2` forks a pool, which in pytest's own process
    # (its worker threads holding locks at the fork) risks a child that never starts.
    texts = [row.text for row in subset(6)]
    lines = [{"id": n, "text": t} for n, t in enumerate(texts)] + ["{bad"] + [{"id": "z", "text": "boom"}]
    serial, parallel = (
        _gateway(["classify", "--batch-size", "7", "--jobs", jobs], _stdin(lines), _env(small_model_dir()))
        for jobs in ("1", "2")
    )
    assert serial.returncode == 0 and parallel.returncode == 0, serial.stderr + parallel.stderr
    assert len(serial.stdout.splitlines()) == len(lines)
    assert serial.stdout == parallel.stdout
    ids = [json.loads(line)["id"] for line in serial.stdout.splitlines()]
    assert ids == [*range(len(texts)), None, "z"]


def test_classify_reports_triage_at_the_threshold() -> None:
    router = HybridRouter(rules(), m.load(small_model_dir()), 1.0)  # nothing reaches 1.0: all triage
    out = io.StringIO()
    commands.classify_stream(
        router, io.BytesIO(_stdin([{"id": 1, "text": "Goeiemiddag, ik had een vraagje."}])), out
    )
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["triage"] is True
    assert line["dienst"] == line["alternatives"][0][0]  # the best guess stays visible


def test_eval_prints_per_dienst_scores_and_saves_the_confusion_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    labelled = tmp_path / "labelled.jsonl"
    rows = m.load_jsonl(m.HELDOUT_FILE)[::20]
    labelled.write_text("".join(json.dumps({"text": r.text, "dienst": r.dienst}) + "\n" for r in rows))
    for key, value in _env(small_model_dir()).items():
        monkeypatch.setenv(key, value)
    png = tmp_path / "confusion.png"
    assert main(["eval", str(labelled), "--png", str(png)]) == 0
    out = capsys.readouterr().out
    for code in DIENST_CODES:
        assert f"\n{code} " in out
    assert "macro-F1 rules + model" in out and "reliability" in out and "confusion" in out
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 10_000


def test_eval_reports_the_figures_per_channel_and_language_and_sums_up_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = m.load_jsonl(m.HELDOUT_FILE)[::30]
    sms, mail = tmp_path / "sms.jsonl", tmp_path / "mail.jsonl"
    sms.write_text("".join(_line(r, "sms", "nl") for r in rows[:12]))
    mail.write_text("".join(_line(r, "email", "fr" if i % 2 else "en") for i, r in enumerate(rows[12:])))
    for key, value in _env(small_model_dir()).items():
        monkeypatch.setenv(key, value)
    assert main(["eval", str(sms), str(mail), "--png", str(tmp_path / "x.png")]) == 0
    out = capsys.readouterr().out
    lines = {line.split("  ")[0].strip(): line.split() for line in out.splitlines() if "  " in line}
    assert int(lines["channel sms"][2]) == 12 and int(lines["language nl"][2]) == 12
    assert int(lines["channel email"][2]) == len(rows) - 12
    assert int(lines["language fr"][2]) + int(lines["language en"][2]) == len(rows) - 12
    assert "summary" in out and int(lines["sms.jsonl"][1]) == 12
    assert int(lines["mail.jsonl"][1]) == len(rows) - 12
    for name in ("eval-sms.png", "eval-mail.png"):  # one confusion matrix per file
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def _line(row: m.LabelledText, channel: str, lang: str) -> str:
    return json.dumps({"text": row.text, "dienst": row.dienst, "channel": channel, "lang": lang}) + "\n"


async def test_train_uses_the_corpus_and_the_desk_decisions_never_the_heldout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{tmp_path / 'gateway.db'}"
    store = Store(database)
    await store.open()
    draft = MeldingDraft(
        channel=Channel.WEB, received_at=datetime.now(UTC), text="De speeltuin is vandaag gesloten?"
    )
    stored = await store.intake(draft)
    await store.write(
        meldingen.route, stored.id, RoutingDecision(dienst=None, confidence=0.3, routed_by=None)
    )
    assert (await store.write(desk_store.route, stored.id, "info"))[0] == "routed"
    await store.close()

    rows = subset(20)
    use_few_dev_sets(monkeypatch)  # SMALL calibrates on dev lines: a few sets, not all 15,000 lines
    monkeypatch.setattr(m, "load_corpus", lambda: list(rows))
    monkeypatch.setattr(m, "TrainConfig", lambda architecture="charbow": SMALL)
    for key, value in _env(tmp_path / "models", GATEWAY_DATABASE_URL=database).items():
        monkeypatch.setenv(key, value)
    assert await _in_thread(main, ["train"]) == 0
    desk = m.LabelledText("De speeltuin is vandaag gesloten?", "info", source="desk")
    version = m.version_of([*rows, desk], SMALL)
    assert m.current_version(tmp_path / "models") == version
    meta = json.loads((tmp_path / "models" / version / m.META_FILE).read_text())
    assert meta["examples"] == {"corpus": len(rows), "desk": 1, "dev": 0}
    assert f"model {version} written" in capsys.readouterr().out
    # The same examples again: nothing to do.
    assert await _in_thread(main, ["train"]) == 0
    assert "up to date" in capsys.readouterr().out
    # Without the store: another version.
    assert await _in_thread(main, ["train", "--no-store"]) == 0
    assert m.current_version(tmp_path / "models") == m.version_of(rows, SMALL)


async def _in_thread(fn: Any, *args: Any) -> Any:
    """`gateway train` runs its own event loop (asyncio.run): not inside the test's."""
    return await asyncio.to_thread(fn, *args)


async def test_train_stops_with_a_hint_when_the_store_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in _env(tmp_path / "models").items():  # its database URL points at nothing
        monkeypatch.setenv(key, value)
    assert await _in_thread(main, ["train"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gateway: cannot open store") and err.endswith(
        "(--no-store trains on the corpus alone)"
    )
    assert not (tmp_path / "models").exists()
