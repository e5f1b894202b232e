"""The feed parser's boundary lines are found as its own regular expression finds them."""

from __future__ import annotations

import email.feedparser
import re
from email import policy
from email.parser import BytesParser

import pytest

from gateway.channels.email import parse  # noqa: F401 (installs the boundary matcher)
from gateway.channels.email.boundaries import BoundaryMatcher, boundary_separator

TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"

BOUNDARIES = [
    "===============7330845974216740156==",
    "simple",
    "a.b+c(d)e?f*g[h]i{j}k|l^m$n\\o",
    "with space",
    "",
    "--",
    "\u00e9t\u00e9",
]
LINES = [
    "{sep}\r\n",
    "{sep}\n",
    "{sep}\r",
    "{sep}",
    "{sep}--\r\n",
    "{sep}--",
    "{sep}  \t\r\n",
    "{sep}-- \r\n",
    "{sep}x\r\n",
    "{sep}--x\r\n",
    " {sep}\r\n",
    "{sep}\r\n\r\n",
    "{sep}\n\n",
    "text\r\n",
    "",
    "--\r\n",
]


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_the_matcher_answers_as_the_regex_does(boundary: str) -> None:
    separator = "--" + boundary
    pattern = "(?P<sep>" + re.escape(separator) + TAIL
    regex = re.compile(pattern)
    matcher = email.feedparser.re.compile(pattern)
    assert isinstance(matcher, BoundaryMatcher)
    for template in LINES:
        line = template.format(sep=separator)
        expected, got = regex.match(line), matcher.match(line)
        assert bool(expected) == bool(got), repr(line)
        if expected and got:
            for group in ("end", "ws", "linesep"):
                assert expected.group(group) == got.group(group), (repr(line), group)


def test_any_other_pattern_is_compiled_as_before() -> None:
    assert boundary_separator(r"(?P<sep>--a)(?P<end>--)?") is None
    assert boundary_separator("(?P<sep>--a[" + TAIL) is None  # not what re.escape makes
    compiled = email.feedparser.re.compile(r"\r\n|\r|\n")
    assert isinstance(compiled, re.Pattern)
    assert email.feedparser.re.escape("a.b") == re.escape("a.b")


def test_a_nested_multipart_parses_to_the_same_tree() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="out+er"\r\n\r\npreamble\r\n--out+er\r\n'
        b'Content-Type: multipart/alternative; boundary="in.ner"\r\n\r\n--in.ner\r\n'
        b"Content-Type: text/plain\r\n\r\nplain\r\n--in.ner\r\nContent-Type: text/html\r\n\r\n"
        b"<p>html</p>\r\n--in.ner--\r\n--out+er \r\nContent-Type: text/plain\r\n\r\n--out+erx\r\n"
        b"second\r\n--out+er--\r\nepilogue\r\n"
    )
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    outer = msg.get_payload()
    assert [p.get_content_type() for p in outer] == ["multipart/alternative", "text/plain"]
    assert [p.get_payload() for p in outer[0].get_payload()] == ["plain", "<p>html</p>"]
    assert outer[1].get_payload() == "--out+erx\r\nsecond"
    assert msg.preamble == "preamble"
    assert msg.epilogue == "epilogue\r\n"
