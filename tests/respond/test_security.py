"""What keeps the answering endpoints safe: they are the only calls that take a POST without a
token, they check signatures in constant time, and the secrets behind them stay out of logs."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

import pytest
import twilio.request_validator

from alertd.config import ServerSettings
from alertd.logs import secrets_of
from alertd.notify.channels.slack import signed_by_slack
from alertd.notify.channels.sms import signed_by_twilio
from alertd.respond.links import Link, make_link, read_link
from alertd.server.app import Api
from tests.notify.conftest import make_settings
from tests.respond.conftest import slack_signature, twilio_signature
from tests.server.conftest import FakeBackend


def test_the_answering_endpoints_are_the_only_posts_without_a_token() -> None:
    backend = FakeBackend()
    api = Api(backend, backend, ServerSettings())
    open_posts = {
        route.path for route in api.routes if route.role is None and route.method == "POST"
    }
    assert open_posts == {"/v1/hooks/twilio", "/v1/hooks/slack", "/v1/act/{token}"}


def recording(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[tuple[Any, Any]]:
    """Record every call of `owner.name` (and let it do its work)."""
    calls: list[tuple[Any, Any]] = []
    original = getattr(owner, name)

    def record(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return bool(original(a, b))

    monkeypatch.setattr(owner, name, record)
    return calls


def test_link_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = b"k" * 32
    url = make_link("", secret, Link("01KDTEST0000000000000000AA", "ack", "email", "a@b.c"), 0)
    calls = recording(monkeypatch, hmac, "compare_digest")
    read_link(secret, url.removeprefix("/v1/act/"), 0)
    assert len(calls) == 1  # the signature, by hmac.compare_digest


def test_slack_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    body, stamp = b"payload=%7B%7D", "1767225600"
    calls = recording(monkeypatch, hmac, "compare_digest")
    signature = slack_signature("secret-1", stamp, body)
    assert signed_by_slack("secret-1", body, stamp, signature, 1_767_225_600.0)
    assert calls == [(signature, signature)]
    assert not signed_by_slack("secret-1", body, stamp, signature, 1_767_225_601.0 + 300)


def test_twilio_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The twilio library's validator compares with its `compare`, which looks at every
    character whatever the first difference (no early return but on length)."""
    url, form = "https://alerts.example.com/v1/hooks/twilio", {"From": "+1555", "Body": "1a"}
    calls = recording(monkeypatch, twilio.request_validator, "compare")
    signature = twilio_signature("token-1", url, form)
    assert signed_by_twilio("token-1", url, form, signature)
    assert (signature, signature) in calls
    assert not signed_by_twilio("token-2", url, form, signature)


def test_unsigned_or_malformed_signatures_are_refused_not_raised() -> None:
    assert not signed_by_slack("s", b"", "not-a-number", "v0=00", 0.0)
    assert not signed_by_slack("s", b"\xff", "0", "v0=é", 0.0)
    assert not signed_by_twilio("t", "https://a.example/x", {}, "é")


def test_the_secrets_of_answering_are_redacted_from_logs(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        server={"link_secret": "link-secret-1"},
        channels={
            "sms": {"account_sid": "AC1", "auth_token": "twilio-token-1", "from": "+1555"},
            "slack": {"token": "xoxb-1", "signing_secret": "slack-secret-1"},
        },
    )
    assert {"link-secret-1", "twilio-token-1", "slack-secret-1"} <= set(secrets_of(settings))


def test_what_keeps_a_channel_from_offering_answers_is_said_at_start(tmp_path: Path) -> None:
    from alertd.respond.hooks import setup_notes

    channels = {
        "sms": {"account_sid": "AC1", "auth_token": "t", "from": "+1555", "to": "+1556"},
        "slack": {"token": "xoxb-1", "channel": "#a"},
        "email": {"host": "127.0.0.1", "from": "a@b.c", "to": "d@e.f"},
    }
    assert setup_notes(make_settings(tmp_path, channels=channels)) == [
        "[channels.sms]: SMS pages carry no reply code: [server] public_url is not set",
        "[channels.slack]: Slack messages carry no Acknowledge/Resolve buttons: "
        "signing_secret is not set",
        "[channels.email]: emails carry no Acknowledge/Resolve links: "
        "[server] public_url is not set",
    ]
    channels["slack"]["signing_secret"] = "s"
    ready = make_settings(tmp_path, channels=channels, server={"public_url": "https://a.example"})
    assert setup_notes(ready) == []
