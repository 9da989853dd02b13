"""alertd.toml -> Settings: environment expansion, validation messages, the shipped file."""

import tomllib
from pathlib import Path

import pytest

from alertd.config import ConfigError, load_settings, settings_from_dict
from alertd.notify.channels import sending_problems

ROOT = Path(__file__).resolve().parent.parent


def load(raw: dict, env: dict[str, str] | None = None):
    return settings_from_dict(raw, Path("/etc/alertd/alertd.toml"), env or {})


def test_shipped_config_loads_without_credentials() -> None:
    settings = load_settings(ROOT / "alertd.toml", environ={})
    assert settings.dispatch.dry_run is True
    assert settings.server.ingest_tokens == ()  # the unset ${ALERTD_INGEST_TOKEN} is no token
    assert settings.rules.paths == (ROOT / "rules",)
    assert settings.state.path == ROOT / "var" / "alertd.db"
    assert settings.recipients["managers"] == ("fleet-managers@example.com",)
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8080


def test_environment_references_are_expanded() -> None:
    settings = load(
        {
            "server": {"ingest_tokens": ["${TOKEN}", "${MISSING:-fallback}", "${UNSET:-}"]},
            "channels": {"sms": {"auth_token": "${TWILIO}"}},
        },
        {"TOKEN": "s3cret", "TWILIO": "tw"},
    )
    assert settings.server.ingest_tokens == ("s3cret", "fallback")
    assert settings.channels["sms"]["auth_token"] == "tw"


@pytest.mark.parametrize("environ", [{}, {"ALERTD_INGEST_HMAC": ""}])
def test_an_unset_environment_variable_is_an_error_naming_it_and_the_key(
    environ: dict[str, str],
) -> None:
    # Expanded to "", it would switch signed ingestion off without a word.
    with pytest.raises(ConfigError) as info:
        load({"server": {"ingest_hmac_secret": "${ALERTD_INGEST_HMAC}"}}, environ)
    assert str(info.value) == (
        "/etc/alertd/alertd.toml: [server] ingest_hmac_secret: environment variable "
        "ALERTD_INGEST_HMAC is not set (or empty); set it, or write ${ALERTD_INGEST_HMAC:-} "
        "where empty is meant"
    )


def test_an_unset_variable_in_a_channel_table_names_the_channel() -> None:
    with pytest.raises(ConfigError, match=r"\[channels.sms\] auth_token: environment variable X "):
        load({"channels": {"sms": {"auth_token": "${X}"}}})


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("${TWILIO_TOKEN-}", "'${TWILIO_TOKEN-}' (did you mean '${TWILIO_TOKEN:-}'?)"),
        ("${X-def}", "'${X-def}' (did you mean '${X:-def}'?)"),
        ("${X:?msg}", "'${X:?msg}'"),
        ("${X:=y}", "'${X:=y}'"),
        ("${X:-y", "'${X:-y' (no closing })"),
        ("pre ${X:-${Y:-x}} post", "'${X:-${Y:-x}}'"),
        ("${}", "'${}'"),
        ("${1X}", "'${1X}'"),
    ],
)  # fmt: skip
def test_a_mistyped_placeholder_is_an_error_not_literal_text(written: str, shown: str) -> None:
    # Kept as written, "${ALERTD_WEBHOOK_SECRET-}" would sign with a publicly known string.
    with pytest.raises(ConfigError) as info:
        load({"channels": {"webhook": {"url": "http://x", "secret": written}}})
    assert str(info.value).startswith(
        f"/etc/alertd/alertd.toml: [channels.webhook] secret: bad placeholder {shown}: "
        "alertd reads ${NAME} and ${NAME:-default}"
    )


def test_a_dollar_without_a_brace_is_literal_and_double_dollar_brace_escapes() -> None:
    settings = load(
        {"server": {"ingest_tokens": ["pa$word", "$TOKEN", "$${NOT_A_VAR}", "${A:-x$y{z}"]}}
    )
    assert settings.server.ingest_tokens == ("pa$word", "$TOKEN", "${NOT_A_VAR}", "x$y{z")


