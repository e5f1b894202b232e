#!/usr/bin/env python3
"""Validate the dienst-classifier corpus (standard library only).

Usage: python gateway/classify/corpus/check.py [--quiet]

Checks every ``<dienst>.jsonl`` training file and ``heldout.jsonl`` in this
directory:

* every line is a JSON object with a non-empty ``text`` and known ``dienst``,
  ``channel`` and ``lang`` values (and, in a training file, the dienst of the
  file name);
* no exact duplicates after normalisation (case, accents, punctuation,
  whitespace) anywhere in the corpus, across files and labels;
* no near duplicates: token-set Jaccard similarity >= NEAR (0.8) between any
  two texts of 4+ tokens, and >= NEAR_HELDOUT (0.6) between a held-out text
  and any training text (the held-out split must not paraphrase training);
* the probe sets in ``../probes/`` and the development set in ``../dev/`` are checked like
  the held-out split;
* minimum sizes: MIN_TRAIN lines per dienst file, MIN_HELDOUT per dienst in
  the held-out split.

Prints counts per dienst x channel x lang for training and held-out and exits
with status 1 when any error was found.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

from gateway.melding import DIENST_CODES

DIENSTEN = DIENST_CODES  # the routing labels of PRODUCT.md
CHANNELS = ("email", "sms", "phone", "web")
LANGS = ("nl", "fr", "en")
FIELDS = {"text", "dienst", "channel", "lang"}
OPTIONAL = {"subject"}  # an e-mail's subject line, read with the text (the problem may be only there)
MIN_TRAIN = 230
MIN_HELDOUT = 40
NEAR = 0.8
NEAR_HELDOUT = 0.6
MIN_TOKENS_NEAR = 4

HERE = Path(__file__).resolve().parent
PROBES = HERE.parent / "probes"
DEV = HERE.parent / "dev"


def normalize(text: str) -> str:
    """Lowercase, strip accents and punctuation, collapse whitespace."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def load(path: Path, expected_dienst: str | None, errors: list[str]) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            where = f"{path.name}:{n}"
            if not line.strip():
                errors.append(f"{where}: empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                errors.append(f"{where}: not a JSON object")
                continue
            missing = FIELDS - obj.keys()
            extra = obj.keys() - FIELDS - OPTIONAL
            if missing:
                errors.append(f"{where}: missing field(s) {sorted(missing)}")
                continue
            if extra:
                errors.append(f"{where}: unknown field(s) {sorted(extra)}")
            text = obj["text"]
            if not isinstance(text, str) or not text.strip():
                errors.append(f"{where}: empty text")
                continue
            if obj["dienst"] not in DIENSTEN:
                errors.append(f"{where}: unknown dienst {obj['dienst']!r}")
            elif expected_dienst and obj["dienst"] != expected_dienst:
                errors.append(f"{where}: dienst {obj['dienst']!r} in file for {expected_dienst!r}")
            if obj["channel"] not in CHANNELS:
                errors.append(f"{where}: unknown channel {obj['channel']!r}")
            if obj["lang"] not in LANGS:
                errors.append(f"{where}: unknown lang {obj['lang']!r}")
            if not normalize(text):
                errors.append(f"{where}: text has no words")
                continue
            subject = obj.get("subject")
            if subject is not None and (not isinstance(subject, str) or not subject.strip()):
                errors.append(f"{where}: subject must be a non-empty string when given")
                continue
            obj["_where"] = where
            obj["_split"] = "heldout" if expected_dienst is None else "train"
            obj["_norm"] = normalize(f"{subject or ''} {text}")
            obj["_tokens"] = frozenset(obj["_norm"].split())
            rows.append(obj)
    return rows


def jaccard(a: frozenset, b: frozenset) -> float:
    shared = len(a & b)  # the union's size follows: no third set built (millions of pairs)
    return shared / (len(a) + len(b) - shared)


def near_duplicates(rows: list[dict]) -> list[tuple[float, dict, dict]]:
    """Pairs above the applicable threshold, found through token indexes, in the order of the rows.

    A pair with Jaccard >= t shares at least one of the rarest len - ceil(t*len) + 1 tokens of each
    text (prefix filtering). Texts of one split must stay under NEAR, a held-out text and a training
    text under NEAR_HELDOUT: each threshold has its own prefixes and its own index per split, so the
    many held-out-against-held-out pairs are searched through the short prefixes of NEAR.
    """
    df = Counter(tok for r in rows for tok in r["_tokens"])
    index: dict[tuple[str, float], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    sizes = [len(r["_tokens"]) for r in rows]
    found: list[tuple[int, int, float]] = []
    for i, r in enumerate(rows):
        toks = r["_tokens"]
        if len(toks) < MIN_TOKENS_NEAR:
            continue
        ordered = sorted(toks, key=lambda t: (df[t], t))
        prefixes = {
            limit: ordered[: len(ordered) - int(limit * len(ordered)) + 1] for limit in (NEAR, NEAR_HELDOUT)
        }
        for split in ("train", "heldout"):
            limit = NEAR if split == r["_split"] else NEAR_HELDOUT
            # Jaccard is at most the smaller set's size over the larger's.
            shortest, longest = limit * len(toks), len(toks) / limit
            candidates = index[(split, limit)]
            seen: set[int] = set()
            for tok in prefixes[limit]:
                for j in candidates.get(tok, ()):
                    if j in seen:
                        continue
                    seen.add(j)
                    if not shortest <= sizes[j] <= longest:
                        continue
                    score = jaccard(toks, rows[j]["_tokens"])
                    if score >= limit and r["_norm"] != rows[j]["_norm"]:
                        found.append((i, j, score))
        for limit, prefix in prefixes.items():  # this row, as a candidate for the rows after it
            for tok in prefix:
                index[(r["_split"], limit)][tok].append(i)
    return [(score, rows[j], rows[i]) for i, j, score in sorted(found)]


def table(title: str, rows: list[dict]) -> None:
    counts = Counter((r["dienst"], r["channel"], r["lang"]) for r in rows)
    cols = list(CHANNELS) + list(LANGS)
    print(f"\n{title} ({len(rows)} examples)")
    header = f"{'dienst':<14}" + "".join(f"{c:>7}" for c in cols) + f"{'total':>7}"
    print(header)
    print("-" * len(header))
    for d in DIENSTEN:
        ch = [sum(counts[(d, c, lang)] for lang in LANGS) for c in CHANNELS]
        lg = [sum(counts[(d, c, lang)] for c in CHANNELS) for lang in LANGS]
        print(f"{d:<14}" + "".join(f"{v:>7}" for v in ch + lg) + f"{sum(ch):>7}")
    ch = [sum(v for (_, c, _), v in counts.items() if c == cc) for cc in CHANNELS]
    lg = [sum(v for (_, _, lang), v in counts.items() if lang == ll) for ll in LANGS]
    print("-" * len(header))
    print(f"{'total':<14}" + "".join(f"{v:>7}" for v in ch + lg) + f"{len(rows):>7}")
    print(f"\n{title}: dienst x channel x lang")
    for d in DIENSTEN:
        parts = []
        for c in CHANNELS:
            cell = " ".join(f"{lang}={counts[(d, c, lang)]}" for lang in LANGS if counts[(d, c, lang)])
            parts.append(f"{c}[{cell or '-'}]")
        print(f"  {d:<14}" + "  ".join(parts))


def main(argv: list[str]) -> int:
    quiet = "--quiet" in argv
    errors: list[str] = []
    warnings: list[str] = []
    train: list[dict] = []
    for d in DIENSTEN:
        path = HERE / f"{d}.jsonl"
        if not path.exists():
            errors.append(f"{path.name}: missing")
            continue
        rows = load(path, d, errors)
        if len(rows) < MIN_TRAIN:
            errors.append(f"{path.name}: {len(rows)} examples, need >= {MIN_TRAIN}")
        train.extend(rows)
    for path in sorted(HERE.glob("*.jsonl")):
        if path.stem not in DIENSTEN and path.name != "heldout.jsonl":
            warnings.append(f"{path.name}: not a known corpus file, ignored")
    heldout: list[dict] = []
    hpath = HERE / "heldout.jsonl"
    if hpath.exists():
        heldout = load(hpath, None, errors)
        per = Counter(r["dienst"] for r in heldout)
        for d in DIENSTEN:
            if per[d] < MIN_HELDOUT:
                errors.append(f"heldout.jsonl: {per[d]} examples for {d}, need >= {MIN_HELDOUT}")
    else:
        errors.append("heldout.jsonl: missing")

    # The probe and development sets (never trained on) must not paraphrase training either.
    probes: list[dict] = []
    for path in [*sorted(PROBES.glob("*.jsonl")), *sorted(DEV.glob("*.jsonl"))]:
        probes += load(path, None, errors)

    everything = train + heldout + probes
    by_norm: dict[str, list[dict]] = defaultdict(list)
    for r in everything:
        by_norm[r["_norm"]].append(r)
    for norm, group in by_norm.items():
        if len(group) > 1:
            where = ", ".join(f"{r['_where']} ({r['dienst']})" for r in group)
            errors.append(f"exact duplicate after normalisation: {where}: {norm[:70]!r}")

    for score, a, b in near_duplicates(everything):
        kind = "held-out/train" if a["_split"] != b["_split"] else "near"
        errors.append(
            f"{kind} duplicate (jaccard {score:.2f}): {a['_where']} ({a['dienst']}) ~ "
            f"{b['_where']} ({b['dienst']})\n    {a['text'][:90]!r}\n    {b['text'][:90]!r}"
        )

    if not quiet:
        table("training", train)
        table("held-out", heldout)
    for w in warnings:
        print(f"WARNING {w}")
    for e in errors:
        print(f"ERROR {e}")
    print(f"\n{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
