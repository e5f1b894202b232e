"""Settings: defaults here, `config/gateway.toml` over them, `GATEWAY_<KEY>` over both.

The TOML is flat on purpose: the key `case_system_url` is the variable
`GATEWAY_CASE_SYSTEM_URL`, so the documentation of one is the documentation of the
other. A typo in the file is an error, not a silently ignored setting.

The other configuration files (`dedupe.toml`, `ivr.toml`) are pydantic models read by
`load_toml_model`, whose errors name the file, the table and the key.

Each default is written once, on its field below; `config/gateway.toml` documents every
setting with its default commented out (a test keeps those comments equal to the fields).

`Settings(...)` built in code (tests, benchmarks) holds exactly the values given and the
defaults: only `load_settings` reads a file and the environment, so a developer's exported
`GATEWAY_*` variables never leak into a test.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Re-exported (`X as X`): the value types are used where the settings are.
from gateway.config_values import CHECKED_ATTACHMENT_TYPES as CHECKED_ATTACHMENT_TYPES
from gateway.config_values import SENTINEL_SCHEME as SENTINEL_SCHEME
from gateway.config_values import (
    CommaList,
    EmailAddress,
    HostPortOrOff,
    HttpUrl,
    HttpUrlOrOff,
    LogLevel,
    comma_list,
    email_check,
    sentinel_target,
    url_check,
)
from gateway.config_values import SentinelTarget as SentinelTarget

ENV_PREFIX = "GATEWAY_"
DEFAULT_CONFIG = Path("config/gateway.toml")
DEV_SECRET = "dev-secret-change-me"


class ConfigError(Exception):
    pass


class SettingsConflict(ValueError):
    """A model validator's complaint about settings that only together are wrong: `fields` names
    them, so the error can say which variables (and where they were set) to change."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.fields = fields


# Statuses a citizen sees (gateway.melding.Status, without `ontvangen`): what a feed pushes by default.
_PORTAL_STATUSES = (
    "beantwoord",
    "wachten_op_antwoord",
    "geregistreerd",
    "in_behandeling",
    "gepland",
    "behandeld",
    "naar_externe_partner",
    "niet_behandeld",
)


class StatusFeed(BaseModel):
    """One citizen portal fed with the statuses of meldingen linked to a national register number
    (README, "Citizen portal feeds"). `dosis`: the Flemish DOSIS service behind Mijn Burgerprofiel,
    OAuth2 client credentials at `token_url`; `signed_json`: our JSON, signed with `secret` as our
    webhooks are. What DOSIS does not publish is a setting here (`source_uri`, `product_id`, the
    status codes and the field names)."""

    model_config = {"extra": "forbid", "frozen": True}
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["dosis", "signed_json"]
    url: HttpUrl  # dosis: the API's base URL; signed_json: where to POST
    statuses: list[Literal[_PORTAL_STATUSES]] = Field(default_factory=lambda: list(_PORTAL_STATUSES))  # type: ignore[valid-type]
    timeout: float = Field(default=10.0, gt=0)
    secret: str = Field(default="", repr=False)  # signed_json: the HMAC key
    token_url: HttpUrlOrOff = ""  # dosis: the OAuth2 token endpoint (Vlaamse overheid ACM/IDM)
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    scope: str = ""
    source_uri: str = ""  # dosis: our "bron" as DOSIS registered it
    product_id: str = ""  # dosis: the IPDC product of a melding
    # dosis: the melding's status -> its DOSIS status code; a status not listed is sent as its own code
    status_codes: dict[str, str] = Field(default_factory=dict)
    # dosis: our name of a payload field -> the name DOSIS expects (its schema is not public)
    field_names: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _credentials(self) -> StatusFeed:
        needed = ("secret",) if self.kind == "signed_json" else ("token_url", "client_id", "client_secret")
        missing = [k for k in needed if not getattr(self, k)]
        if missing:
            raise ValueError(f"status feed {self.name!r} ({self.kind}) needs {', '.join(missing)}")
        return self


