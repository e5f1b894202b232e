"""Which of the rules' patterns can match a text, from one scan.

The keyword rules search each of their patterns on its own (`RuleRouter._effects`): 26 searches a
melding, a third of the rules' time. Most patterns can only match where one of a few words is
written (`\\b(?:rat|ratten|rats)\\b[^.?]{0,200}\\b(?:riool|...)`): the strings every match must
contain are read from the pattern's parse tree, and one scan for all of them, the longest at each
position, says which patterns are worth searching. A pattern whose required strings cannot be read
(one that starts with `^` or a character class) is always searched. Exact: a pattern is skipped
only when a string each of its matches contains is absent from the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from re import _constants as sre  # the parse tree's opcodes: the stdlib's own, read only
from re import _parser as sre_parse
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def trie_regex(stems: Iterable[str]) -> str:
    """One alternation factored by common prefixes, preferring the longest stem at a position."""
    trie: dict[str, Any] = {}
    for stem in stems:
        node = trie
        for ch in stem:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy optional: the longer stems are tried first, this shorter one is the fallback.
        return "(?:" + body + ")?" if "" in node else body

    return emit(trie)


def required_strings(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Lowercased strings one of which every match of `pattern` contains; None when the parse tree
    does not say (then the pattern must always be searched). Lowercased, so a case-insensitive
    pattern is read soundly against lowercased text."""
    return _of_sequence(sre_parse.parse(pattern.pattern, pattern.flags).data)


def _of_sequence(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    """The first item of a sequence whose required strings can be read: every item of a sequence is
    required, so any one of them will do. A run of literals is read with what follows it
    (`_leading`: the parser factors "mag|moet" into "m" and a group)."""
    for n, (op, av) in enumerate(items):
        if op is sre.LITERAL:
            return _leading(items[n:])
        found = _of_item(op, av)
        if found is not None:
            return found
    return None


def _leading(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    """Strings one of which every match of `items` begins with; None when that cannot be read."""
    run: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av).lower())
            continue
        if op is sre.SUBPATTERN:
            after = _leading(av[3].data)
        elif op is sre.BRANCH:
            alternatives = [_leading(branch.data) for branch in av[1]]
            after = None if any(not a for a in alternatives) else frozenset().union(*alternatives)  # type: ignore[arg-type]
        else:
            after = None
        if after:
            return frozenset("".join(run) + rest for rest in after)
        break
    return frozenset({"".join(run)}) if run else None


def _of_item(op: Any, av: Any) -> frozenset[str] | None:
    if op is sre.SUBPATTERN:
        return _of_sequence(av[3].data)
    if op is sre.BRANCH:
        alternatives = [_of_sequence(branch.data) for branch in av[1]]
        if any(found is None for found in alternatives):
            return None
        return frozenset().union(*alternatives)  # type: ignore[arg-type]
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
        return _of_sequence(av[2].data)
    return None


class Prefilter(Generic[T]):
    """`candidates(text)`: the items whose pattern may match `text`, in the given order."""

    def __init__(self, items: Sequence[tuple[re.Pattern[str], T]]) -> None:
        self._always: list[int] = []
        owners: dict[str, set[int]] = {}
        for n, (pattern, _) in enumerate(items):
            strings = required_strings(pattern)
            if not strings:
                self._always.append(n)
                continue
            for string in strings:
                owners.setdefault(string, set()).add(n)
        self._items = [item for _, item in items]
        # The scan reports the longest string at a position; the shorter ones there are its prefixes.
        self._found: dict[str, frozenset[int]] = {
            string: frozenset().union(*(owners.get(string[:k], set()) for k in range(1, len(string) + 1)))
            for string in owners
        }
        self._scan = re.compile(f"(?=({trie_regex(owners)}))") if owners else None

    def candidates(self, text: str) -> list[T]:
        chosen = set(self._always)
        if self._scan is not None:
            for match in self._scan.finditer(text):
                chosen |= self._found[match.group(1)]
        return [self._items[n] for n in sorted(chosen)]
