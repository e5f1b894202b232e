"""Settings: where each value comes from, and how a mistake is reported."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import aiohttp
import pytest

from gateway.attachments import content_refusal
from gateway.channels.phone import calls as phone
from gateway.config import ConfigError, Settings, env_name, load_settings
from gateway.dedupe.config import DedupeConfigError
from gateway.dedupe.config import load as load_dedupe
from workers.casesystem import build_case_system
from workers.casesystem.topdesk_config import TopdeskConfigError
from workers.casesystem.topdesk_config import load as load_topdesk_file

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "gateway.toml"


def write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "gateway.toml"
    file.write_text(text, encoding="utf-8")
    return file


def test_variable_over_file_over_default(tmp_path: Path) -> None:
    file = write(tmp_path, 'http_port = 7000\nsmtp_port = 2600\npublic_url = "https://meldpunt.example/"\n')
    settings = load_settings(file, {"GATEWAY_SMTP_PORT": "2700"})
    assert settings.http_port == 7000  # the file over the default
    assert settings.smtp_port == 2700  # the variable over the file
    assert settings.max_attachments == 10  # neither: the default
    assert settings.public_url == "https://meldpunt.example"  # from the file too: no trailing slash


def test_which_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = write(tmp_path, "http_port = 7001\n")
    assert load_settings(None, {"GATEWAY_CONFIG": str(other)}).http_port == 7001
    assert load_settings(other, {"GATEWAY_CONFIG": "elsewhere.toml"}).http_port == 7001  # --config wins
    with pytest.raises(ConfigError, match="elsewhere.toml: configuration file not found"):
        load_settings(None, {"GATEWAY_CONFIG": "elsewhere.toml"})
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")  # no config/gateway.toml here: all defaults, no error
    assert load_settings(None, {}) == Settings()


def test_settings_in_code_read_neither_environment_nor_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_HTTP_PORT", "9999")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "gateway.toml").write_text("smtp_port = 1\n")
    assert Settings().http_port == 8080 and Settings().smtp_port == 2525
    assert Settings(http_port=8081).public_url == "http://localhost:8081"
    # load_settings without an explicit mapping reads the process environment and the default file
    loaded = load_settings()
    assert loaded.http_port == 9999 and loaded.smtp_port == 1


def test_lists_from_variables_comma_separated_or_json(tmp_path: Path) -> None:
    env = {
        "GATEWAY_EMAIL_ALIASES": " a@x.be,b@x.be , ",
        "GATEWAY_ATTACHMENT_TYPES": '["image/png", "image/gif"]',
    }
    settings = load_settings(write(tmp_path, ""), env)
    assert settings.email_aliases == ["a@x.be", "b@x.be"]
    assert settings.attachment_types == ["image/png", "image/gif"]
    assert load_settings(write(tmp_path, ""), {"GATEWAY_EMAIL_ALIASES": ""}).email_aliases == []
    in_file = load_settings(write(tmp_path, 'email_aliases = ["c@x.be"]\n'), {})
    assert in_file.email_aliases == ["c@x.be"]
    with pytest.raises(ConfigError, match=r"attachment_types \(GATEWAY_ATTACHMENT_TYPES\): .*JSON"):
        load_settings(write(tmp_path, ""), {"GATEWAY_ATTACHMENT_TYPES": '["image/png"'})


def test_unknown_keys_name_the_key_and_its_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, "http_prot = 8080\n"), {})
    assert str(exc.value).startswith(f"{tmp_path / 'gateway.toml'}: invalid settings: ")
    assert "http_prot (GATEWAY_HTTP_PROT): Extra inputs are not permitted" in str(exc.value)


def test_choices_are_checked(tmp_path: Path) -> None:
    file = write(tmp_path, "")
    for name, bad, allowed in [
        ("case_system", "jira", "'webhook' or 'topdesk'"),
        ("log_format", "xml", "'json' or 'text'"),
        ("log_level", "loud", "'INFO'"),
    ]:
        with pytest.raises(
            ConfigError, match=rf"{name} \(GATEWAY_{name.upper()}\): Input should be .*{allowed}"
        ):
            load_settings(file, {f"GATEWAY_{name.upper()}": bad})
    assert load_settings(file, {"GATEWAY_LOG_LEVEL": "debug"}).log_level == "DEBUG"  # any case, as logging
    with pytest.raises(ConfigError, match=r"http_port \(GATEWAY_HTTP_PORT\): Input should be less than"):
        load_settings(write(tmp_path, "http_port = 70000\n"), {})


def test_settings_wrong_together_name_each_of_them(tmp_path: Path) -> None:
    # a model validator's error has no location: it used to end in an IndexError traceback
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, ""), {"GATEWAY_WORKER_HEARTBEAT_TTL": "1"})
    assert str(exc.value) == (
        "invalid settings in the environment: worker_heartbeat_ttl (GATEWAY_WORKER_HEARTBEAT_TTL), "
        "worker_heartbeat_interval (GATEWAY_WORKER_HEARTBEAT_INTERVAL): worker_heartbeat_ttl must be "
        "at least twice worker_heartbeat_interval (1.0 < 2 x 2.0)"
    )
    feed = '{"name": "portaal", "kind": "signed_json", "url": "https://p.example/in", "secret": "s"}'
    with pytest.raises(
        ConfigError, match=r"status_feeds \(GATEWAY_STATUS_FEEDS\): two feeds are named 'portaal'$"
    ):
        load_settings(write(tmp_path, ""), {"GATEWAY_STATUS_FEEDS": f"[{feed}, {feed}]"})
    file = write(tmp_path, "worker_heartbeat_interval = 6.0\n")
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(str(file))}: invalid settings: worker_heartbeat_ttl"
    ):
        load_settings(file, {})


def test_the_error_says_where_the_bad_value_was_set(tmp_path: Path) -> None:
    file = write(tmp_path, "smtp_port = 2600\n")  # a good file
    with pytest.raises(ConfigError) as exc:
        load_settings(file, {"GATEWAY_HTTP_PORT": "abc"})
    assert str(exc.value).startswith("invalid settings in the environment: http_port (GATEWAY_HTTP_PORT): ")
    assert str(file) not in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, 'http_port = "abc"\n'), {"GATEWAY_SMTP_PORT": "2700"})
    assert str(exc.value).startswith(f"{file}: invalid settings: http_port (GATEWAY_HTTP_PORT): ")
    assert "public_url" not in str(exc.value)  # a bad port is not a second, bad public_url
    with pytest.raises(ConfigError) as exc:  # the variable worsens what the file sets
        load_settings(
            write(tmp_path, "worker_heartbeat_ttl = 10.0\n"), {"GATEWAY_WORKER_HEARTBEAT_INTERVAL": "6"}
        )
    assert str(exc.value).startswith(f"invalid settings in the environment and {file}: worker_heartbeat_ttl")


def test_time_zone_is_checked_at_load(tmp_path: Path) -> None:
    # an unknown zone used to pass here and crash `gateway serve` without naming the setting
    for bad in ("Mars/Olympus", "../../etc/passwd", ""):
        with pytest.raises(ConfigError, match=r"timezone \(GATEWAY_TIMEZONE\): .*not a known time zone"):
            load_settings(write(tmp_path, ""), {"GATEWAY_TIMEZONE": bad})
    assert load_settings(write(tmp_path, ""), {"GATEWAY_TIMEZONE": "UTC"}).timezone == "UTC"


@pytest.mark.parametrize(
    ("name", "bad", "said"),
    [
        ("public_url", "not a url", "not an http:// or https:// URL"),
        ("public_url", "https://meldpunt.example:99999", "not an http:// or https:// URL: its port"),
        ("case_system_url", "ftp://x", "not an http:// or https:// URL"),
        ("topdesk_url", "kortrijk.topdesk.net", "not an http:// or https:// URL"),
        ("twilio_api_url", "", "required: an http:// or https:// URL"),
        ("map_tile_url", "tile.example/{z}/{x}/{y}.png", "not an http:// or https:// URL"),
        ("imap_url", "imaps://u:p@mail.example/INBOX, pop3://u:p@mail.example", "not an imap:// or imaps://"),
        ("email_address", "notanemail", "'notanemail' is not an e-mail address"),
        ("email_aliases", "meldpunt@kortrijk.be, meldpunt", "'meldpunt' is not an e-mail address"),
        ("smtp_relay", "smtp.example", "'smtp.example' is not host:port"),
        ("attachment_types", "image/png, text/html", "text/html: no whole-file check exists"),
    ],
)
def test_addresses_and_types_are_checked_at_load(tmp_path: Path, name: str, bad: str, said: str) -> None:
    with pytest.raises(ConfigError, match=rf"{name} \({env_name(name)}\): {re.escape(said)}") as exc:
        load_settings(write(tmp_path, ""), {env_name(name): bad})
    assert ":p@" not in str(exc.value)  # a URL's password is never repeated


def test_addresses_that_mean_off_may_be_empty(tmp_path: Path) -> None:
    off = ("public_url", "case_system_url", "topdesk_url", "map_tile_url", "imap_url", "smtp_relay")
    settings = load_settings(write(tmp_path, ""), {env_name(name): "" for name in off})
    assert settings.public_url == "http://localhost:8080"  # empty: this machine
    assert [getattr(settings, name) for name in off[1:]] == ["", "", "", "", ""]
    good = {
        "GATEWAY_PUBLIC_URL": "https://meldpunt.kortrijk.be/",
        "GATEWAY_IMAP_URL": "imaps://u:p@mail.example/INBOX, imap://v:q@[::1]:143",
        "GATEWAY_SMTP_RELAY": "[::1]:25",
        "GATEWAY_EMAIL_ALIASES": "meldpunt@kortrijk.be",
    }
    assert load_settings(write(tmp_path, ""), good).public_url == "https://meldpunt.kortrijk.be"


def test_every_attachment_type_allowed_has_a_whole_file_check() -> None:
    from gateway.config import CHECKED_ATTACHMENT_TYPES

    for kind in CHECKED_ATTACHMENT_TYPES:
        assert "no whole-file check" not in (content_refusal(b"nothing", kind) or "")
    assert "no whole-file check" in (content_refusal(b"<html>", "text/html") or "")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gateway.toml: not valid TOML: .*line 1"):
        load_settings(write(tmp_path, "http_port = \n"), {})


def test_shipped_file_documents_the_defaults_without_repeating_them() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert tomllib.loads(text) == {}  # every line a comment: the defaults are Settings' own
    shown: dict[str, object] = {}
    for line in re.findall(r"^# ([a-z0-9_]+ = .*)$", text, re.MULTILINE):
        shown.update(tomllib.loads(line))
    assert sorted(shown) == sorted(Settings.model_fields)
    default = Settings()
    differs = [k for k, v in shown.items() if getattr(Settings(**{k: v}), k) != getattr(default, k)]
    assert differs == []  # a commented-out value that is not the default would mislead


async def test_topdesk_names_the_settings_it_misses() -> None:
    settings = load_settings(SHIPPED, {"GATEWAY_CASE_SYSTEM": "topdesk", "GATEWAY_TOPDESK_USER": "api"})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(
            ConfigError,
            match="GATEWAY_CASE_SYSTEM=topdesk needs GATEWAY_TOPDESK_URL, GATEWAY_TOPDESK_APP_PASSWORD$",
        ):
            build_case_system(settings, session)
        complete = settings.model_copy(
            update={"topdesk_url": "https://kortrijk.topdesk.net", "topdesk_app_password": "x"}
        )
        assert build_case_system(complete, session).name == "topdesk"  # the shipped topdesk.toml loads


def test_topdesk_file_mistakes_name_the_file_and_the_key(tmp_path: Path) -> None:
    good = (ROOT / "config" / "topdesk.toml").read_text(encoding="utf-8")
    bad = tmp_path / "topdesk.toml"
    for change, message in [
        (('caller_branch = "Stad Kortrijk"', ""), " [incident]: caller_branch is required"),
        (("[diensten.wegen]", "[diensten.wegenn]"), " [diensten]: unknown dienst(en) wegenn"),
        (
            ('"Gepland" = "gepland"', '"Gepland" = "ingepland"'),
            " [status.processing] Gepland: Input should be",
        ),
        (('"Gepland" = "gepland"', '"Gepland" = "ontvangen"'), "ontvangen is set by the gateway only"),
        (("page_size = 100", "page_size = 0"), " [poll] page_size: Input should be greater than"),
        (('operator_group = "Wegen"', "operator_group = { naam = 'Wegen' }"), "unknown key(s) naam"),
    ]:
        assert change[0] in good
        bad.write_text(good.replace(*change), encoding="utf-8")
        with pytest.raises(TopdeskConfigError) as exc:
            load_topdesk_file(bad)
        assert str(exc.value).startswith(str(bad)) and message in str(exc.value), str(exc.value)


def test_dedupe_file_mistakes_name_the_file_and_the_key(tmp_path: Path) -> None:
    good = (ROOT / "config" / "dedupe.toml").read_text(encoding="utf-8")
    bad = tmp_path / "dedupe.toml"
    for change, message in [
        (
            ("threshold = 0.60", "threshold = true"),
            " [dedupe] threshold: must be a number from 0.0 to 1.0, not True",
        ),
        (
            ("space_weight = 0.45", "space_weight = 0.95"),
            " [dedupe]: space_weight + time_weight must not exceed 1",
        ),
        (
            ("[diensten.dieren]\nwindow_days = 5\n", "[diensten.dieren]\n"),
            " [diensten.dieren]: window_days is required",
        ),
        (("[diensten.dieren]", "[diensten.honden]"), " [diensten]: unknown key(s) honden"),
        (
            ("[diensten.dieren]", "[diensten.honden]"),
            " [diensten]: dieren is required",
        ),
        (
            ('Heule = "8501"', "Heule = 8501"),
            " [register.deelgemeenten] Heule: Input should be a valid string",
        ),
        (("min_count = 4", "min_count = 4\nmin_cout = 3"), " [hotspots]: unknown key(s) min_cout"),
        (("\n[hotspots]\n", "\n[hotspot]\n"), ": unknown key(s) hotspot"),
        (("[dedupe]", "dedupe = 1\n[dedup]"), " [dedupe]: must be a table"),
        (("[dedupe]", "[dedupe]\nthreshold = = 1"), ": not valid TOML"),
    ]:
        bad.write_text(good.replace(*change, 1), encoding="utf-8")
        with pytest.raises(DedupeConfigError) as exc:
            load_dedupe(bad)
        assert f"{bad}{message}" in str(exc.value)


def test_ivr_file_mistakes_name_the_file_and_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "ivr.toml"
    for text, message in [
        ('[digits]\n"1" = "parking"\n"2" = 3\n', " [digits] 1: 'parking' is not a dienst code"),
        ('[digits]\n"1" = "parking"\n"2" = 3\n', " [digits] 2: Input should be a valid string"),
        ("digits = 3\n", " [digits]: must be a table"),
        ('[digit]\n"1" = "info"\n', ": unknown key(s) digit"),  # a typo no longer means "no hints"
        ("[digits\n", ": not valid TOML"),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as exc:
            phone.ivr_table(bad)
        assert f"{bad}{message}" in str(exc.value)


def test_open311_settings_from_variables(tmp_path: Path) -> None:
    file = write(tmp_path, "")
    env = {"GATEWAY_OPEN311_AREA": "50.7, 3.1,50.9,3.4", "GATEWAY_OPEN311_API_KEYS": "app-a, app-b"}
    settings = load_settings(file, env)
    assert settings.open311_area == [50.7, 3.1, 50.9, 3.4]
    assert settings.open311_api_keys == ["app-a", "app-b"]
    for bad, why in [("50.9,3.1,50.7,3.4", "south < north"), ("50.9,3.1", "at least 4 items")]:
        with pytest.raises(ConfigError, match=rf"open311_area \(GATEWAY_OPEN311_AREA\): .*{why}"):
            load_settings(file, {"GATEWAY_OPEN311_AREA": bad})
