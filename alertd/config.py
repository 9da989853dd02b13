"""alertd.toml -> typed, validated settings.

`${VAR}` inside any string is read from the environment, so secrets stay out of the file; an
unset (or empty) VAR is an error naming it and the key, because a secret that silently expands to
nothing switches a check off (`${VAR:-default}` says what to use instead; `${VAR:-}` allows
empty); any other `${` is an error too, never literal text (`$${` is a literal `${`). Unknown
keys are errors, because a misspelt key silently ignored is a setting that
silently does nothing. Relative paths are resolved against the config file's folder, the
channel keys that hold one (`CHANNEL_PATH_KEYS`) included.

Channel tables (`[channels.*]`) are kept as plain mappings for the channel modules, but their
shape is checked here, for every command and in a dry run too: every key must be one its kind
takes (`CHANNEL_KEYS`) and hold the right type, and the `[dispatch]` keys a table may override
(`CHANNEL_DISPATCH_KEYS`) are read like `[dispatch]` itself. What only matters for really
sending (a credential left empty, a key file that cannot be read) is checked by
`alertd.notify.channels` when `[dispatch] dry_run = false`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from alertd.durations import parse_duration
from alertd.model import CHANNEL_KINDS
from alertd.storms.policy import STORM_KEYS, storm_policy
from alertd.suggest import aside


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message names the file and key."""


Duration = typing.NewType("Duration", float)
"""Seconds; written in the file as a number of seconds or a string such as "5m"."""


@dataclass(frozen=True)
class ServerSettings:
    listen: str = "127.0.0.1:8080"
    ingest_tokens: tuple[str, ...] = ()
    admin_tokens: tuple[str, ...] = ()
    ingest_hmac_secret: str = ""  # when set, POST /v1/events must also carry a valid signature
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_events: int = 10_000
    max_json_depth: int = 32
    max_string_length: int = 65_536
    max_outbox_backlog: int = 100_000  # /v1/events sheds load once this many are pending
    max_inflight_requests: int = 256  # POST /v1/events read and being recorded at once
    # Bytes of request bodies still arriving, all connections together (0: no bound): past it
    # 503. A body being read takes no in-flight slot; this bounds the memory such bodies hold.
    max_reading_bytes: int = 256 * 1024 * 1024
    shutdown_grace: Duration = Duration(10.0)
    shutdown_delay: Duration = Duration(0.0)  # /readyz 503 this long before intake stops
    # Connections that never finish (alertd.server.listener); 0 switches a bound off.
    header_timeout: Duration = Duration(10.0)  # to send a whole request head, once connected
    body_timeout: Duration = Duration(60.0)  # to send a whole request body: then 408
    send_timeout: Duration = Duration(60.0)  # an answer the client takes none of: closed
    max_connections: int = 1000  # open at once; past it the longest-idle one is closed
    # Where people and providers reach alertd (links in messages; the console's Secure cookie
    # when it is https). "" when unset; never ends with "/".
    public_url: str = ""
    # Signs the console's session cookies; "" keeps a random one in the state folder instead.
    session_secret: str = ""
    # Signs the Acknowledge and Resolve links of alert emails; "" keeps one in the state folder.
    link_secret: str = ""
    session_lifetime: Duration = Duration(7 * 86_400.0)  # a console sign-in lasts this long

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True)
class RulesSettings:
    paths: tuple[Path, ...] = (Path("rules"),)
    templates: Path = Path("templates")
    watch: bool = False
    schema: Path | None = None  # the event schema (alertd.eventschema); None: none


@dataclass(frozen=True)
class StateSettings:
    path: Path = Path("var/alertd.db")
    # "postgresql://user@host/db": the state in PostgreSQL, shared by every daemon given it
    # (alertd.engine.pg_store); `path`'s folder then keeps only this node's own files.
    url: str = ""
    sweep_interval: Duration = Duration(60.0)
    retention: Duration = Duration(7 * 86_400.0)  # alerts and finished notifications kept
    busy_timeout: Duration = Duration(5.0)  # a write waits this long for another's, then 503


