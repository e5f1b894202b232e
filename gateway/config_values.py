"""The value types of the settings (`gateway.config`) and their checks: lists from a variable,
the Redis URL with its Sentinel form, URLs, e-mail addresses, host:port, attachment types. Each
check raises a ValueError whose words become the setting's error; none repeats a value that may
hold a password."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator, BeforeValidator
from pydantic_settings import NoDecode

SENTINEL_SCHEME = "redis+sentinel"
_REDIS_SCHEMES = ("redis", "rediss", "unix", SENTINEL_SCHEME)


@dataclass(frozen=True)
class SentinelTarget:
    """A Redis reached through Sentinel: `redis+sentinel://[[user]:password@]host:port[,host:port...]/
    master[/db]`. The password is the Redis master's (Sentinels themselves are reached without one)."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def sentinel_target(url: str) -> SentinelTarget | None:
    """The Sentinel form of `redis_url` parsed (None for a plain redis:// URL); ValueError naming
    what is wrong. Parsed by hand: urllib cannot read a netloc holding several host:port pairs."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _REDIS_SCHEMES:
        raise ValueError(
            f"{url!r}: use redis://host:port/db, rediss://..., unix:///path or "
            f"{SENTINEL_SCHEME}://host:port[,host:port...]/master[/db]"
        )
    if scheme != SENTINEL_SCHEME:
        return None
    netloc, _, path = rest.partition("/")
    username = password = None
    if "@" in netloc:
        credentials, netloc = netloc.rsplit("@", 1)
        user, colon, secret = credentials.partition(":")
        username, password = unquote(user) or None, (unquote(secret) if colon else None) or None
    sentinels: list[tuple[str, int]] = []
    for entry in netloc.split(","):
        host, colon, port = entry.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"{SENTINEL_SCHEME}: {entry.strip()!r} is not host:port (Sentinels listen on 26379)"
            )
        sentinels.append((host.strip("[]"), int(port)))
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ValueError(
            f"{SENTINEL_SCHEME}: name the master after the hosts: .../mymaster or .../mymaster/0"
        )
    if len(parts) == 2 and not parts[1].isdigit():
        raise ValueError(
            f"{SENTINEL_SCHEME}: the database after the master must be a number, not {parts[1]!r}"
        )
    return SentinelTarget(
        tuple(sentinels), parts[0], int(parts[1]) if len(parts) == 2 else 0, username, password
    )


def comma_list(value: Any) -> Any:
    """A list from a variable: `a, b` as well as pydantic-settings' JSON `["a", "b"]`."""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON list: {exc}") from None
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# NoDecode: the variable reaches `comma_list` as the string it is, not parsed as JSON first.
CommaList = Annotated[list[str], NoDecode, BeforeValidator(comma_list)]
# logging accepts any case (`setup_logging` upper-cases); these are the names it knows.
LogLevel = Annotated[
    Literal["CRITICAL", "FATAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG", "NOTSET"],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
]


def url_check(*schemes: str, empty: bool = False, several: bool = False) -> AfterValidator:
    """A URL setting checked at load: one of `schemes`, with a host (and a port, if any, that is a
    number), so a typo stops the gateway instead of breaking links or deliveries later. `empty`:
    "" means off. `several`: comma-separated. The value is not repeated: it may hold a password."""
    wanted = " or ".join(f"{s}://" for s in schemes)

    def check(value: str) -> str:
        if not value.strip():
            if empty:
                return value
            raise ValueError(f"required: an {wanted} URL")
        for url in value.split(",") if several else [value]:
            if not url.strip() and several:
                continue
            parts = urlsplit(url.strip())
            try:
                parts.port  # noqa: B018 - raises ValueError for a port that is no number or too big
            except ValueError:
                raise ValueError(f"not an {wanted} URL: its port is not a number from 1 to 65535") from None
            if parts.scheme not in schemes or not parts.hostname or any(c.isspace() for c in url.strip()):
                raise ValueError(f"not an {wanted} URL with a host, e.g. {schemes[-1]}://host:port/path")
        return value

    return AfterValidator(check)


def email_check(value: str) -> str:
    local, at, domain = value.partition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or "@" in domain
        or any(c.isspace() for c in value)
    ):
        raise ValueError(f"{value!r} is not an e-mail address (name@domain)")
    return value


def _host_port_check(value: str) -> str:
    if not value:
        return value  # off
    host, colon, port = value.rpartition(":")
    if not colon or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port (e.g. smtp.kortrijk.be:25)")
    return value


HttpUrl = Annotated[str, url_check("http", "https")]
HttpUrlOrOff = Annotated[str, url_check("http", "https", empty=True)]
EmailAddress = Annotated[str, AfterValidator(email_check)]
HostPortOrOff = Annotated[str, AfterValidator(_host_port_check)]

# The types `gateway.attachments.content_refusal` checks whole (decoded or parsed): any other type
# would be refused at every upload, so it is refused here, at load.
CHECKED_ATTACHMENT_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
)
