"""Structured logs: one JSON object per line on stderr, secrets redacted.

Code logs through the standard `logging` module and passes facts as `extra={...}`; they become
fields of the JSON line next to `ts`, `level`, `logger` and `msg`:

    {"ts": "2026-01-01T10:00:00.123Z", "level": "info", "logger": "alertd.daemon",
     "msg": "alert fired", "alert_id": "01J...", "rule": "critical_safety_event", ...}

Every configured secret (tokens, passwords, signing keys) is replaced by `[redacted]` in the
final line, whatever put it there: an exception message, a provider's answer, a URL (a
configured URL's query string counts as a secret). As a safety net, the user info and
credential-like query parameters (`token=`, `sig=`, ...) of any URL in a line are redacted too
(alertd.redact), while harmless ones (a map link's `?q=52.37,4.89`) are kept.

A line is written (one write to stderr) as soon as it is logged, also when stderr is a file or
a pipe: block buffering would save ~1 us of the ~8 us a line costs (bench/logs_bench.py), and
lose the last lines before a kill -9, an OOM kill or a hung event loop, the lines that say why.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any, TextIO

from alertd import jsonutil
from alertd.config import LogSettings, Settings
from alertd.redact import CREDENTIAL_NAME, REDACTED, redact_urls

MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words
SECRET_KEYS = ("token", "password", "secret", "key")  # key names ending so hold secrets
LIBRARY_LOGGERS = (
    "aiohttp", "aiosmtplib", "httpcore", "httpx", "slack_sdk", "twilio", "uvicorn", "watchfiles",
)  # fmt: skip
"""Third-party loggers kept at WARNING unless `[log] level = "debug"`."""

# The attributes every LogRecord has, in the order it sets them; `extra=` fields come after them.
_RECORD_ATTRIBUTES = list(logging.makeLogRecord({}).__dict__)
_STANDARD = frozenset(_RECORD_ATTRIBUTES) | {"message", "asctime", "taskName"}


def _extra_fields(record: logging.LogRecord) -> list[tuple[str, Any]]:
    """The fields given with `extra=` (or set by a filter), in the order given.

    Only the attributes after the standard ones are looked at: `Logger.makeRecord` adds
    `extra=` after `LogRecord.__init__` set those. Names a formatter may add later
    (`message`, `asctime`) and private ones are skipped.
    """
    return [
        (key, value)
        for key, value in islice(record.__dict__.items(), len(_RECORD_ATTRIBUTES), None)
        if key not in _STANDARD and key[0] != "_"
    ]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_extra_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return jsonutil.dumps(line, default=str, option=jsonutil.OPT_NON_STR_KEYS).decode()


class TextFormatter(logging.Formatter):
    """For a person at a terminal: time, level, message, then the extra fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={_text_value(value)}" for key, value in _extra_fields(record))
        text = f"{_timestamp(record.created)} {record.levelname:<7} {record.getMessage()}"
        if fields:
            text = f"{text}  {fields}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def _text_value(value: Any) -> str:
    """A field as a person reads it: strings quoted, anything else as JSON (a key tuple as
    `["v7","d1"]`, not Python's `('v7', 'd1')`)."""
    if isinstance(value, str):
        return repr(value)
    return jsonutil.dumps(value, default=str, option=jsonutil.OPT_NON_STR_KEYS).decode()


class RedactingHandler(logging.StreamHandler[TextIO]):
    """A stream handler that removes secrets from each formatted line before writing it."""

    def __init__(self, stream: TextIO, secrets: Iterable[str]) -> None:
        super().__init__(stream)
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        found = {
            *self.secrets,
            *(v for s in secrets for v in _written(s) if len(v) >= MIN_SECRET_LENGTH),
        }
        # Longest first, so a secret containing another is removed whole.
        self.secrets = sorted(found, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self.secrets:
            if secret in line:
                line = line.replace(secret, REDACTED)
        return redact_urls(line)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the line; flush unless the stream's line buffering has just done so (stderr
        is line-buffered even when it is not a terminal)."""
        try:
            self.stream.write(self.format(record) + "\n")
            if not getattr(self.stream, "line_buffering", False):
                self.stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def configure(
    settings: LogSettings, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Send every record (alertd's, uvicorn's, the libraries') through one redacting handler."""
    _skip_unused_record_fields()
    handler = RedactingHandler(stream or sys.stderr, secrets)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
    # Libraries that log every request at INFO would drown alertd's own lines (Twilio's client
    # logs ~11 per SMS, headers included); at debug level they are shown, to debug a provider.
    quiet = logging.NOTSET if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