@dataclass(frozen=True)
class EngineSettings:
    timestamp_field: str = "timestamp"
    max_count_events: int = 20  # events a counting window keeps, for its alert
    max_future: Duration = Duration(3600.0)  # reject events stamped further ahead; 0: no check
    max_past: Duration = Duration(86_400.0)  # reject events stamped further back; 0: no check


@dataclass(frozen=True)
class DispatchSettings:
    dry_run: bool = True
    max_attempts: int = 8
    max_age: Duration = Duration(86_400.0)
    backoff_initial: Duration = Duration(1.0)
    backoff_max: Duration = Duration(300.0)
    concurrency: int = 4  # concurrent sends per channel
    rate_limit: float = 0.0  # sends per second per channel; 0 is unlimited
    timeout: Duration = Duration(10.0)


@dataclass(frozen=True)
class NotifySettings:
    timezone: str = "UTC"
    dashboard_url: str = ""
    sms_max_segments: int = 3


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"
    format: str = "json"  # json | text


@dataclass(frozen=True)
class OnCallSettings:
    path: Path | None = None  # oncall.toml (alertd.oncall); None: no people or schedules


@dataclass(frozen=True)
class Settings:
    source: Path = Path("alertd.toml")
    server: ServerSettings = field(default_factory=ServerSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    state: StateSettings = field(default_factory=StateSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    log: LogSettings = field(default_factory=LogSettings)
    oncall: OnCallSettings = field(default_factory=OnCallSettings)
    recipients: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def channel_names(self) -> frozenset[str]:
        """Channels a rule may name: every `[channels.NAME]` table, plus in a dry run the five
        kinds without one (they are only logged). Sending for real, a rule naming a channel
        with no table is an error in the rules, not a notification that fails at every send."""
        tables = frozenset(self.channels)
        return tables | frozenset(CHANNEL_KINDS) if self.dispatch.dry_run else tables

    def channel_kind(self, name: str) -> str:
        """The kind of a channel: its own name for the five kinds, else its `kind` key."""
        table = self.channels.get(name, {})
        return str(table.get("kind", name))

    def channel_dispatch(self, name: str) -> DispatchSettings:
        """`[dispatch]` as it applies to channel NAME, with its table's own overrides.

        Raises ConfigError naming the file, the channel and the key.
        """
        where = f"{self.source}: [channels.{name}]"
        overrides = _dispatch_overrides(self.channels.get(name, {}), where)
        return replace(self.dispatch, **overrides) if overrides else self.dispatch


_SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "rules": RulesSettings,
    "state": StateSettings,
    "engine": EngineSettings,
    "dispatch": DispatchSettings,
    "notify": NotifySettings,
    "log": LogSettings,
    "oncall": OnCallSettings,
}

CHANNEL_DISPATCH_KEYS = ("concurrency", "rate_limit", "timeout")
"""The `[dispatch]` keys a `[channels.NAME]` table may set for its own channel."""


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "expected a string"


def _texts(value: Any) -> str | None:
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and all(isinstance(item, str) for item in items):
        return None
    return "expected a string or a list of strings"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _port(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return None
    return f"expected a port number from 1 to 65535, got {value!r}"


def _url(value: Any) -> str | None:
    if isinstance(value, str) and (not value or value.startswith(("http://", "https://"))):
        return None
    return f"expected an http:// or https:// URL, got {value!r}"


def _headers(value: Any) -> str | None:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return None
    return "expected a table of strings"


def _push_provider(value: Any) -> str | None:
    return None if value in ("fcm", "ntfy") else f'expected "fcm" or "ntfy", got {value!r}'


CHANNEL_KEYS: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "email": {
        "host": _text, "port": _port, "from": _text, "to": _texts, "urgent_to": _texts,
        "username": _text, "password": _text, "starttls": _flag, "tls": _flag,
        "ca_file": _text, "verify": _flag, "send_resolved": _flag, "status_updates": _flag,
    },
    "sms": {
        "account_sid": _text, "auth_token": _text, "from": _text, "messaging_service_sid": _text,
        "to": _texts, "urgent_to": _texts, "base_url": _url, "send_resolved": _flag,
        "status_updates": _flag,
    },
    "slack": {
        "token": _text, "channel": _texts, "urgent_channel": _texts, "base_url": _url,
        "send_resolved": _flag, "status_updates": _flag, "signing_secret": _text,
    },
    "push": {
        "provider": _push_provider, "base_url": _url, "to": _texts, "urgent_to": _texts,
        "topic": _texts, "urgent_topic": _texts, "token": _text, "service_account_file": _text,
        "service_account": _text, "project_id": _text, "send_resolved": _flag,
        "status_updates": _flag,
    },
    "webhook": {
        "url": _url, "urgent_url": _url, "secret": _text, "headers": _headers,
        "send_resolved": _flag, "status_updates": _flag,
    },
}  # fmt: skip
"""The keys each channel kind takes besides `kind`, `CHANNEL_DISPATCH_KEYS` and the storm keys
(alertd.storms.policy: `max_per_recipient`, `quiet_hours`, `digest`), each with a check of its
value that returns what is wrong with it (None when nothing is). `send_resolved` (default
true): tell those an alert paged on this channel when it resolves; `status_updates` (default
true): ... when someone acknowledges it. Slack's `signing_secret` checks the clicks on its
messages' buttons (alertd.respond)."""

CHANNEL_PATH_KEYS: dict[str, tuple[str, ...]] = {
    "email": ("ca_file",),
    "push": ("service_account_file",),
}
"""Channel keys holding a file path: a relative one is resolved against the config's folder."""

_ENV_REF = re.compile(
    r"\$\$\{"  # `$${`: a literal `${`
    r"|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^$}]|\$(?!\{))*))?\}"  # ${NAME}, ${NAME:-default}
    r"|\$\{"  # any other `${`: a placeholder alertd does not read
)
_SHELL_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)-((?:[^$}]|\$(?!\{))*)\}")


