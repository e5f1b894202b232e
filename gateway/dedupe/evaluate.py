"""Precision and recall of `gateway dedupe` on a labelled stream.

    python -m gateway.dedupe.evaluate tests/data/dedupe/stream_a.jsonl [more.jsonl ...] [--show-errors]
    python -m gateway.dedupe.evaluate stream.jsonl --output out.jsonl   # score a saved run instead

A labelled stream is a `gateway dedupe` input whose lines also carry `cluster`: lines with
the same cluster report the same problem (the first one is the original). Scoring:
- precision: of the links made (`duplicate_of` not null), those to a line of the same cluster;
- recall: of the lines that have an earlier line in their cluster, those linked to one;
- recall incl. suggestions: those linked to one, or not linked but offered one as a suggestion
  (`suggestions`, for the desk);
- suggestions per line: all suggestions made, divided by the lines.
Status lines (`{"event": "closed", "id": ...}`, see gateway.dedupe.stream) are applied as the
worker applies a closed case (the problem is no candidate any more) and are not scored.
`--json` prints one JSON object per stream (and `all`) instead of the text lines.
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
    suggested: int = 0  # expected lines not linked but with a right suggestion
    suggestions: int = 0
    lines: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_links / self.links if self.links else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def recall_with_suggestions(self) -> float:
        return (self.found + self.suggested) / self.expected if self.expected else 1.0

    @property
    def suggestions_per_line(self) -> float:
        return self.suggestions / self.lines if self.lines else 0.0

    def add(self, other: Score) -> None:
        self.links += other.links
        self.correct_links += other.correct_links
        self.expected += other.expected
        self.found += other.found
        self.suggested += other.suggested
        self.suggestions += other.suggestions
        self.lines += other.lines
        self.errors += other.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "links": self.links,
            "correct_links": self.correct_links,
            "expected": self.expected,
            "found": self.found,
            "suggested": self.suggested,
            "suggestions": self.suggestions,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "recall_with_suggestions": round(self.recall_with_suggestions, 3),
            "suggestions_per_line": round(self.suggestions_per_line, 3),
        }

    def summary(self) -> str:
        return (
            f"precision {self.precision:.3f} ({self.correct_links}/{self.links}), "
            f"recall {self.recall:.3f} ({self.found}/{self.expected}), "
            f"recall incl. suggestions {self.recall_with_suggestions:.3f} "
            f"({self.found + self.suggested}/{self.expected}), "
            f"suggestions per line {self.suggestions_per_line:.2f} ({self.suggestions}/{self.lines})"
        )


def score(stream: Sequence[dict[str, Any]], output: Sequence[dict[str, Any]]) -> Score:
    if len(stream) != len(output):
        raise ValueError(f"{len(stream)} input lines but {len(output)} output lines")
    reports = [line for line in stream if "event" not in line]
    cluster = {str(line["id"]): str(line.get("cluster", line["id"])) for line in reports}
    texts = {str(line["id"]): line.get("text", "")[:70] for line in reports}
    seen_clusters: set[str] = set()
    result = Score()
    for line, out in zip(stream, output, strict=True):
        mid = str(line["id"])
        if str(out.get("id")) != mid or ("event" in line) != ("event" in out):
            raise ValueError(f"output line for {out.get('id')!r} where {mid!r} was expected")
        if "event" in line:
            if "error" in out:
                raise ValueError(f"status line for {mid!r}: {out['error']}")
            continue
        own = cluster[mid]
        has_earlier = own in seen_clusters
        seen_clusters.add(own)
        linked = out.get("duplicate_of")
        suggested = [str(x) for x in out.get("suggestions") or ()]
        result.lines += 1
        result.suggestions += len(suggested)
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
        elif has_earlier and any(cluster.get(x) == own for x in suggested):
            result.suggested += 1
            result.errors.append(f"SUGGESTED {mid} [{own}] ({out.get('score')}): {out.get('reason')}")
        elif has_earlier:
            result.errors.append(
                f"MISSED {mid} [{own}] ({out.get('score')}): {out.get('reason')}\n    {texts[mid]!r}"
            )
        if linked is None and suggested and not has_earlier:
            result.errors.append(f"NEEDLESS SUGGESTION {mid} -> {', '.join(suggested)}")
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
    parser.add_argument("--json", action="store_true", help="one JSON object per stream")
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
        if args.json:
            print(json.dumps({"stream": path.name, **s.as_dict()}))
        else:
            print(f"{path.name}: {s.lines} meldingen, {s.summary()}")
        if args.show_errors:
            for error in s.errors:
                print("  " + error)
    if len(args.streams) > 1:
        print(json.dumps({"stream": "all", **total.as_dict()}) if args.json else f"all: {total.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
