"""MIME boundaries found without compiling a regular expression per multipart.

The standard library's feed parser (`email.feedparser`, which `parse_mail` uses) compiles a new
pattern for every multipart it meets: `'(?P<sep>' + re.escape('--' + boundary) + ')' + TAIL`.
Boundaries are unique per message, so `re`'s cache never helps, and that compile was a fifth of
`parse_mail`'s time for an ordinary mail (text, HTML alternative, a photo: about 200 µs of
~1 ms), the largest single cost of the SMTP listener's parsing.

`install()` gives the feed parser a `re` whose `compile` answers that one pattern with a matcher
of the same meaning: the line starts with the separator (a string comparison), and `TAIL`,
compiled once, matches right after it. The feed parser only asks the match for its truth,
`group("end")` and `group("linesep")`, which the tail's match carries. Any other pattern, or one
this module cannot read back exactly, goes to `re.compile` as before.
"""

from __future__ import annotations

import email.feedparser
import re
from types import ModuleType
from typing import Any

# The feed parser's pattern after the escaped separator (Python 3.8 to 3.13).
_TAIL_SOURCE = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_HEAD = "(?P<sep>"
_TAIL = re.compile(_TAIL_SOURCE[1:])
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


class BoundaryMatcher:
    """`re.compile(HEAD + re.escape(separator) + TAIL)`'s `match`, without the compile."""

    __slots__ = ("separator", "_start")

    def __init__(self, separator: str) -> None:
        self.separator = separator
        self._start = len(separator)

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _TAIL.match(line, self._start)


def boundary_separator(pattern: str) -> str | None:
    """The separator of a feed parser boundary pattern, or None for any other pattern."""
    if not (pattern.startswith(_HEAD) and pattern.endswith(_TAIL_SOURCE)):
        return None
    escaped = pattern[len(_HEAD) : -len(_TAIL_SOURCE)]
    separator = _ESCAPED.sub(r"\1", escaped)
    # Read back exactly, or not at all: the escaped text must be what re.escape makes of it.
    return separator if re.escape(separator) == escaped else None


class _FeedParserRe(ModuleType):
    """`re` for `email.feedparser`: the same module but for boundary patterns."""

    def __init__(self) -> None:
        super().__init__("re")

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def compile(pattern: Any, flags: int = 0) -> Any:
        if isinstance(pattern, str) and not flags and (separator := boundary_separator(pattern)):
            return BoundaryMatcher(separator)
        return re.compile(pattern, flags)


def install() -> None:
    """Once per process (repeating it changes nothing)."""
    if not isinstance(email.feedparser.re, _FeedParserRe):
        email.feedparser.re = _FeedParserRe()  # type: ignore[attr-defined]
