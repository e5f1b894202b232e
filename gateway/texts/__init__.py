"""Every text a citizen reads, one catalogue per language, and the Jinja2 environments that fill them in.

    gateway/texts/<lang>/catalogue.toml   short strings: the nine status labels, greetings, the TwiML
                                          answers, page strings ... (nl, fr, en: the same keys)
    gateway/texts/<lang>/<name>.txt       the messages: mails (first line `Subject: ...`) and SMS

Why TOML catalogues and a template file per language, not Babel/gettext: gettext keys a message by
its source sentence and wants its .po files compiled to .mo (a build step, binary files to ship),
while ours are keyed by meaning (a `Status` value, `sms.reply_melding`) and the messages are whole
documents whose translations do not follow the Dutch sentence by sentence. Three fixed languages
and no plural forms leave gettext nothing to do that a plain file per language does not do more
readably: the standard library reads TOML (no dependency), a city's clerk can edit a catalogue and
review its diff, and one placeholder syntax serves both (`{{ reference }}`, Jinja2).

The API: `language(lang)` (the catalogue's language, `FALLBACK` nl for an unknown or missing one),
`status_label(status, lang)`, `text(key, lang, **vars)` and `render(name, lang, **vars)`. Texts
are plain text: autoescape is off here, StrictUndefined on (a missing variable is an error, never an
empty gap in a citizen's mail). HTML pages escape what these return (`page_globals`, for the app's
aiohttp-jinja2 environment, whose templates live in gateway/http/templates/).

A city overrides a message by putting its own `<lang>/<name>.txt` in `templates_dir`
(GATEWAY_TEMPLATES_DIR, config/templates); `check_overrides` refuses at start-up a file that would
silently be ignored (a misspelt name, an old `$var` file `ack.nl.txt`) or that uses a variable the
message does not get.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal, get_args

import jinja2
import jinja2.meta

from gateway.melding import Status

Language = Literal["nl", "fr", "en"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
FALLBACK: Final[Language] = "nl"

HERE = Path(__file__).parent

# The messages and the variables each is rendered with: an override may use these and no others.
_MAIL = frozenset({"reference", "status", "name", "details", "tracking_url", "original_subject"})
_SMS = frozenset({"reference", "status", "details", "question", "tracking_url"})
MESSAGES: Final[Mapping[str, frozenset[str]]] = {
    "ack": _MAIL,
    "status": _MAIL,
    "sms.ack": _SMS,
    "sms.received": _SMS,  # the receipt of a melding whose reporter chose SMS (the web form)
    "sms.status": _SMS,
    "sms.question": _SMS,
}


class TextsError(Exception):
    """A catalogue or template that cannot be used; the message names the file or key."""


def language(lang: str | None) -> Language:
    """`lang` when there is a catalogue for it, else the fallback (nl)."""
    return lang if lang in LANGUAGES else FALLBACK  # type: ignore[return-value]


def _flatten(table: Mapping[str, Any], prefix: str, source: Path) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}.", source))
        elif isinstance(value, str):
            flat[prefix + key] = value
        else:
            raise TextsError(f"{source}: {prefix}{key} must be a string, not {type(value).__name__}")
    return flat


def load_catalogue(path: Path) -> dict[str, str]:
    """A catalogue file as `{"table.key": text}`."""
    try:
        return _flatten(tomllib.loads(path.read_text(encoding="utf-8")), "", path)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TextsError(f"{path}: {exc}") from exc


def check_catalogues(catalogues: Mapping[str, Mapping[str, str]]) -> None:
    """Every status has a label, and no catalogue has a key another one misses."""
    needed = {f"status.{s.value}" for s in Status}
    every = set().union(*(c.keys() for c in catalogues.values())) | needed
    for lang, catalogue in catalogues.items():
        if missing := sorted(every - catalogue.keys()):
            raise TextsError(f"gateway/texts/{lang}/catalogue.toml lacks {', '.join(missing)}")


def _load_catalogues() -> dict[Language, dict[str, str]]:
    catalogues = {lang: load_catalogue(HERE / lang / "catalogue.toml") for lang in LANGUAGES}
    check_catalogues(catalogues)
    return catalogues


# Read once, at import: a broken catalogue stops the gateway and the worker at start-up.
CATALOGUES: Final[Mapping[Language, Mapping[str, str]]] = _load_catalogues()


def _environment(loader: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    # Plain text (mail, SMS): nothing to escape. keep_trailing_newline: a message is rendered as written.
    return jinja2.Environment(
        loader=loader, autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )


_STRINGS = _environment()


@functools.cache
def _compiled(lang: Language, key: str) -> jinja2.Template | str:
    try:
        source = CATALOGUES[lang][key]
    except KeyError:
        raise TextsError(f"no text {key!r} in gateway/texts/{lang}/catalogue.toml") from None
    return _STRINGS.from_string(source) if "{" in source else source


def text(key: str, lang: str | None, /, **variables: object) -> str:
    """The catalogue's `key` (`table.name`) in `lang`, its placeholders filled in."""
    compiled = _compiled(language(lang), key)
    return compiled if isinstance(compiled, str) else compiled.render(variables)