def test_durations_accept_seconds_and_strings() -> None:
    settings = load({"dispatch": {"max_age": "2h", "backoff_initial": 0.5}})
    assert settings.dispatch.max_age == 7200.0
    assert settings.dispatch.backoff_initial == 0.5


def test_relative_paths_resolve_against_the_config_folder() -> None:
    settings = load({"rules": {"paths": ["rules", "/abs/x.rules"]}, "state": {"path": "db"}})
    assert settings.rules.paths == (Path("/etc/alertd/rules"), Path("/abs/x.rules"))
    assert settings.state.path == Path("/etc/alertd/db")


def test_channel_key_files_resolve_against_the_config_folder_too() -> None:
    settings = load(
        {
            "channels": {
                "email": {"host": "h", "from": "a@b.c", "ca_file": "certs/ca.pem"},
                "push": {"provider": "fcm", "service_account_file": "fcm.json"},
                "fcm2": {"kind": "push", "service_account_file": "/abs/sa.json"},
                "fcm3": {"kind": "push", "service_account_file": "${FCM_FILE:-}"},
            }
        }
    )
    assert settings.channels["email"]["ca_file"] == "/etc/alertd/certs/ca.pem"
    assert settings.channels["push"]["service_account_file"] == "/etc/alertd/fcm.json"
    assert settings.channels["fcm2"]["service_account_file"] == "/abs/sa.json"
    assert settings.channels["fcm3"]["service_account_file"] == ""  # unset: still reported


def test_a_relative_service_account_file_is_read_from_the_config_folder_wherever_run_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "fcm.json").write_text("not json")
    (folder / "alertd.toml").write_text(
        '[dispatch]\ndry_run = false\n[channels.push]\nprovider = "fcm"\n'
        'service_account_file = "fcm.json"\nto = "device"\n'
    )
    monkeypatch.chdir(tmp_path)  # not the config's folder: fcm.json is not here
    settings = load_settings(folder / "alertd.toml", environ={})
    assert sending_problems(settings) == [
        "[channels.push] service_account_file: is not valid JSON"  # found and read
    ]


def test_default_paths_are_the_config_folders_too() -> None:
    """`alertd run -c /etc/alertd/alertd.toml` started from anywhere finds its rules there and
    keeps its state there, not in whatever folder it was started from."""
    settings = load({})
    assert settings.rules.paths == (Path("/etc/alertd/rules"),)
    assert settings.rules.templates == Path("/etc/alertd/templates")
    assert settings.state.path == Path("/etc/alertd/var/alertd.db")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"servr": {}}, "unknown section [servr] (did you mean 'server'?)"),
        ({"server": {"listn": "x"}}, "[server] unknown key 'listn' (did you mean 'listen'?)"),
        ({"server": {"listen": "8080"}}, "[server] listen: expected HOST:PORT"),
        ({"dispatch": {"dry_run": "yes"}}, "[dispatch] dry_run: expected true or false"),
        ({"dispatch": {"max_age": "5 minutes"}}, "[dispatch] max_age: invalid duration"),
        ({"dispatch": {"max_attempts": -1}}, "[dispatch] max_attempts: must not be negative"),
        ({"recipients": {"x": [1]}}, "[recipients] x: expected a list of strings"),
        ({"channels": {"pager": {"kind": "pagr"}}}, "kind 'pagr' is not one of"),
        ({"dispatch": {"concurrency": 0}}, "[dispatch] concurrency: must be at least 1, got 0"),
        ({"dispatch": {"rate_limit": -1}}, "[dispatch] rate_limit: must not be negative"),
        ({"dispatch": {"timeout": 0}}, "[dispatch] timeout: must be more than 0 seconds"),
    ],
)
def test_invalid_settings_name_the_file_and_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(raw)
    assert str(info.value).startswith("/etc/alertd/alertd.toml: ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ({"level": "verbose"}, "[log] level: expected one of debug, info, warning, error, "
         "critical, got 'verbose'"),
        ({"level": "warn"}, "[log] level: expected one of debug, info, warning, error, critical, "
         "got 'warn' (did you mean 'warning'?)"),
        ({"format": "yaml"}, "[log] format: expected one of json, text, got 'yaml'"),
        ({"format": "txt"}, "[log] format: expected one of json, text, got 'txt' (did you mean "
         "'text'?)"),
    ],
)  # fmt: skip
def test_log_level_and_format_are_checked_at_load(log: dict, message: str) -> None:
    # Unchecked, `run` crashed on the level and quietly wrote text for any unknown format.
    with pytest.raises(ConfigError) as info:
        load({"log": log})
    assert str(info.value) == f"/etc/alertd/alertd.toml: {message}"


