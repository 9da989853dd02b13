"""The webhook channel against a real receiver that verifies the HMAC signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from alertd.clock import FakeClock
from alertd.notify.channels.base import Table
from alertd.notify.channels.webhook import WebhookChannel
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.errors import ChannelConfigError, DeliveryError
from alertd.notify.notification import Notification
from alertd.notify.outbox import Outbox
from tests.notify.conftest import HttpServer, Request, enqueue_alert, make_alert, make_settings

SECRET = "whsec-test"


def verify(request: Request, secret: str) -> bool:
    """What a receiver does: recompute HMAC-SHA256 over "<timestamp>.<body>"."""
    timestamp = request.headers["X-Alertd-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    return hmac.compare_digest(
        request.headers["X-Alertd-Signature"], f"sha256={expected.hexdigest()}"
    )


async def test_a_signed_json_post_reaches_the_receiver(
    tmp_path: Path, http_server: HttpServer
) -> None:
    async def receiver(request: Request) -> web.StreamResponse:
        return web.Response(status=202 if verify(request, SECRET) else 401)

    http_server.handler = receiver
    clock = FakeClock()
    settings = make_settings(
        tmp_path,
        channels={
            "webhook": {
                "url": f"{http_server.url}/alerts",
                "secret": SECRET,
                "headers": {"X-Tenant": "fleet-7"},
            }
        },
    )
    outbox = Outbox(tmp_path / "alertd.db")
    alert = make_alert()
    (nid,) = enqueue_alert(outbox, settings, alert, clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)

    (request,) = http_server.requests
    assert (request.method, request.path) == ("POST", "/alerts")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == nid
    assert request.headers["X-Tenant"] == "fleet-7"
    assert request.headers["X-Alertd-Timestamp"] == str(int(clock.now()))
    assert verify(request, SECRET)
    body = orjson.loads(request.body)
    assert body["alert_id"] == alert.id
    assert body["rule"] == {
        "id": "critical_safety",
        "name": "Critical Safety Event",
        "description": "",
    }
    assert [s.receipt for s in outbox.states(alert.id)] == ["HTTP 202"]


async def test_a_wrong_secret_is_rejected_by_the_receiver_and_not_retried(
    tmp_path: Path, http_server: HttpServer
) -> None:
    async def receiver(request: Request) -> web.StreamResponse:
        return web.Response(status=202 if verify(request, SECRET) else 401, text="bad signature")

    http_server.handler = receiver
    settings = make_settings(
        tmp_path, channels={"webhook": {"url": f"{http_server.url}/a", "secret": "wrong"}}
    )
    outbox = Outbox(tmp_path / "alertd.db")
    clock = FakeClock()
    enqueue_alert(outbox, settings, make_alert(), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    (state,) = outbox.states(make_alert().id)
    assert (state.state, state.last_error) == (
        "failed",
        f"webhook {http_server.url}/a answered HTTP 401: bad signature",
    )


async def test_a_timeout_is_retryable(tmp_path: Path, http_server: HttpServer) -> None:
    timed_out = asyncio.Event()  # the receiver answers only once the sender has given up

    async def slow(request: Request) -> web.StreamResponse:
        await timed_out.wait()
        return web.Response()

    http_server.handler = slow
    settings = make_settings(
        tmp_path, channels={"webhook": {"url": http_server.url, "timeout": 0.1}}
    )
    channel = WebhookChannel(
        Table("webhook", settings.channels["webhook"]), settings.dispatch, FakeClock()
    )
    alert = make_alert()
    notification = Notification(
        id="n.1", alert_id=alert.id, rule_id="r", channel="webhook", kind="webhook",
        recipient=http_server.url, priority="high", content={"body": "{}"}, created_at=0.0,
    )  # fmt: skip
    with pytest.raises(DeliveryError) as info:
        await channel.send(notification)
    timed_out.set()
    await channel.aclose()
    assert info.value.retryable
    assert str(info.value) == f"webhook {http_server.url}: timed out"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"url": "ftp://x"}, "url: expected an http:// or https:// URL, got 'ftp://x'"),
        ({"url": "http://x", "headers": {"A": 1}}, "headers: expected a table of strings"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(tmp_path: Path, table: dict[str, object], message: str) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ChannelConfigError) as info:
        WebhookChannel(Table("webhook", table), settings.dispatch, FakeClock())
    assert str(info.value) == f"[channels.webhook] {message}"
