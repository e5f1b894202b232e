"""Duplicate detection without a store: the decision, time windows, blocking, hotspots, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.classify.rules import RuleRouter
from gateway.dedupe import kinds
from gateway.dedupe.config import DedupeConfigError, load
from gateway.dedupe.evaluate import run, score
from gateway.dedupe.finder import Deduper, Outcome
from gateway.dedupe.memory import MemoryIndex
from gateway.dedupe.stream import run_stream
from gateway.melding import Channel, Location, Melding, Reporter, Stage, Status
from tests.support.data import ROOT
from tests.support.dedupe import shipped_deduper

# The hand-made streams of the first version; issue 14's own (traps, dev, the held-out probe) are
# scored in tests/test_dedupe_ways.py and README "Duplicates, locations and hotspots".
STREAMS = [
    ROOT / "tests" / "data" / "dedupe" / f"stream_{s}.jsonl" for s in ("autumn", "spring", "summer", "winter")
]
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
# Real points (tests/corpora/kortrijk-addresses): Loofstraat 61-63, Kanonstraat 54, Toekomststraat 19.
LOOF_61 = (50.81710550607703, 3.263344976327878)
KANON_54 = (50.82266245510484, 3.269411579554511)
TOEKOMST_19 = (50.82164664217206, 3.270253393072844)


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


class Feed:
    """Meldingen in time order through one in-memory index, as the worker would see them."""

    def __init__(self, deduper: Deduper) -> None:
        self.deduper = deduper
        self.index = MemoryIndex()
        self.n = 0

    def __call__(
        self,
        text: str,
        dienst: str,
        *,
        at: timedelta = timedelta(0),
        pin: tuple[float, float] | None = None,
        **location: Any,
    ) -> Outcome:
        self.n += 1
        if pin is not None:
            location.update(lat=pin[0], lon=pin[1])
        m = Melding(
            id=f"m{self.n}",
            reference=f"m{self.n}",
            channel=Channel.WEB,
            received_at=T0 + at,
            reporter=Reporter(),
            text=text,
            location=Location(**location),
            dienst=dienst,
            status=Status.ONTVANGEN,
            stage=Stage.ROUTED,
            tracking_token="t",
        )
        return self.deduper.process(self.index, m)


def linked(outcome: Outcome) -> str | None:
    return outcome.match.master_id if outcome.match else None


def test_problem_kinds_agree_disagree_or_do_not_know() -> None:
    def k(dienst: str, text: str) -> frozenset[str]:
        from gateway.classify.rules import normalize_text

        return kinds.detect(dienst, normalize_text(text))

    lamp_out = k("verlichting", "de straatlamp brandt al dagen niet")
    flickers = k("verlichting", "lamp flikkert de hele avond")
    assert lamp_out == {"verlichting.uit"} and flickers == {"verlichting.flikker"}
    assert kinds.agreement(lamp_out, flickers) == 0.75  # one failing lamp, described twice
    mattress = k("nette_stad", "oude matras gedumpt op het voetpad")
    graffiti = k("nette_stad", "graffiti op de gevel")
    assert kinds.agreement(mattress, graffiti) == 0.0
    assert kinds.agreement(mattress, k("nette_stad", "sluikstort: matras en zetel")) == 1.0
    assert kinds.agreement(k("dieren", "dode kat op straat"), k("dieren", "dode duif op straat")) == 0.0
    assert (
        kinds.agreement(k("afvalophaling", "pmd niet opgehaald"), k("afvalophaling", "gft niet opgehaald"))
        == 0.0
    )
    assert kinds.agreement(k("wegen", "er is iets mis"), k("wegen", "put in de weg")) is None
    assert k("wegen", "vuilniszakken achtergelaten naast de bank") == frozenset()  # a bench as a place
    assert k("wegen", "de bank op het plein is kapot") == {"wegen.zitbank"}


def test_several_reporters_of_one_street_light_across_channels(deduper: Deduper) -> None:
    feed = Feed(deduper)
    first = feed("Straatlamp aan de Loofstraat 61 brandt al 3 dagen niet", "verlichting")
    assert first.match is None and first.place.street == "Loofstraat"
    pin = feed(
        "Lamp kapot, het is hier donker", "verlichting", at=timedelta(hours=10), pin=(50.81713, 3.26342)
    )
    mail = feed(
        "De verlichting ter hoogte van huisnummer 63 in de Loofstraat is defect.",
        "verlichting",
        at=timedelta(days=2),
    )
    phone = feed("Lantaarnpaal Loofstraat thv nr 59 doet het niet", "verlichting", at=timedelta(days=4))
    assert [linked(pin), linked(mail), linked(phone)] == ["m1", "m1", "m1"]
    assert pin.match is not None and pin.match.score >= deduper.config.threshold
    assert "same verlichting.uit" in pin.match.reason


def test_cross_channel_an_sms_with_only_a_street_and_a_web_pin(deduper: Deduper) -> None:
    feed = Feed(deduper)
    sms = feed("Kanonstraat: de straatlamp is kapot", "verlichting")
    assert sms.place.street == "Kanonstraat" and sms.place.house_number is None
    web = feed("Straatverlichting defect, erg donker", "verlichting", at=timedelta(hours=3), pin=KANON_54)
    assert linked(web) == "m1"
    assert web.match is not None and "map pin on Kanonstraat" in web.match.reason
    # a pin on the neighbouring street, 110 m away, is another lamp
    other = feed(
        "Straatverlichting defect, erg donker", "verlichting", at=timedelta(hours=4), pin=TOEKOMST_19
    )
    assert linked(other) is None


def test_traps_same_street_other_problem_and_same_problem_other_street(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Sluikstort: een matras op het voetpad, Loofstraat 61", "nette_stad")
    graffiti = feed("Graffiti op de gevel van Loofstraat 63", "nette_stad", at=timedelta(hours=2))
    assert linked(graffiti) is None  # same street and dienst, a different problem
    light = feed("De lamp aan Loofstraat 61 brandt niet", "verlichting", at=timedelta(hours=3))
    assert linked(light) is None  # other dienst
    feed("Lamp Kanonstraat 54 kapot", "verlichting", at=timedelta(days=1))
    neighbour = feed(
        "De verlichting in de Toekomststraat brandt niet, aan nr 19", "verlichting", at=timedelta(days=1)
    )
    assert linked(neighbour) is None  # the same problem one street further is another lamp
    far = feed("Matras gedumpt in de Loofstraat aan nummer 81", "nette_stad", at=timedelta(days=1))
    assert linked(far) is None  # nrs 61 and 81: 80 m apart on one side of the street
    same = feed("Oude matras achtergelaten voor nr 63 in de Loofstraat", "nette_stad", at=timedelta(days=1))
    assert linked(same) == "m1"


def test_time_windows_per_dienst_and_per_problem_kind(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Straatlamp aan de Kanonstraat 54 brandt niet", "verlichting")
    three_weeks = feed("De lamp aan Kanonstraat 54 is nog altijd kapot", "verlichting", at=timedelta(weeks=3))
    assert linked(three_weeks) == "m1"
    # the window runs from the latest report of the problem: 7 weeks after that one, it is new
    later = feed("De lamp aan Kanonstraat 54 brandt weer niet", "verlichting", at=timedelta(weeks=3 + 7))
    assert linked(later) is None
    # noise is an event: the next night is another party (overlast.lawaai: 1 day)
    feed("Luide muziek en feest op het Volksplein", "overlast", at=timedelta(days=1))
    next_night = feed("Weer lawaai van een fuif op het Volksplein", "overlast", at=timedelta(days=2, hours=1))
    assert linked(next_night) is None
    # graffiti stays until removed (nette_stad.graffiti: 60 days, the dienst's own window is 14)
    feed("Graffiti op de gevel Rijselsestraat 19", "nette_stad", at=timedelta(days=3))
    still = feed(
        "De graffiti aan Rijselsestraat 19 is nog altijd niet weg", "nette_stad", at=timedelta(days=40)
    )
    assert still.match is not None and still.match.master_id.startswith("m")
    dumped_again = feed("Weer een matras gedumpt aan Rijselsestraat 19", "nette_stad", at=timedelta(days=41))
    assert linked(dumped_again) is None  # other problem at the same place


def test_info_questions_and_meldingen_without_a_place_are_never_linked(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Wat zijn de openingsuren van het stadhuis?", "info")
    again = feed("Wat zijn de openingsuren van het stadhuis?", "info", at=timedelta(hours=1))
    assert again.entry is None and linked(again) is None
    feed("De lamp voor mijn deur is kapot", "verlichting")
    nowhere = feed("De lamp voor mijn deur is kapot", "verlichting", at=timedelta(hours=1))
    assert nowhere.place.source == "none" and linked(nowhere) is None


def test_blocking_reads_only_the_blocks_of_the_new_melding(deduper: Deduper) -> None:
    """The cost per melding follows the meldingen near it, not all open meldingen."""
    feed = Feed(deduper)
    for n in range(2000):  # open problems all over a 5 x 5 km area, in every dienst
        lat = 50.79 + (n % 50) * 0.0009
        lon = 3.22 + (n // 50) * 0.0016
        feed("Put in de weg", ["wegen", "verlichting", "groen", "nette_stad"][n % 4], pin=(lat, lon))
    probe = feed("Lamp kapot", "verlichting", at=timedelta(hours=1), pin=KANON_54)
    assert feed.index.size == 2001
    assert probe.candidates < 25


def test_hotspot_after_n_distinct_problems_in_one_area(deduper: Deduper) -> None:
    """Leaves in autumn: groen raises a hotspot at 5 problems within 250 m in 21 days."""
    feed = Feed(deduper)
    streets = [
        ("Sint-Denijsestraat 133", "nat blad op het voetpad, spekglad"),
        ("Boerderijstraat 49", "veel bladeren op het voetpad"),
        ("Voorzienigheidsstraat 5", "bladeren niet geruimd"),
        ("Toekomststraat 47", "hoop bladeren op het fietspad"),
    ]
    outcomes = [
        feed(f"{text}, {where}", "groen", at=timedelta(days=n)) for n, (where, text) in enumerate(streets)
    ]
    assert all(o.match is None and o.hotspot is None for o in outcomes)
    # a second report of one of them is no new problem
    dup = feed("Bladeren op het voetpad Boerderijstraat 49", "groen", at=timedelta(days=4))
    assert linked(dup) == "m2" and dup.hotspot is None
    fifth = feed("Bladeren Vooruitgangsstraat 37, gevaarlijk glad", "groen", at=timedelta(days=5))
    assert fifth.hotspot is not None and fifth.hotspot.created
    assert fifth.hotspot.count == 5 and fifth.hotspot.melding_ids == ("m1", "m2", "m3", "m4", "m6")
    sixth = feed("Bladeren Boerderijstraat 20, glad", "groen", at=timedelta(days=6))
    assert sixth.hotspot is not None and not sixth.hotspot.created  # the same hotspot, grown
    assert sixth.hotspot.count == 6 and len(feed.index.hotspots) == 1
    elsewhere = Feed(deduper)
    for n in range(5):  # five problems far apart: no hotspot
        out = elsewhere(
            "Bladeren op het voetpad", "groen", at=timedelta(days=n), pin=(50.80 + n * 0.01, 3.25)
        )
        assert out.hotspot is None


def test_the_config_file_is_validated(tmp_path: Path) -> None:
    good = (ROOT / "config" / "dedupe.toml").read_text(encoding="utf-8")
    assert load(ROOT / "config" / "dedupe.toml").policy("verlichting") is not None
    bad = tmp_path / "dedupe.toml"
    bad.write_text(good.replace("radius_m = 40", "radius = 40", 1), encoding="utf-8")
    with pytest.raises(DedupeConfigError, match=r"\[diensten.wegen\]: unknown key\(s\) radius"):
        load(bad)
    bad.write_text(good.replace('"overlast.lawaai" = 1', '"overlast.lawai" = 1'), encoding="utf-8")
    with pytest.raises(DedupeConfigError, match="overlast.lawai"):
        load(bad)
    bad.write_text(good.replace("threshold = 0.60", "threshold = 2"), encoding="utf-8")
    with pytest.raises(DedupeConfigError, match="threshold: must be a number from 0.0 to 1.0"):
        load(bad)


@pytest.mark.parametrize("stream", STREAMS, ids=[s.stem for s in STREAMS])
def test_labelled_streams_precision_and_recall(stream: Path) -> None:
    """Hand-made clusters with traps (see tests/data/dedupe/README.md); rules routing only."""
    found = score(*run(stream))
    assert found.expected >= 15
    assert found.precision >= 0.95, "\n".join(found.errors)
    assert found.recall >= 0.85, "\n".join(found.errors)


def test_the_stream_keeps_order_and_reports_bad_lines(deduper: Deduper) -> None:
    lines = [
        '{"id": 1, "text": "Lamp kapot Loofstraat 61", "received_at": "2026-10-02T21:00:00", '
        '"dienst": "verlichting"}',
        "not json",
        '{"id": "x2", "received_at": "2026-10-02T22:00:00+02:00"}',
        '{"id": "x3", "text": "lamp", "received_at": "gisteren"}',
        '{"id": "x4", "text": "lamp", "received_at": "2026-10-02T22:00:00Z", "dienst": "lampen"}',
        '{"id": "x5", "text": "lamp", "received_at": "2026-10-02T22:00:00Z", "lat": 50.8}',
        '{"id": 1, "text": "again", "received_at": "2026-10-02T23:00:00Z"}',
        '{"id": "x6", "text": "Straatlamp brandt niet", "received_at": "2026-10-03T07:00:00+02:00", '
        '"lat": 50.81713, "lon": 3.26342, "channel": "app"}',
        '{"id": 7, "text": "Lamp kapot", "received_at": 1791090000, "dienst": "verlichting", '
        '"location": {"lat": 50.8171, "lon": 3.2634}}',
    ]
    out = list(
        run_stream(
            lines,
            deduper,
            lambda: RuleRouter.from_file(ROOT / "config/diensten.toml"),
            ZoneInfo("Europe/Brussels"),
        )
    )
    assert [o["id"] for o in out] == [1, None, "x2", "x3", "x4", "x5", 1, "x6", 7]
    assert [("error" in o) for o in out] == [False, True, True, True, True, True, True, False, False]
    assert "text is required" in out[2]["error"] and "ISO 8601" in out[3]["error"]
    assert (
        "lampen" in out[4]["error"]
        and "both lat and lon" in out[5]["error"]
        and "seen before" in out[6]["error"]
    )
    assert out[0]["duplicate_of"] is None and out[0]["location"]["street"] == "Loofstraat"
    assert out[7]["duplicate_of"] == 1 and out[7]["dienst"] == "verlichting" and out[7]["score"] >= 0.6
    # the API's nested location, unix seconds (2026-10-04 05:00 UTC), and ids that are numbers
    assert out[8]["location"]["source"] == "pin" and out[8]["duplicate_of"] == 1


def test_gateway_dedupe_command(tmp_path: Path) -> None:
    """The real command: JSON lines in, one line out per line in, touching no store and no Redis."""
    stream = (ROOT / "tests" / "data" / "dedupe" / "stream_autumn.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(x) for x in stream.splitlines()]
    for line in lines:
        line.setdefault("dienst", None)  # the command must route these itself
    lines = [{k: v for k, v in line.items() if v is not None} for line in lines]
    store = tmp_path / "never" / "gateway.db"
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": f"sqlite:///{store}",
        "GATEWAY_REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there
        "GATEWAY_MODEL_DIR": str(tmp_path / "models"),
        "GATEWAY_MODEL_AUTOTRAIN": "false",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "dedupe", "--rules-only"],
        input="\n".join(json.dumps(x) for x in lines) + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [x["id"] for x in lines]
    ids = [x["id"] for x in lines]
    for n, o in enumerate(out):
        assert set(o) >= {"id", "duplicate_of", "score", "reason"}
        assert o["duplicate_of"] is None or o["duplicate_of"] in ids[:n]  # an earlier id
    found = score(lines, out)
    assert found.precision >= 0.95 and found.recall >= 0.85, "\n".join(found.errors)
    assert not store.parent.exists()


def test_the_longest_window_of_a_dienst_is_its_own_or_its_longest_kinds() -> None:
    config = load(ROOT / "config" / "dedupe.toml")
    assert config.longest_window("groen") == timedelta(days=90)  # groen.haag, over groen's own 30 days
    assert config.longest_window("overlast") == timedelta(days=45)  # overlast.wrak, over its own 3 days
    assert config.longest_window("wegen") == timedelta(days=90)  # its own; its kinds are shorter
    assert config.longest_window("info") == timedelta(0)
    for dienst, policy in config.diensten.items():  # worked out once, as the kinds say
        kinds_of = [w for k, w in config.kind_windows.items() if k.startswith(dienst + ".")]
        assert config.longest_window(dienst) == max([policy.window, *kinds_of])
    with pytest.raises(KeyError):
        config.longest_window("onbekend")