def test_log_level_and_format_are_read_in_any_case() -> None:
    settings = load({"log": {"level": "DEBUG", "format": "Text"}})
    assert (settings.log.level, settings.log.format) == ("debug", "text")


@pytest.mark.parametrize("dry_run", [True, False])
def test_email_tls_with_starttls_is_an_error_at_load_even_in_a_dry_run(dry_run: bool) -> None:
    with pytest.raises(ConfigError) as info:
        load(
            {
                "dispatch": {"dry_run": dry_run},
                "channels": {"mail": {"kind": "email", "tls": True, "starttls": True}},
            }
        )
    assert str(info.value).startswith(
        "/etc/alertd/alertd.toml: [channels.mail] tls: choose one of tls (implicit TLS"
    )


def test_bytes_of_bodies_read_at_once_must_fit_one_body_as_large_as_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        load({"server": {"max_body_bytes": 1000, "max_reading_bytes": 999}})
    assert str(info.value) == (
        "/etc/alertd/alertd.toml: [server] max_reading_bytes: must be 0 (no bound) or at least "
        "max_body_bytes (1000), got 999"
    )
    assert load({"server": {"max_reading_bytes": 0}}).server.max_reading_bytes == 0


def test_extra_named_channels_are_known_by_kind() -> None:
    settings = load({"channels": {"ops_hook": {"kind": "webhook", "url": "http://x"}}})
    assert "ops_hook" in settings.channel_names()
    assert {"email", "sms", "slack", "push", "webhook"} <= settings.channel_names()
    assert settings.channel_kind("ops_hook") == "webhook"


def test_missing_and_broken_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(broken)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"concurrency": "abc"}, "concurrency: expected a whole number, got 'abc'"),
        ({"concurrency": 0}, "concurrency: must be at least 1, got 0"),
        ({"concurrency": 2.5}, "concurrency: expected a whole number, got 2.5"),
        ({"rate_limit": -1}, "rate_limit: must not be negative (0 is no limit)"),
        ({"rate_limit": "fast"}, "rate_limit: expected a number, got 'fast'"),
        ({"rate_limit": float("inf")}, "rate_limit: expected a finite number, got inf"),
        ({"timeout": "5x"}, "timeout: invalid duration '5x'"),
        ({"timeout": -1}, "timeout: must not be negative"),
        ({"timeout": 0}, "timeout: must be more than 0 seconds"),
    ],
)  # fmt: skip
def test_a_channels_dispatch_overrides_are_checked_at_load(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"channels": {"webhook": {"url": "http://x", **table}}})
    assert str(info.value).startswith(f"/etc/alertd/alertd.toml: [channels.webhook] {message}")


