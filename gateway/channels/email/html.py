"""HTML mail bodies to readable text: paragraphs and line breaks kept, quotes as "> " lines."""

from __future__ import annotations

import copy
import re
from html import unescape

import lxml.etree
import lxml.html
from inscriptis import Inscriptis
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_element import HtmlElement

# Browser defaults (the "relaxed" profile indents every div); a rule is a line break, as displayed.
_HTML_CONFIG = ParserConfig(css={**CSS_PROFILES["strict"], "hr": HtmlElement(display=Display.block)})
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: paragraphs and line breaks kept, quotes as "> " lines."""
    try:
        tree = lxml.html.document_fromstring(_strip_xml_declaration(html))
        for quote in tree.iter("blockquote"):
            if _is_indentation(quote):
                quote.set("data-indentation", "1")  # decided before _simplify drops the styles
        _simplify(tree)
        _mark_quotes(tree)
        text = _render(tree)
    except (lxml.etree.ParserError, ValueError, RecursionError):
        text = ""
    # libxml2 drops what is nested deeper than 256 elements: never lose the words themselves.
    return text if text.strip() else _bare_text(html)


def _bare_text(html: str) -> str:
    # Patterns that stop at the next "<": linear time on any input.
    text = re.sub(r"(?i)<(script|style)\b[^<>]*>[^<]*</\1\s*>", " ", html)
    text = unescape(re.sub(r"<[^<>]*>", " ", text))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _strip_xml_declaration(html: str) -> str:
    # lxml refuses str input that declares an encoding.
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", html)


def _render(element: lxml.html.HtmlElement) -> str:
    text = Inscriptis(element, _HTML_CONFIG).get_text()
    lines = [line.rstrip() for line in text.replace("\u00a0", " ").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _simplify(tree: lxml.html.HtmlElement) -> None:
    """Drop what a reader does not see; make Outlook's paragraphs single-spaced as displayed."""
    for element in list(tree.iter()):
        if not isinstance(element.tag, str):
            continue
        style = element.get("style") or ""
        if _HIDDEN.search(style) and element.getparent() is not None:
            element.drop_tree()  # preheaders and tracking text
            continue
        if style:
            del element.attrib["style"]  # inline padding would become indentation
        if element.tag == "p" and "msonormal" in (element.get("class") or "").lower():
            _outlook_paragraph(element)


def _outlook_paragraph(element: lxml.html.HtmlElement) -> None:
    """Outlook sets margin:0 on MsoNormal in its <style>, and an empty one is a blank line."""
    if element.text_content().strip():
        element.tag = "div"
        return
    for child in list(element):
        element.remove(child)
    element.text = None
    element.tag = "br"


def _mark_quotes(tree: lxml.html.HtmlElement) -> None:
    """Turn each quoting blockquote into a <pre> of "> " lines, innermost first, like plain-text mail."""
    for quote in reversed(list(tree.iter("blockquote"))):
        parent = quote.getparent()
        if parent is None or quote.get("data-indentation"):
            continue
        alone = copy.deepcopy(quote)
        alone.tail = None
        lines = _render(alone).split("\n")
        pre = lxml.html.Element("pre")
        pre.text = "\n" + "\n".join(f"> {line}" if line.strip() else ">" for line in lines) + "\n"
        pre.tail = quote.tail
        parent.replace(quote, pre)


def _is_indentation(quote: lxml.html.HtmlElement) -> bool:
    """Gmail's "indent" button makes a borderless blockquote: the writer's own text."""
    if quote.get("type") == "cite" or "quote" in (quote.get("class") or "").lower():
        return False
    return "border:none" in (quote.get("style") or "").replace(" ", "").lower()
