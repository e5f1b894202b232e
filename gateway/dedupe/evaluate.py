"""Precision and recall of `gateway dedupe` on a labelled stream.

    python -m gateway.dedupe.evaluate tests/data/dedupe/stream_a.jsonl [more.jsonl ...] [--show-errors]
    python -m gateway.dedupe.evaluate stream.jsonl --output out.jsonl   # score a saved run instead

A labelled stream is a `gateway dedupe` input whose lines also carry `cluster`: lines with
the same cluster report the same problem (the first one is the original). Scoring:
- precision: of the links made (`duplicate_of` not null), those to a line of the same cluster;
- recall: of the lines that have an earlier line in their cluster, those linked to one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.config import load_settings


@dataclass
class Score:
    links: int = 0
    correct_links: int = 0
    expected: int = 0
    found: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_links / self.links if self.links else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    def add(self, other: Score) -> None:
        self.links += other.links
        self.correct_links += other.correct_links
        self.expected += other.expected
        self.found += other.found
        self.errors += other.errors


def score(stream: Sequence[dict[str, Any]], output: Sequence[dict[str, Any]]) -> Score:
    if len(stream) != len(output):
        raise ValueError(f"{len(stream)} input lines but {len(output)} output lines")
    cluster = {str(line["id"]): str(line.get("cluster", line["id"])) for line in stream}
    texts = {str(line["id"]): line.get("text", "")[:70] for line in stream}
    seen_clusters: set[str] = set()
    result = Score()
    for line, out in zip(stream, output, strict=True):
        mid = str(line["id"])
        if str(out.get("id")) != mid:
            raise ValueError(f"output line for {out.get('id')!r} where {mid!r} was expected")
        own = cluster[mid]
        has_earlier = own in seen_clusters
        seen_clusters.add(own)
        linked = out.get("duplicate_of")
        if has_earlier:
            result.expected += 1
        if linked is not None:
            result.links += 1
            if cluster.get(str(linked)) == own:
                result.correct_links += 1
                result.found += has_earlier
            else:
                result.errors.append(
                    f"FALSE LINK {mid} -> {linked} ({out.get('score')}): {out.get('reason')}\n"
                    f"    {texts[mid]!r}\n    {texts.get(str(linked), '?')!r}"
                )
        elif has_earlier:
            result.errors.append(
                f"MISSED {mid} [{own}] ({out.get('score')}): {out.get('reason')}\n    {texts[mid]!r}"
            )
    return result


def run(stream_path: Path, config: Path | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the stream through `gateway dedupe`'s code in-process."""
    from gateway.classify.rules import RuleRouter
    from gateway.dedupe.finder import load_deduper
    from gateway.dedupe.stream import run_stream

    settings = load_settings(config)
    lines = stream_path.read_text(encoding="utf-8").splitlines()
    stream = [json.loads(line) for line in lines]
    output = list(
        run_stream(
            lines,
            load_deduper(settings),
            lambda: RuleRouter.from_file(settings.diensten_file),
            ZoneInfo(settings.timezone),
        )
    )
    return stream, output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.dedupe.evaluate")
    parser.add_argument("streams", type=Path, nargs="+")
    parser.add_argument("--output", type=Path, help="a saved `gateway dedupe` output (one stream only)")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args(argv)
    total = Score()
    for path in args.streams:
        if args.output:
            stream = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
            output = [json.loads(x) for x in args.output.read_text(encoding="utf-8").splitlines()]
        else:
            stream, output = run(path, args.config)
        s = score(stream, output)
        total.add(s)
        print(
            f"{path.name}: {len(stream)} meldingen, precision {s.precision:.3f} "
            f"({s.correct_links}/{s.links}), recall {s.recall:.3f} ({s.found}/{s.expected})"
        )
        if args.show_errors:
            for error in s.errors:
                print("  " + error)
    if len(args.streams) > 1:
        print(
            f"all: precision {total.precision:.3f} ({total.correct_links}/{total.links}), "
            f"recall {total.recall:.3f} ({total.found}/{total.expected})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