def _feeds_from_text(value: Any) -> Any:
    """A JSON list from the variable (pydantic-settings would try that too, with a worse error)."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list of feeds: {exc}") from None
    return value


StatusFeeds = Annotated[list[StatusFeed], NoDecode, BeforeValidator(_feeds_from_text)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # HTTP: web form, API, webhooks, tracking pages
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=1, le=65535)
    # The URL citizens and Twilio see (behind a proxy it differs from what the gateway sees);
    # tracking links and webhook signatures use it. Empty: http://localhost:<http_port>.
    public_url: HttpUrlOrOff = ""
    max_body_bytes: int = 25 * 1024 * 1024  # per request (413 above)
    # Slow clients: a connection must send a request's complete headers within http_header_timeout
    # seconds of opening (or of the previous answer: also how long an idle kept-alive connection
    # stays open; keep a proxy's upstream keep-alive shorter), and its body within http_body_timeout
    # seconds of the headers (408 and closed otherwise).
    http_header_timeout: float = Field(default=10.0, gt=0)
    http_body_timeout: float = Field(default=60.0, gt=0)
    # Retry-After (seconds) of the 503 answered while the store (database) or the queue (Redis)
    # cannot be reached
    store_retry_after: int = Field(default=30, ge=1)
    max_text_chars: int = 20_000
    max_attachments: int = 10
    max_attachment_bytes: int = 10 * 1024 * 1024  # per file
    attachment_types: CommaList = Field(default_factory=lambda: list(CHECKED_ATTACHMENT_TYPES))

    # Store, queue, files
    # redis://host:port/db, or through Sentinel: redis+sentinel://host1:26379,host2:26379/mymaster/0
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_autostart: bool = True  # `gateway up` starts a local redis-server when none answers
    # Seconds the HTTP and SMTP side waits for Redis to connect, and for any answer: a Redis that
    # accepts connections but never answers must not hold a request forever (intake stores the
    # melding all the same and the sweep queues it; what cannot go on without Redis answers 503).
    redis_connect_timeout: float = Field(default=2.0, gt=0)
    redis_socket_timeout: float = Field(default=5.0, gt=0)
    database_url: str = "sqlite:///data/gateway.db"
    data_dir: Path = Path("data")  # attachments (content-addressed) and a local Redis live here
    timezone: str = "Europe/Brussels"  # decides the year in references: 1777-2026-000123
    reference_prefix: str = "1777"

    # Routing
    diensten_file: Path = Path("config/diensten.toml")
    templates_dir: Path = Path("config/templates")  # your own notification texts (config/templates/README.md)

    # Case system: one of the adapters in workers/casesystem (ADAPTERS)
    case_system: Literal["webhook", "topdesk"] = "webhook"
    case_system_url: HttpUrlOrOff = "http://127.0.0.1:8099/case-system"  # `gateway receiver` listens here
    # HMAC key for our webhooks and for the status callbacks we accept; the gateway warns at
    # start while this development default is in use.
    case_system_secret: str = DEV_SECRET
    case_system_timeout: float = 10.0
    # Bearer token for reading meldingen through the API (GET /api/v1/meldingen[/{id}]: reporters'
    # names, addresses and texts); empty: those reads are refused (401). The desk's pages need no token.
    api_read_token: str = Field(default="", repr=False)
    # A case system read back by polling (TOPdesk): seconds between two reads of its changes
    case_system_poll_interval: int = Field(default=60, ge=1)
    # TOPdesk (workers/casesystem/topdesk.py): the instance (https://kortrijk.topdesk.net), an
    # operator's login name and one of its application passwords; what a melding becomes there
    # (categories, operator groups, status names) is in topdesk_file
    topdesk_url: HttpUrlOrOff = ""
    topdesk_user: str = ""
    topdesk_app_password: str = ""
    topdesk_file: Path = Path("config/topdesk.toml")

    # Delivery retries and the lost-job sweep
    # A failing delivery is tried again, at the capped backoff, until `delivery_retry_for` seconds
    # have passed since its first failed attempt (a case system down for a maintenance window or a
    # night loses nothing); then it is dead: `gateway deliveries --dead`, `--retry`.
    delivery_retry_for: float = Field(default=86400.0, gt=0)
    delivery_max_attempts: int = Field(default=0, ge=0)  # dead after this many attempts too; 0: no limit
    delivery_backoff_base: float = Field(default=2.0, gt=0)  # seconds; doubles per attempt, +-20%
    delivery_backoff_max: float = Field(default=300.0, gt=0)  # the interval once it stops doubling
    sweep_interval: int = Field(default=60, ge=1)
    sweep_grace: float = Field(default=30.0, ge=0)  # age of a waiting job before it is re-enqueued

    # Worker tuning (see README: throughput)
    worker_max_jobs: int = Field(default=50, ge=1)
    worker_poll_delay: float = Field(default=0.02, gt=0)
    worker_shutdown_grace: float = Field(default=15.0, ge=0)  # on SIGTERM, for running jobs
    # A worker beats every worker_heartbeat_interval seconds; one silent for worker_heartbeat_ttl is
    # dead (/healthz stops counting it) and a live worker runs the jobs it held again at once.
    worker_heartbeat_interval: float = Field(default=2.0, gt=0)
    worker_heartbeat_ttl: float = Field(default=10.0, gt=0)
    queue_name: str = "gateway:queue"

    # E-mail (names fixed by PRODUCT.md)
    smtp_port: int = 2525
    smtp_host: str = "0.0.0.0"
    smtp_hostname: str = "meldpunt.local"  # the name the listener greets with
    smtp_tls_cert: str = ""  # PEM certificate (chain): offers STARTTLS when set
    smtp_tls_key: str = ""
    max_mail_bytes: int = 30 * 1024 * 1024  # per message (552 above)
    email_address: EmailAddress = "1777@kortrijk.be"
    email_aliases: Annotated[CommaList, AfterValidator(lambda v: [email_check(a) for a in v])] = Field(
        default_factory=list
    )
    smtp_relay: HostPortOrOff = ""  # host:port for acknowledgements and status notifications
    ack_rate_limit: int = Field(default=5, ge=0)  # acknowledgements per sender per hour
    imap_url: Annotated[str, url_check("imap", "imaps", empty=True, several=True)] = (
        ""  # one or more, comma-separated
    )
    imap_processed_folder: str = "Processed"
    imap_poll_interval: float = Field(default=60.0, gt=0)  # when the server has no IDLE

    # Twilio and call records
    twilio_auth_token: str = ""
    twilio_account_sid: str = ""
    twilio_number: str = ""
    twilio_api_url: HttpUrl = "https://api.twilio.com"
    phone_secret: str = ""  # HMAC key of call records; empty: every call record is refused (401)
    ivr_file: Path = Path("config/ivr.toml")  # IVR digits -> dienst hint for call records
    # Twilio Voice callbacks (gateway/channels/twilio/voice.py): a call without callbacks for this many
    # seconds becomes its melding as it is (missing hang-up, a transcription that never came)
    voice_settle_seconds: float = Field(default=600.0, gt=0)
    voice_transcribe: bool = True  # the voice app asks Twilio for transcriptions: a recording waits for one

    # Retention (gateway/retention.py, SECURITY.md): a melding closed for this many days loses its
    # personal data (daily worker job, `gateway retention`); statistics stay. 0: keep everything forever.
    retention_days: int = Field(default=365, ge=0)

    # Logging
    log_level: LogLevel = "INFO"
    log_format: Literal["json", "text"] = "json"

    # Duplicate detection and hotspots (gateway/dedupe): windows, radii, thresholds; the street register
    dedupe_file: Path = Path("config/dedupe.toml")
    street_register_file: Path = Path("config/streets.csv")

    # Routing model (gateway/classify/model.py): spaCy textcat beside the rules; versions in model_dir
    model_dir: Path = Path("data/models")
    triage_threshold: float = Field(default=0.7, ge=0, le=1)  # model decisions below go to triage
    model_autotrain: bool = True  # no usable model at start: train one first (a few minutes)
    # processes fitting the calibration folds and the model at once; 0: one per core, 1: one by one
    model_train_processes: int = Field(default=0, ge=0)

    # SMS channel (gateway/channels/twilio/sms.py): an SMS from a number within this many hours of its
    # last melding (or while that one waits for the reporter's answer) is a follow-up, not a new melding
    sms_followup_window_hours: float = Field(default=24.0, ge=0)
    # MMS media fetches (workers/media.py): attempts before a media that keeps failing is given up
    # (below the process job's 10 tries), each after a backoff on the delivery_backoff_* settings
    sms_media_max_attempts: int = Field(default=5, ge=1, le=9)
    # Outbound SMS (workers/notify.py): longer texts become numbered messages of at most this many
    # segments each; an SMS acknowledgement to callers on a mobile number (not for calls answered at once)
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    sms_ack_phone_calls: bool = True
    # Delivery receipts (gateway/channels/twilio/sms_status.py): a part Twilio reports undelivered with a
    # transient error is sent again at most this many times, the first after sms_delivery_resend_delay
    # seconds, each further one after twice as long
    sms_delivery_max_resends: int = Field(default=2, ge=0, le=5)
    sms_delivery_resend_delay: float = Field(default=300.0, gt=0)

    # Tracking page (gateway/http/tracking.py): a client (IP address) that asked for this many unknown
    # tokens within tracking_miss_window seconds gets 429 on every tracking URL until the window ends;
    # a citizen reloading a valid page never counts
    tracking_miss_limit: int = Field(default=20, ge=1)
    tracking_miss_window: int = Field(default=900, ge=1)

    # Citizen portal feeds (workers/status_feeds, README "Citizen portal feeds"): a JSON list of
    # StatusFeed; a melding with a national register number has each status change pushed to each
    # feed that wants it, retried with the delivery_* backoff and budget, never holding up the rest.
    status_feeds: StatusFeeds = Field(default_factory=list)

    @model_validator(mode="after")
    def _feed_names_unique(self) -> Settings:
        names = [f.name for f in self.status_feeds]
        if len(names) != len(set(names)):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise SettingsConflict(f"two feeds are named {', '.join(map(repr, twice))}", "status_feeds")
        return self

    # Citizen web form at / (gateway/http/form.py): submissions per client IP and hour (Redis counter;
    # Zammad's web form allows 20), 0 = no limit; the map's tile URL ({z}/{x}/{y}; empty = no map,
    # the address field alone) and the attribution its tile server requires
    form_rate_limit: int = Field(default=20, ge=0)
    # Proxies in front of the gateway that append to X-Forwarded-For: the client IP is the entry this
    # many from the right. 0: the connection's own peer (no proxy; a forged header is ignored).
    forwarded_for_hops: int = Field(default=0, ge=0, le=5)
    map_tile_url: HttpUrlOrOff = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = "© OpenStreetMap contributors"

    # The desk workplace at /desk (gateway/http/desk_pages, README "Desk workplace"): the key of its
    # encrypted session cookies (any long random string; empty: one is made at each start, and every
    # session ends at a restart), Secure cookies (false only for plain-http development), the idle
    # minutes after which a session ends, and the lock-out: after desk_lockout_attempts failed logins
    # in a row an account is locked desk_lockout_seconds, doubling with each further failure up to
    # desk_lockout_max_seconds
    desk_session_secret: str = Field(default="", repr=False)
    desk_cookie_secure: bool = True
    desk_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    desk_lockout_attempts: int = Field(default=5, ge=1)
    desk_lockout_seconds: float = Field(default=60.0, gt=0)
    desk_lockout_max_seconds: float = Field(default=3600.0, gt=0)

    # Open311 GeoReport v2 (gateway/channels/open311, README "Open311 GeoReport v2"): the API keys a
    # POST must carry (none: every POST is refused with 403), the jurisdiction_id we answer to (a
    # request naming another gets 404), and the area a lat/long must lie in (south, west, north, east)
    open311_api_keys: CommaList = Field(default_factory=list)
    open311_jurisdiction_id: str = "kortrijk.be"
    open311_rate_limit: int = Field(default=60, ge=0)  # POSTs per api_key per minute (403 above); 0: none
    open311_area: Annotated[list[float], NoDecode, BeforeValidator(comma_list)] = Field(
        default_factory=lambda: [50.72, 3.16, 50.88, 3.37], min_length=4, max_length=4
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str) -> str:
        sentinel_target(v)  # a ValueError names what is wrong with it
        return v

    @field_validator("open311_area")
    @classmethod
    def _area_is_a_box(cls, v: list[float]) -> list[float]:
        south, west, north, east = v
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise ValueError("south, west, north, east: south < north and west < east, in degrees")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        # References and dates are made in it; an unknown zone would only fail once serving.
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a known time zone (an IANA name, e.g. Europe/Brussels)") from None
        return v

    @field_validator("attachment_types")
    @classmethod
    def _checkable_types(cls, v: list[str]) -> list[str]:
        unchecked = [t for t in v if t not in CHECKED_ATTACHMENT_TYPES]
        if unchecked:
            raise ValueError(
                f"{', '.join(unchecked)}: no whole-file check exists for it, so every upload of it "
                f"would be refused; choose from {', '.join(CHECKED_ATTACHMENT_TYPES)}"
            )
        return v

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @model_validator(mode="after")
    def _heartbeat_outlives_its_interval(self) -> Settings:
        # A TTL within one interval would declare live workers dead between two beats (and rerun
        # their jobs while they still run them).
        if self.worker_heartbeat_ttl < 2 * self.worker_heartbeat_interval:
            raise SettingsConflict(
                "worker_heartbeat_ttl must be at least twice worker_heartbeat_interval "
                f"({self.worker_heartbeat_ttl} < 2 x {self.worker_heartbeat_interval})",
                "worker_heartbeat_ttl",
                "worker_heartbeat_interval",
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _local_public_url(cls, data: Any) -> Any:
        # On one machine the links must point at the port actually served, whatever it is set to.
        if isinstance(data, dict) and not data.get("public_url"):
            port = str(data.get("http_port") or 8080)
            # a bad http_port is reported as itself, not again as a bad public_url
            data = {**data, "public_url": f"http://localhost:{port if port.isdigit() else 8080}"}
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First source wins: values given in code, then variables, then the file; defaults last.
        loading = _LOADING.get()
        if loading is None:
            return (init_settings,)
        file, environ = loading
        return (
            init_settings,
            _EnvironSource(settings_cls, environ),
            TomlConfigSettingsSource(settings_cls, toml_file=file),
        )

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    def uses_dev_secret(self) -> bool:
        return self.case_system_secret == DEV_SECRET


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' variable source, reading a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Variable names are case-insensitive, as in the default source (case_sensitive=False).
        return {name.lower(): value for name, value in self._environ.items()}


# The file and variables of the `load_settings` call in progress: sources are chosen by a
# classmethod, so this is how one call's inputs reach them (None: `Settings(...)` in code).
_LOADING: ContextVar[tuple[Path, Mapping[str, str]] | None] = ContextVar("_LOADING", default=None)


@contextmanager
def _loading(file: Path, environ: Mapping[str, str]) -> Iterator[None]:
    token = _LOADING.set((file, environ))
    try:
        yield
    finally:
        _LOADING.reset(token)


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, the TOML over them (if present), `GATEWAY_*` variables over both; validated.

    `GATEWAY_CONFIG` chooses another file. A missing default file is fine (all
    settings have defaults); a missing file that was asked for explicitly is not.
    """
    environ = dict(os.environ if environ is None else environ)
    explicit = path or (Path(environ["GATEWAY_CONFIG"]) if environ.get("GATEWAY_CONFIG") else None)
    file = Path(explicit or DEFAULT_CONFIG)
    if explicit and not file.exists():
        raise ConfigError(f"{file}: configuration file not found")
    try:
        with _loading(file, environ):
            return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise _invalid(file, environ, exc) from exc