def _skip_unused_record_fields() -> None:
    """Stop the logging module from filling record fields no line of ours shows: the caller's
    file, line and function (a walk up the stack per record), the thread, the process and
    the multiprocessing process name. A record keeps its time, level, logger, message,
    extra fields and exception, which is everything the formatters write."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def tag_records(**fields: Any) -> None:
    """Give every record of this process these extra fields (a worker of `alertd run
    --workers` says which one it is, as its lines and its siblings' share one stream)."""
    make = logging.getLogRecordFactory()

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.__dict__.update(fields)
        return record

    logging.setLogRecordFactory(tagged)


def redact(secrets: Iterable[str]) -> None:
    """Also keep these values out of the log from now on (e.g. a generated token)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RedactingHandler):
            handler.add(secrets)


def secrets_of(settings: Settings) -> list[str]:
    """Every configured value that must never be printed."""
    found = [*settings.server.ingest_tokens, *settings.server.admin_tokens]
    server = settings.server
    found += [server.ingest_hmac_secret, server.session_secret, server.link_secret]
    for table in settings.channels.values():
        found.extend(_secret_values(table))
    return [s for s in found if s]


def _written(secret: str) -> Iterable[str]:
    """The ways a secret can appear in a line: as it is, escaped inside a JSON string (the JSON
    lines, a `repr`), and, for one of several lines (a PEM private key), each line on its own."""
    yield secret
    escaped = jsonutil.dumps(secret).decode()[1:-1]
    if escaped != secret:
        yield escaped
        yield secret.encode("unicode_escape").decode()
    lines = secret.splitlines()
    if len(lines) > 1:
        yield from lines


def _secret_values(table: Any) -> Iterable[str]:
    if not isinstance(table, dict):
        return
    for key, value in table.items():
        lowered = key.lower()
        if lowered == "service_account" and isinstance(value, str):  # FCM's key, inline JSON
            yield value
            yield from _service_account_secrets(value)
        elif isinstance(value, str) and any(lowered.endswith(k) for k in SECRET_KEYS):
            yield value
        elif isinstance(value, (str, list)):  # a webhook's url: its query may be its password
            yield from _url_queries(value if isinstance(value, list) else [value])
        elif isinstance(value, dict):  # e.g. webhook headers = {Authorization = "..."}
            if lowered == "headers":
                yield from _credential_headers(value)
            else:
                yield from _secret_values(value)


def _service_account_secrets(text: str) -> Iterable[str]:
    """The credentials inside a service account key (`private_key`, `private_key_id`, ...), so
    that they stay hidden when a line shows one of them alone."""
    try:
        account = jsonutil.loads(text)
    except jsonutil.JSONDecodeError:
        return
    if isinstance(account, dict):
        for name, value in account.items():
            if isinstance(value, str) and CREDENTIAL_NAME.search(name):
                yield value


def _credential_headers(headers: dict[str, Any]) -> Iterable[str]:
    """The values of the headers that hold credentials (`Authorization`, `X-Api-Key`, ...),
    and the credential alone after a scheme (`Bearer abc` also hides `abc`). Other headers
    (`X-Team = "fleet"`) stay visible: hiding them would hide that word in every line."""
    for name, value in headers.items():
        if isinstance(value, str) and CREDENTIAL_NAME.search(name):
            yield value
            scheme, _, credential = value.strip().partition(" ")
            if scheme and credential:
                yield credential.strip()


def _url_queries(values: list[Any]) -> Iterable[str]:
    """The query strings of configured URLs: log lines redact only credential-like parameters
    of the URLs they meet, so a configured URL's own query is removed whatever its names."""
    for value in values:
        if isinstance(value, str) and "://" in value and "?" in value:
            yield value.partition("?")[2].partition("#")[0]


def _timestamp(created: float) -> str:
    """ISO-8601 UTC with milliseconds; the date and time to the second are made once a second."""
    second = int(created)
    return f"{_utc_second(second)}.{int((created - second) * 1000):03d}Z"


@lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