def expand_env(value: Any, environ: Mapping[str, str], where: tuple[str, ...] = ()) -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of a TOML value; `$${` is a literal
    `${` (a lone `$` is just a `$`).

    Any other `${` (`${VAR-x}`, `${VAR:?msg}`, an unclosed or nested one) is an error rather
    than text kept as written: a mistyped placeholder in a secret would otherwise send a
    publicly known string. `where` is the value's place in the file (section and keys), for
    the ConfigError this raises (without the file's name).
    """
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            if match.group() == "$${":
                return "${"
            if match.group() == "${":
                raise ConfigError(_bad_placeholder(value, match.start(), where))
            name, default = match.group(1), match.group(2)
            found = environ.get(name)
            if found:
                return found
            if default is not None:
                return default
            raise ConfigError(
                f"{_place(where)}: environment variable {name} is not set (or empty); set it, "
                f"or write ${{{name}:-}} where empty is meant"
            )

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, list):
        return [expand_env(item, environ, where) for item in value]
    if isinstance(value, dict):
        return {key: expand_env(item, environ, (*where, key)) for key, item in value.items()}
    return value


def _bad_placeholder(text: str, start: int, where: tuple[str, ...]) -> str:
    """The error for the `${` at `start` that is not `${NAME}` or `${NAME:-default}`."""
    depth, end = 0, len(text)
    for index in range(start + 1, len(text)):  # up to the `}` that closes it, if any
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            end = index + 1
            break
    placeholder = text[start:end]
    shell = _SHELL_DEFAULT.fullmatch(placeholder)
    hint = f" (did you mean '${{{shell[1]}:-{shell[2]}}}'?)" if shell else ""
    unclosed = " (no closing })" if depth else ""
    return (
        f"{_place(where)}: bad placeholder {placeholder!r}{unclosed}{hint}: alertd reads "
        "${NAME} and ${NAME:-default} (no ${ or } in the default), and $${ is a literal ${"
    )


def _place(where: tuple[str, ...]) -> str:
    """("channels", "sms", "auth_token") -> "[channels.sms] auth_token"."""
    depth = 2 if where[:1] == ("channels",) else 1
    section, keys = ".".join(where[:depth]), ".".join(where[depth:])
    return f"[{section}] {keys}" if keys else f"[{section}]"


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, expand and validate a config file. Raises ConfigError."""
    source = Path(path)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    return settings_from_dict(raw, source, os.environ if environ is None else environ)


def settings_from_dict(
    raw: Mapping[str, Any], source: Path, environ: Mapping[str, str]
) -> Settings:
    """Validate an already-parsed config table (exposed for tests)."""
    try:
        data = expand_env(dict(raw), environ)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    base = source.parent
    known = {*_SECTIONS, "recipients", "channels"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{source}: unknown section [{key}]{aside(key, known)}")

    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        sections[name] = _build(cls, table, f"{source}: [{name}]", base)

    recipients = _recipients(data.get("recipients", {}), source)
    channels = data.get("channels", {})
    if not isinstance(channels, dict) or not all(isinstance(t, dict) for t in channels.values()):
        raise ConfigError(f"{source}: [channels] must hold one table per channel")
    for name, table in channels.items():
        kind = table.get("kind", name)
        if kind not in CHANNEL_KINDS:
            raise ConfigError(
                f"{source}: [channels.{name}] kind {kind!r} is not one of "
                f"{', '.join(CHANNEL_KINDS)}{aside(str(kind), CHANNEL_KINDS)}"
            )
        _check_channel_keys(kind, table, f"{source}: [channels.{name}]")
        try:
            storm_policy(kind, table, sections["notify"].timezone)
        except ValueError as error:
            raise ConfigError(f"{source}: [channels.{name}] {error}") from None
        if kind == "email" and table.get("tls") and table.get("starttls"):
            raise ConfigError(
                f"{source}: [channels.{name}] tls: choose one of tls (implicit TLS, usually "
                "port 465) and starttls"
            )
        for key in CHANNEL_PATH_KEYS.get(kind, ()):
            if table.get(key):  # "" (an unset `${VAR:-}`) stays empty: the channel reports it
                table[key] = str(_resolve(table[key], base))
        # Stored as read from [dispatch] ("5s" -> 5.0), for the channel modules.
        table.update(_dispatch_overrides(table, f"{source}: [channels.{name}]"))
    _check_dispatch(vars(sections["dispatch"]), f"{source}: [dispatch]")
    server: ServerSettings = sections["server"]
    sections["server"] = _drop_empty_tokens(server)
    _check_listen(sections["server"], source)
    _check_reading_bytes(sections["server"], source)
    sections["server"] = _checked_web_keys(sections["server"], source)
    sections["log"] = _checked_log(sections["log"], source)
    _check_state_url(sections["state"], source)
    return Settings(source=source, recipients=recipients, channels=channels, **sections)


def _drop_empty_tokens(server: ServerSettings) -> ServerSettings:
    # An unset `${ALERTD_INGEST_TOKEN}` expands to "": that is "no token", never a valid one.
    return replace(
        server,
        ingest_tokens=tuple(t for t in server.ingest_tokens if t),
        admin_tokens=tuple(t for t in server.admin_tokens if t),
    )


def _check_listen(server: ServerSettings, source: Path) -> None:
    host, sep, port = server.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"{source}: [server] listen: expected HOST:PORT such as 127.0.0.1:8080, "
            f"got {server.listen!r}"
        )


def _check_reading_bytes(server: ServerSettings, source: Path) -> None:
    """A body as large as allowed must fit in the bytes of bodies read at once, or its sender
    would be told to retry (503) for ever."""
    limit = server.max_reading_bytes
    if limit and limit < server.max_body_bytes:
        raise ConfigError(
            f"{source}: [server] max_reading_bytes: must be 0 (no bound) or at least "
            f"max_body_bytes ({server.max_body_bytes}), got {limit}"
        )


def _checked_web_keys(server: ServerSettings, source: Path) -> ServerSettings:
    """`public_url` (without its trailing "/") and the console's session lifetime."""
    problem = _url(server.public_url)
    if problem is None and server.public_url and not urlsplit(server.public_url).netloc:
        problem = f"expected a URL with a host, got {server.public_url!r}"
    if problem is not None:
        raise ConfigError(f"{source}: [server] public_url: {problem}")
    if server.session_lifetime <= 0:
        raise ConfigError(f"{source}: [server] session_lifetime: must be more than 0 seconds")
    return replace(server, public_url=server.public_url.rstrip("/"))


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("json", "text")


def _checked_log(log: LogSettings, source: Path) -> LogSettings:
    """`[log]` level and format, lowercased: checked here so that `run` cannot fail on them."""
    for key, choices in (("level", LOG_LEVELS), ("format", LOG_FORMATS)):
        value = getattr(log, key)
        if value.lower() not in choices:
            raise ConfigError(
                f"{source}: [log] {key}: expected one of {', '.join(choices)}, got {value!r}"
                f"{aside(value.lower(), choices)}"
            )
    return replace(log, level=log.level.lower(), format=log.format.lower())


def _check_state_url(state: StateSettings, source: Path) -> None:
    """`[state] url` is empty (SQLite, at `path`) or a PostgreSQL URL."""
    if state.url and not state.url.startswith(("postgresql://", "postgres://")):
        shown = state.url.split("://", 1)[0] + "://..." if "://" in state.url else state.url
        raise ConfigError(
            f"{source}: [state] url: expected a postgresql:// URL such as "
            f'"postgresql://alertd@db.example.com/alertd", got {shown!r}'
        )


def _check_channel_keys(kind: str, table: Mapping[str, Any], where: str) -> None:
    """Every key is one the kind takes, holding a value of the right type."""
    checks = CHANNEL_KEYS[kind]
    known = {"kind", *CHANNEL_DISPATCH_KEYS, *STORM_KEYS, *checks}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where} {key}: unknown key{aside(key, known)}")
        problem = checks[key](value) if key in checks else None
        if problem is not None:
            raise ConfigError(f"{where} {key}: {problem}")