def _invalid(file: Path, environ: Mapping[str, str], exc: ValidationError) -> ConfigError:
    """Every problem, grouped by where the values at fault were set: `GATEWAY_HTTP_PORT=abc` is
    not the file's fault. A problem of several settings together names each of them."""
    variables = {name.lower() for name in environ}
    try:
        in_file = set(tomllib.loads(file.read_text(encoding="utf-8"))) if file.exists() else set()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        in_file = set()
    groups: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = err["loc"]
        error = err.get("ctx", {}).get("error")
        fields = [str(loc[0])] if loc else list(getattr(error, "fields", ()))
        if loc:
            problem = f"{'.'.join(str(p) for p in loc)} ({env_name(fields[0])}): {_message(err)}"
        else:  # a model validator's: no location, the settings it names
            named = ", ".join(f"{f} ({env_name(f)})" for f in fields)
            problem = f"{named}: {_message(err)}" if named else _message(err)
        places = []
        if any(env_name(f).lower() in variables for f in fields):
            places.append("the environment")
        if any(f in in_file for f in fields) or not places:
            places.append(str(file))  # not from a variable: the file's (or its defaults')
        groups.setdefault(" and ".join(places), []).append(problem)
    return ConfigError(
        "; ".join(
            f"{place}: invalid settings: {'; '.join(problems)}"
            if place == str(file)
            else f"invalid settings in {place}: {'; '.join(problems)}"
            for place, problems in groups.items()
        )
    )


