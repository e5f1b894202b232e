"""Settings: `config/gateway.toml`, each key overridable by `GATEWAY_<KEY>`.

The TOML is flat on purpose: the key `case_system_url` is the variable
`GATEWAY_CASE_SYSTEM_URL`, so the documentation of one is the documentation of the
other. A typo in either place is an error, not a silently ignored setting.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_PREFIX = "GATEWAY_"
DEFAULT_CONFIG = Path("config/gateway.toml")
DEV_SECRET = "dev-secret-change-me"


class ConfigError(Exception):
    pass


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # HTTP
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = ""  # empty: http://localhost:<http_port>
    max_body_bytes: int = 25 * 1024 * 1024
    max_text_chars: int = 20_000
    max_attachments: int = 10
    max_attachment_bytes: int = 10 * 1024 * 1024
    attachment_types: list[str] = Field(
        default_factory=lambda: [
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "image/heic",
            "application/pdf",
        ]
    )

    # Store, queue, files
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_autostart: bool = True
    database_url: str = "sqlite:///data/gateway.db"
    data_dir: Path = Path("data")
    timezone: str = "Europe/Brussels"
    reference_prefix: str = "1777"

    # Routing
    diensten_file: Path = Path("config/diensten.toml")
    templates_dir: Path = Path("config/templates")

    # Case system
    case_system: str = "webhook"
    case_system_url: str = "http://127.0.0.1:8099/case-system"
    case_system_secret: str = DEV_SECRET
    case_system_timeout: float = 10.0
    topdesk_url: str = ""
    topdesk_user: str = ""
    topdesk_app_password: str = ""

    # Delivery retries and the lost-job sweep
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_base: float = Field(default=2.0, gt=0)
    delivery_backoff_max: float = Field(default=600.0, gt=0)
    sweep_interval: int = Field(default=60, ge=1)
    sweep_grace: float = Field(default=30.0, ge=0)

    # Worker tuning (see README: throughput)
    worker_max_jobs: int = Field(default=50, ge=1)
    worker_poll_delay: float = Field(default=0.02, gt=0)
    worker_shutdown_grace: float = Field(default=15.0, ge=0)
    queue_name: str = "gateway:queue"

    # Channels (used by their issues; names fixed by PRODUCT.md)
    smtp_port: int = 2525
    smtp_host: str = "0.0.0.0"
    smtp_hostname: str = "meldpunt.local"  # the name the listener greets with
    smtp_tls_cert: str = ""  # PEM certificate (chain): offers STARTTLS when set
    smtp_tls_key: str = ""
    max_mail_bytes: int = 30 * 1024 * 1024
    email_address: str = "1777@kortrijk.be"
    email_aliases: list[str] = Field(default_factory=list)
    smtp_relay: str = ""
    ack_rate_limit: int = Field(default=5, ge=0)  # acknowledgements per sender per hour
    imap_url: str = ""  # one or more, comma-separated
    imap_processed_folder: str = "Processed"
    imap_poll_interval: float = Field(default=60.0, gt=0)
    twilio_auth_token: str = ""
    twilio_account_sid: str = ""
    twilio_number: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    phone_secret: str = ""
    ivr_file: Path = Path("config/ivr.toml")  # IVR digits -> dienst hint for call records
    # Twilio Voice callbacks (gateway/channels/twilio/voice.py): a call without callbacks for this many
    # seconds becomes its melding as it is (missing hang-up, a transcription that never came)
    voice_settle_seconds: float = Field(default=600.0, gt=0)
    voice_transcribe: bool = True  # the voice app asks Twilio for transcriptions: a recording waits for one
    open311_api_keys: list[str] = Field(default_factory=list)

    # Logging
    log_level: str = "INFO"
    log_format: str = "json"

    # Duplicate detection and hotspots (gateway/dedupe): windows, radii, thresholds; the street register
    dedupe_file: Path = Path("config/dedupe.toml")
    street_register_file: Path = Path("config/streets.csv")

    # Routing model (gateway/classify/model.py): spaCy textcat beside the rules; versions in model_dir
    model_dir: Path = Path("data/models")
    triage_threshold: float = Field(default=0.7, ge=0, le=1)  # model decisions below go to triage
    model_autotrain: bool = True  # no usable model at start: train one (about a minute) first

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

    @field_validator("attachment_types", "open311_api_keys", "email_aliases", mode="before")
    @classmethod
    def _split_commas(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [part.strip() for part in v.split(",") if part.strip()]
        return v

    @field_validator("case_system")
    @classmethod
    def _known_case_system(cls, v: str) -> str:
        if v not in ("webhook", "topdesk"):
            raise ValueError("must be 'webhook' or 'topdesk'")
        return v

    @field_validator("log_format")
    @classmethod
    def _known_log_format(cls, v: str) -> str:
        if v not in ("json", "text"):
            raise ValueError("must be 'json' or 'text'")
        return v

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @model_validator(mode="before")
    @classmethod
    def _local_public_url(cls, data: Any) -> Any:
        # On one machine the links must point at the port actually served, whatever it is set to.
        if isinstance(data, dict) and not data.get("public_url"):
            data = {**data, "public_url": f"http://localhost:{data.get('http_port') or 8080}"}
        return data

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    def uses_dev_secret(self) -> bool:
        return self.case_system_secret == DEV_SECRET


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML (if present), overlay `GATEWAY_*` variables, validate.

    `GATEWAY_CONFIG` chooses another file. A missing default file is fine (all
    settings have defaults); a missing file that was asked for explicitly is not.
    """
    environ = dict(os.environ if environ is None else environ)
    explicit = path or (Path(environ["GATEWAY_CONFIG"]) if environ.get("GATEWAY_CONFIG") else None)
    values: dict[str, Any] = {}
    file = explicit or DEFAULT_CONFIG
    if file.exists():
        try:
            values = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    elif explicit:
        raise ConfigError(f"{file}: configuration file not found")
    for field in Settings.model_fields:
        if env_name(field) in environ:
            values[field] = environ[env_name(field)]
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])} ({env_name(str(err['loc'][0]))}): {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{file}: invalid settings: {problems}") from exc