def test_a_channels_dispatch_overrides_read_like_the_dispatch_section() -> None:
    settings = load(
        {
            "dispatch": {"concurrency": 8, "timeout": "20s"},
            "channels": {"slack": {"rate_limit": 1, "timeout": "5s"}, "sms": {}},
        }
    )
    slack = settings.channel_dispatch("slack")
    assert (slack.concurrency, slack.rate_limit, slack.timeout) == (8, 1.0, 5.0)
    assert settings.channels["slack"]["timeout"] == 5.0  # as the channel module reads it
    assert settings.channel_dispatch("sms") == settings.dispatch


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"urgent_too": ["+1"]}, "urgent_too: unknown key (did you mean 'urgent_to'?)"),
        ({"to": [15550100002]}, "to: expected a string or a list of strings"),
        ({"from": 15550100000}, "from: expected a string"),
        ({"base_url": "api.twilio.com"}, "base_url: expected an http:// or https:// URL"),
    ],
)  # fmt: skip
def test_a_channel_tables_keys_and_types_are_checked_at_load_even_in_a_dry_run(
    table: dict, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load({"dispatch": {"dry_run": True}, "channels": {"sms": table}})
    assert str(info.value).startswith(f"/etc/alertd/alertd.toml: [channels.sms] {message}")


@pytest.mark.parametrize(
    ("name", "table", "message"),
    [
        ("email", {"port": "587"}, "port: expected a port number"),
        ("email", {"starttls": "yes"}, "starttls: expected true or false"),
        ("slack", {"chanel": "#x"}, "chanel: unknown key (did you mean 'channel'?)"),
        ("push", {"provider": "apns"}, 'provider: expected "fcm" or "ntfy"'),
        ("webhook", {"headers": {"X-A": 1}}, "headers: expected a table of strings"),
        ("ops", {"kind": "webhook", "secrt": "x"}, "secrt: unknown key (did you mean 'secret'?)"),
        ("sms", {"send_resolved": "no"}, "send_resolved: expected true or false"),
        ("slack", {"send_resolve": False}, "send_resolve: unknown key (did you mean 'send_resol"),
    ],
)  # fmt: skip
def test_every_channel_kind_has_its_keys_checked(name: str, table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"channels": {name: table}})
    assert str(info.value).startswith(f"/etc/alertd/alertd.toml: [channels.{name}] {message}")


def test_every_channel_kind_may_say_whether_it_tells_of_resolves() -> None:
    tables = {kind: {"send_resolved": False} for kind in ("email", "sms", "slack", "push")}
    settings = load({"channels": {**tables, "webhook": {"send_resolved": True}}})
    assert [table["send_resolved"] for table in settings.channels.values()] == [False] * 4 + [True]


def test_the_shipped_push_channel_has_no_topic_anyone_could_publish_to() -> None:
    # A guessable topic on public ntfy.sh: `alertd send-test push` would publish there.
    push = load_settings(ROOT / "alertd.toml", environ={}).channels["push"]
    assert not {"topic", "to"} & push.keys()


def test_sending_for_real_needs_every_channel_table_of_the_shipped_file_configured() -> None:
    # Used by a rule or not, as Alertmanager checks every receiver: configure it or delete it.
    raw = tomllib.loads((ROOT / "alertd.toml").read_text())
    raw["dispatch"]["dry_run"] = False
    live = settings_from_dict(raw, ROOT / "alertd.toml", {})
    push_topic = (
        "[channels.push] topic: is required once dry_run = false: a rule that notifies push "
        "without naming a recipient group sends there"
    )
    assert sending_problems(live) == [
        "[channels.sms] account_sid, auth_token: are required "
        "(are their environment variables set?)",
        "[channels.slack] token: is required (is its environment variable set?)",
        push_topic,
    ]
    environ = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "SLACK_BOT_TOKEN": "x"}
    assert sending_problems(settings_from_dict(raw, ROOT / "alertd.toml", environ)) == [push_topic]
    raw["channels"]["push"]["topic"] = "${NTFY_TOPIC}"
    environ["NTFY_TOPIC"] = "fleet-3f9c2e"
    assert sending_problems(settings_from_dict(raw, ROOT / "alertd.toml", environ)) == []
    assert sending_problems(load_settings(ROOT / "alertd.toml", environ={})) == []  # dry run