def dienst_name(code: str | None, lang: str | None = FALLBACK) -> str:
    """A dienst's name in `lang` from the catalogue ("Publieke Ruimte" for `wegen`); a code the
    catalogue does not know, as it is; "—" for none."""
    if not code:
        return "—"
    key = f"dienst.{code}"
    return text(key, lang) if key in CATALOGUES[FALLBACK] else code


def status_label(status: Status | str, lang: str | None) -> str:
    """What a reporter reads for a status, e.g. "Wachten op antwoord", "En attente de réponse"."""
    return text(f"status.{Status(status).value}", lang)


_OLD_NAME = re.compile(r"^(?P<name>.+)\.(?P<lang>nl|fr|en)\.txt$")


@functools.cache
def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The messages' environment: a city's `templates_dir` first, the package's own files after.

    Templates are looked up as `<lang>/<name>.txt`; an edited override is read again on its next
    use (Jinja2's auto_reload), as the `string.Template` files were."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(HERE)]
    if templates_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(templates_dir))
    env = _environment(jinja2.ChoiceLoader(loaders))
    if templates_dir is not None:
        check_overrides(env, templates_dir)
    return env


def check_overrides(env: jinja2.Environment, directory: Path) -> None:
    """Refuse an override that would be ignored or fail later: an unknown name, bad syntax, a
    variable its message is not rendered with. A README or dotfile in the directory is fine."""
    if not directory.is_dir():
        return  # no overrides: the package's texts
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.name.lower().startswith("readme"):
            continue
        relative = path.relative_to(directory).as_posix()
        lang, _, filename = relative.partition("/")
        name = filename.removesuffix(".txt")
        if lang not in LANGUAGES or not filename.endswith(".txt") or name not in MESSAGES:
            if old := _OLD_NAME.match(relative):
                raise TextsError(
                    f"{path}: templates are Jinja2 files now, {{{{ reference }}}} instead of $reference;"
                    f" move it to {directory / old['lang'] / old['name']}.txt"
                )
            raise TextsError(
                f"{path}: not a message this gateway sends; overrides are <lang>/<name>.txt with lang"
                f" one of {', '.join(LANGUAGES)} and name one of {', '.join(MESSAGES)}"
            )
        source = path.read_text(encoding="utf-8")
        try:
            used = jinja2.meta.find_undeclared_variables(env.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            raise TextsError(f"{path}, line {exc.lineno}: {exc.message}") from exc
        if unknown := sorted(used - MESSAGES[name]):
            raise TextsError(
                f"{path}: unknown variable {', '.join(unknown)}; {name} is rendered with"
                f" {', '.join(sorted(MESSAGES[name]))}"
            )


def render(name: str, lang: str | None, /, *, templates_dir: Path | None = None, **variables: object) -> str:
    """The message `name` (a key of MESSAGES) in `lang`, from `templates_dir` when the city has its own."""
    if name not in MESSAGES:
        raise TextsError(f"no message {name!r}; known: {', '.join(MESSAGES)}")
    return environment(templates_dir).get_template(f"{language(lang)}/{name}.txt").render(variables)


@jinja2.pass_context
def _page_text(context: jinja2.runtime.Context, key: str, /, **variables: object) -> str:
    return text(key, context.get("lang"), **variables)


@jinja2.pass_context
def _page_status(context: jinja2.runtime.Context, status: Status | str) -> str:
    return status_label(status, context.get("lang"))


def page_globals() -> dict[str, Callable[..., str]]:
    """`t(key, **vars)` and `status_label(status)` for HTML templates, in the page's `lang`.

    They return plain strings, so the page's autoescape escapes the filled-in text as a whole."""
    return {"t": _page_text, "status_label": _page_status}


def accepted_language(header: str) -> Language:
    """The best of nl, fr, en by Accept-Language's q-values ("fr-BE,fr;q=0.9,en;q=0.5" -> fr)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, i, primary))
    return language(min(ranked)[2] if ranked else None)