def _message(err: Any) -> str:
    """A validator's own words, without pydantic's "Value error, " before them."""
    return str(err["ctx"]["error"]) if err["type"] == "value_error" else str(err["msg"])


Model = TypeVar("Model", bound=BaseModel)


Problems = Callable[[Path, dict[str, Any], ValidationError], list[str]]


def load_toml_model(
    path: Path,
    model: type[Model],
    error: type[ConfigError] = ConfigError,
    *,
    problems: Problems | None = None,
) -> Model:
    """A configuration file as its model (extra="forbid"); every problem in one `error`.

    `problems` words the validation errors where a file has its own vocabulary (the diensten
    file speaks of "dienst 'groen'"); the default is `toml_problems`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:  # not UTF-8 is not TOML either
        raise error(f"{path}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error("; ".join((problems or toml_problems)(path, data, exc))) from exc


def toml_problems(path: Path, data: dict[str, Any], exc: ValidationError) -> list[str]:
    """One line per problem, naming the file, the table and the key as the file spells them:
    `dedupe.toml [diensten.wegen]: unknown key(s) radius`, `dedupe.toml [dedupe] threshold: ...`."""

    def table(loc: tuple[Any, ...]) -> str:
        return f"{path} [{'.'.join(map(str, loc))}]" if loc else str(path)

    def is_table(loc: tuple[Any, ...]) -> bool:
        node: Any = data
        for part in loc:
            node = node.get(part) if isinstance(node, dict) else None
        return isinstance(node, dict)

    problems: list[str] = []
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for err in exc.errors():
        loc, kind = tuple(err["loc"]), err["type"]
        if kind == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(str(loc[-1]))
        elif kind == "missing":
            problems.append(f"{table(loc[:-1])}: {loc[-1]} is required")
        elif kind in ("model_type", "dict_type"):
            problems.append(f"{table(loc)}: must be a table")
        else:
            where = table(loc) if is_table(loc) else f"{table(loc[:-1])} {loc[-1]}"
            # a ValueError raised by a validator: its own words, without pydantic's "Value error, "
            problems.append(f"{where}: {err['ctx']['error'] if kind == 'value_error' else err['msg']}")
    problems += [f"{table(loc)}: unknown key(s) {', '.join(sorted(keys))}" for loc, keys in unknown.items()]
    return problems