def _dispatch_overrides(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    hints = get_type_hints(DispatchSettings)
    overrides = {
        key: _coerce(hints[key], table[key], f"{where} {key}", Path())
        for key in CHANNEL_DISPATCH_KEYS
        if key in table
    }
    _check_dispatch(overrides, where)
    return overrides


def _check_dispatch(values: Mapping[str, Any], where: str) -> None:
    """The bounds of the keys a channel may override: the types are already checked."""
    for key in CHANNEL_DISPATCH_KEYS:
        value = values.get(key)
        if value is None:
            continue
        if not math.isfinite(value):
            raise ConfigError(f"{where} {key}: expected a finite number, got {value!r}")
        if key == "concurrency" and value < 1:
            raise ConfigError(f"{where} {key}: must be at least 1, got {value!r}")
        if key == "rate_limit" and value < 0:
            raise ConfigError(f"{where} {key}: must not be negative (0 is no limit)")
        if key == "timeout" and value <= 0:
            raise ConfigError(f"{where} {key}: must be more than 0 seconds")


def _recipients(table: Any, source: Path) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [recipients] must be a table of lists")
    groups: dict[str, tuple[str, ...]] = {}
    for name, value in table.items():
        members = [value] if isinstance(value, str) else value
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ConfigError(f"{source}: [recipients] {name}: expected a list of strings")
        groups[name] = tuple(members)
    return groups


def _build(cls: type, table: Mapping[str, Any], where: str, base: Path) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    for key in table:
        if key not in names:
            raise ConfigError(f"{where} unknown key {key!r}{aside(key, names)}")
    values = {
        key: _coerce(hints[key], value, f"{where} {key}", base) for key, value in table.items()
    }
    for name in names - values.keys():  # a default path, like a written one, is the file's
        if hints[name] in (Path, tuple[Path, ...]):
            default = getattr(cls(), name)
            values[name] = (
                _resolve(str(default), base)
                if isinstance(default, Path)
                else tuple(_resolve(str(path), base) for path in default)
            )
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str, base: Path) -> Any:
    origin = typing.get_origin(hint)
    if hint is Duration:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfigError(f'{where}: expected seconds or a duration such as "5m"')
        try:
            seconds = parse_duration(value) if isinstance(value, str) else float(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if seconds < 0:
            raise ConfigError(f"{where}: must not be negative")
        return seconds
    if hint in (Path, Path | None):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a path string")
        if hint != Path and not value:  # "" (an unset `${VAR:-}`): no file
            return None
        return _resolve(value, base)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        return tuple(_coerce(item_hint, item, where, base) for item in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{where}: must not be negative")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported setting type {hint!r}")  # pragma: no cover


def _resolve(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
