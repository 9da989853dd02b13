"""Structured JSON logs, and secrets kept out of them."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from alertd import logs
from alertd.config import LogSettings, settings_from_dict
from alertd.notify.channels.console import ConsoleChannel
from alertd.notify.notification import Notification


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_one_json_object_per_line_with_the_extra_fields(restore_logging: None) -> None:
    out = io.StringIO()
    logs.configure(LogSettings(level="info", format="json"), stream=out)
    logging.getLogger("alertd.daemon").info(
        "alert fired", extra={"alert_id": "01J", "key": ("v1", None), "rule": "r"}
    )
    logging.getLogger("alertd.daemon").debug("not shown at info")
    (line,) = out.getvalue().splitlines()
    record = orjson.loads(line)
    assert record["level"] == "info"
    assert record["logger"] == "alertd.daemon"
    assert record["msg"] == "alert fired"
    assert record["alert_id"] == "01J"
    assert record["key"] == ["v1", None]
    assert record["ts"].endswith("Z")


def test_extra_fields_keep_their_order_and_nothing_another_formatter_added_leaks(
    restore_logging: None,
) -> None:
    out, seen = io.StringIO(), io.StringIO()
    logs.configure(LogSettings(format="json"), stream=out)
    first = logging.StreamHandler(seen)  # formats first: sets record.message and asctime
    first.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logging.getLogger().handlers.insert(0, first)
    logging.getLogger("alertd").info("sent %s", "n1", extra={"z": 1, "a": 2, "_private": 3})
    record = orjson.loads(out.getvalue())
    assert list(record) == ["ts", "level", "logger", "msg", "z", "a"]
    assert record["msg"] == "sent n1"
    assert seen.getvalue().endswith(" sent n1\n")


def test_the_timestamp_is_utc_with_milliseconds() -> None:
    record = logging.makeLogRecord({"msg": "x", "created": 1_767_225_601.0789, "levelname": "INFO"})
    assert orjson.loads(logs.JsonFormatter().format(record))["ts"] == "2026-01-01T00:00:01.078Z"


def test_each_line_is_written_at_once_even_to_a_buffered_pipe(restore_logging: None) -> None:
    # What a kill -9 would lose is what sits in a buffer: a line is handed to the OS when logged.
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)  # nothing written yet: BlockingIOError, not a hang
    stream = os.fdopen(write_end, "w", buffering=65536)
    try:
        logs.configure(LogSettings(format="json"), stream=stream)
        logging.getLogger("alertd").info("alert fired", extra={"alert_id": "01J"})
        assert orjson.loads(os.read(read_end, 65536))["alert_id"] == "01J"
    finally:
        logging.getLogger().handlers.clear()
        stream.close()
        os.close(read_end)


def test_secrets_are_redacted_wherever_they_appear(restore_logging: None) -> None:
    out = io.StringIO()
    logs.configure(LogSettings(format="json"), secrets=["s3cr3t-token", "ab"], stream=out)
    log = logging.getLogger("alertd.notify")
    log.warning("provider said: bad token s3cr3t-token", extra={"url": "x?key=s3cr3t-token"})
    log.info("a table about cabs")
    try:
        raise RuntimeError("auth failed for s3cr3t-token")
    except RuntimeError:
        log.exception("send failed")
    text = out.getvalue()
    assert "s3cr3t-token" not in text
    assert text.count(logs.REDACTED) == 4  # message, field, traceback line, exception text
    assert "a table about cabs" in text  # "ab" is too short to count as a secret


def test_urls_lose_their_user_info_and_query_values_in_every_line(
    restore_logging: None,
) -> None:
    out = io.StringIO()
    logs.configure(LogSettings(format="json"), stream=out)
    log = logging.getLogger("alertd.notify")
    url = "http://bob:hunter2@hooks.example.com/alerts?token=abc123"
    log.error("webhook %s failed: %s", url, f'library said "POST {url}"', extra={"url": url})
    (line,) = out.getvalue().splitlines()
    assert "hunter2" not in line and "abc123" not in line
    record = orjson.loads(line)  # still valid JSON
    public = "http://[redacted]@hooks.example.com/alerts?token=[redacted]"
    assert record["msg"] == f'webhook {public} failed: library said "POST {public}"'
    assert record["url"] == public


def test_a_dry_run_keeps_the_map_link_of_a_notification_and_hides_its_credentials(
    restore_logging: None,
) -> None:
    """The console channel's line is the rendered notification: a vehicle's position link must
    stay usable (QA saw `?q=[redacted]`), a signed link must not leak its signature."""
    out = io.StringIO()
    logs.configure(LogSettings(format="json"), stream=out)
    where = "https://maps.google.com/?q=52.3702,4.8952"
    signed = "https://files.example.com/dashcam.mp4?expires=1764100000&signature=9f8e7d"
    notification = Notification(
        id="01J.0",
        alert_id="01J",
        rule_id="speeding",
        channel="slack",
        kind="slack",
        recipient="#fleet",
        priority="high",
        content={"text": f"TRK-042 at 131 km/h: {where} (video: {signed})"},
        created_at=0.0,
    )
    asyncio.run(ConsoleChannel("slack").send(notification))
    (line,) = out.getvalue().splitlines()
    msg = orjson.loads(line)["msg"]
    assert where in msg
    assert "9f8e7d" not in msg
    assert "dashcam.mp4?expires=1764100000&signature=[redacted]" in msg


def test_text_format_for_terminals(restore_logging: None) -> None:
    out = io.StringIO()
    logs.configure(LogSettings(format="text"), stream=out)
    logging.getLogger("alertd").info("listening", extra={"port": 8080})
    assert out.getvalue().rstrip().endswith("INFO    listening  port=8080")
    logging.getLogger("alertd").info("alert fired", extra={"rule": "r", "key": ("v7", None)})
    assert out.getvalue().rstrip().endswith("""INFO    alert fired  rule='r' key=["v7",null]""")


def test_secrets_of_a_config_cover_tokens_and_channel_credentials() -> None:
    raw = {
        "server": {
            "ingest_tokens": ["in-1234"],
            "admin_tokens": ["ad-1234"],
            "ingest_hmac_secret": "hm-1234",
        },
        "channels": {
            "sms": {"account_sid": "AC1", "auth_token": "tw-1234", "from": "+1555"},
            "email": {"username": "u", "password": "pw-1234", "host": "smtp"},
            "slack": {"token": "xoxb-1234", "channel": "#x"},
            "webhook": {
                "url": "http://h/hook?k=q-1234&v=2#top",
                "secret": "wh-1234",
                "headers": {"Authorization": "Bearer hd-1234"},
            },
        },
    }
    settings = settings_from_dict(raw, Path("alertd.toml"), {})
    assert sorted(logs.secrets_of(settings)) == sorted(
        [
            "in-1234",
            "ad-1234",
            "hm-1234",
            "tw-1234",
            "pw-1234",
            "xoxb-1234",
            "wh-1234",
            "Bearer hd-1234",
            "hd-1234",
            "k=q-1234&v=2",  # a URL's query, whatever its parameters are called
        ]
    )


def test_only_webhook_headers_that_hold_credentials_are_secrets() -> None:
    headers = {
        "X-Team": "fleet",
        "Accept-Language": "en-GB",
        "Authorization": "Basic dXNlcjpwdw==",
        "proxy-authorization": "Bearer px-1234",
        "X-Api-Key": "ak-1234",
        "X-Auth-Token": "at-1234",
        "X-Hub-Signature": "sg-1234",
        "Cookie": "sid=ck-1234",
        "X-Client-Secret": "cs-1234",
        "X-Password": "pw-1234",
    }
    raw = {"channels": {"webhook": {"url": "http://h/hook", "headers": headers}}}
    secrets = logs.secrets_of(settings_from_dict(raw, Path("alertd.toml"), {}))
    assert sorted(secrets) == sorted(
        [
            *(
                value
                for name, value in headers.items()
                if name not in ("X-Team", "Accept-Language")
            ),
            "dXNlcjpwdw==",
            "px-1234",
        ]
    )


def test_an_ordinary_header_value_stays_visible_in_log_lines(restore_logging: None) -> None:
    raw = {"channels": {"webhook": {"url": "http://h/", "headers": {"X-Team": "fleet"}}}}
    out = io.StringIO()
    logs.configure(LogSettings(), logs.secrets_of(settings_from_dict(raw, Path("a.toml"), {})), out)
    logging.getLogger("alertd").info("alert fired", extra={"key": "fleet-7"})
    assert orjson.loads(out.getvalue())["key"] == "fleet-7"


LIBRARY_LOGGERS = [
    "twilio.http_client",
    "twilio.async_http_client",
    "slack_sdk.web.async_base_client",
    "aiosmtplib",
    "aiohttp.client",
    "httpx",
    "uvicorn.error",
]


@pytest.mark.parametrize("name", LIBRARY_LOGGERS)
def test_libraries_log_only_warnings_unless_the_level_is_debug(
    restore_logging: None, name: str
) -> None:
    out = io.StringIO()
    logs.configure(LogSettings(level="info"), stream=out)
    library = logging.getLogger(name)
    library.info("-- BEGIN Twilio API Request --")
    library.warning("retrying")
    assert [orjson.loads(line)["msg"] for line in out.getvalue().splitlines()] == ["retrying"]

    out = io.StringIO()
    logs.configure(LogSettings(level="debug"), stream=out)
    library.debug("request headers")
    assert orjson.loads(out.getvalue())["msg"] == "request headers"


PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "-----END PRIVATE KEY-----\n"
)


def test_an_inline_service_account_is_redacted_like_other_secrets(restore_logging: None) -> None:
    account = orjson.dumps(
        {
            "type": "service_account",
            "client_email": "alertd@fleet.iam.gserviceaccount.com",
            "private_key_id": "3f2a9c0d5e7b41a8",
            "private_key": PRIVATE_KEY,
        }
    ).decode()
    raw = {"channels": {"push": {"provider": "fcm", "service_account": account}}}
    secrets = logs.secrets_of(settings_from_dict(raw, Path("alertd.toml"), {}))
    out = io.StringIO()
    logs.configure(LogSettings(format="json"), secrets, out)
    log = logging.getLogger("alertd")
    log.error("bad key: %s", PRIVATE_KEY)  # a library quoting the key (JSON-escaped in the line)
    log.error("push table", extra={"service_account": account})
    log.error("one line of it: %s", PRIVATE_KEY.splitlines()[1])
    log.error("key id %s", "3f2a9c0d5e7b41a8")
    text = out.getvalue()
    for part in ("MIIEvQIBADANBgkqhkiG9w0B", "MzEfYyjiWA4R4", "3f2a9c0d5e7b41a8"):
        assert part not in text
    assert text.count("[redacted]") >= 4
    assert "alertd@fleet.iam.gserviceaccount.com" not in text  # inside the redacted whole
