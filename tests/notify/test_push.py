"""The push channel against local servers playing ntfy, and FCM v1 with its OAuth2 endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from alertd.clock import FakeClock
from alertd.config import Settings
from alertd.model import NotifyTarget
from alertd.notify.channels.base import Table
from alertd.notify.channels.push import FcmChannel, build_push
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.errors import ChannelConfigError
from alertd.notify.outbox import Outbox
from tests.notify.conftest import HttpServer, Request, enqueue_alert, make_alert, make_settings


async def deliver(tmp_path: Path, settings: Settings, clock: FakeClock, *alerts: Any) -> Outbox:
    outbox = Outbox(tmp_path / "alertd.db")
    for alert in alerts:
        enqueue_alert(outbox, settings, alert, clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    return outbox


# -- ntfy --------------------------------------------------------------------------------------


async def test_ntfy_publishes_json_with_priority_and_click_link(
    tmp_path: Path, http_server: HttpServer
) -> None:
    async def ntfy(request: Request) -> web.StreamResponse:
        return web.json_response({"id": "hwQ2YpKdmg", "event": "message"})

    http_server.handler = ntfy
    settings = make_settings(
        tmp_path,
        notify={"dashboard_url": "https://fleet.example.com/a/"},
        channels={
            "push": {
                "provider": "ntfy",
                "base_url": http_server.url,
                "topic": "fleet",
                "token": "tk_1",
            }
        },
    )
    alert = make_alert(priority="urgent", notify=(NotifyTarget("push"),))
    outbox = await deliver(tmp_path, settings, FakeClock(), alert)
    (request,) = http_server.requests
    assert (request.method, request.path) == ("POST", "/")
    assert request.headers["Authorization"] == "Bearer tk_1"
    assert orjson.loads(request.body) == {
        "topic": "fleet",
        "title": "Critical Safety Event",
        "message": "V-17, D-4 · 2026-01-01 00:00:00 UTC",
        "priority": 5,
        "tags": ["urgent"],
        "click": "https://fleet.example.com/a/01KDTEST0000000000000000AA",
    }
    assert [s.receipt for s in outbox.states(alert.id)] == ["ntfy message hwQ2YpKdmg"]


async def test_ntfy_errors_are_reported_with_its_message(
    tmp_path: Path, http_server: HttpServer
) -> None:
    async def ntfy(request: Request) -> web.StreamResponse:
        return web.json_response({"code": 40301, "http": 403, "error": "forbidden"}, status=403)

    http_server.handler = ntfy
    settings = make_settings(
        tmp_path, channels={"push": {"provider": "ntfy", "base_url": http_server.url, "topic": "t"}}
    )
    alert = make_alert(notify=(NotifyTarget("push"),))
    outbox = await deliver(tmp_path, settings, FakeClock(), alert)
    (state,) = outbox.states(alert.id)
    assert (state.state, state.last_error) == (
        "failed",
        f"ntfy {http_server.url} answered HTTP 403: forbidden",
    )


# -- FCM ---------------------------------------------------------------------------------------


class Google:
    """A local stand-in for oauth2.googleapis.com/token and fcm.googleapis.com."""

    def __init__(self, public_key: Any, token_uri: str) -> None:
        self.public_key = public_key
        self.token_uri = token_uri
        self.tokens_issued = 0
        self.sends: list[dict[str, Any]] = []
        self.send_answers: list[tuple[int, dict[str, Any]]] = []

    async def handle(self, request: Request) -> web.StreamResponse:
        if request.path == "/token":
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            claims = jwt.decode(
                form["assertion"],
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_uri,
                options={"verify_exp": False, "verify_iat": False},  # stamped by a fake clock
            )
            assert claims["exp"] - claims["iat"] == 3600
            assert claims["iss"] == "alertd@fleet-prod.iam.gserviceaccount.com"
            assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
            self.tokens_issued += 1
            return web.json_response(
                {
                    "access_token": f"ya29.token-{self.tokens_issued}",
                    "expires_in": 3599,
                    "token_type": "Bearer",
                }
            )
        assert request.path == "/v1/projects/fleet-prod/messages:send"
        if request.headers.get("Authorization") != f"Bearer ya29.token-{self.tokens_issued}":
            return web.json_response(
                {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, status=401
            )
        if self.send_answers:
            status, body = self.send_answers.pop(0)
            return web.json_response(body, status=status)
        self.sends.append(orjson.loads(request.body))
        return web.json_response({"name": f"projects/fleet-prod/messages/{len(self.sends)}"})


@pytest.fixture
def service_account(tmp_path: Path) -> tuple[Path, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_bytes(
        orjson.dumps(
            {
                "type": "service_account",
                "project_id": "fleet-prod",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "alertd@fleet-prod.iam.gserviceaccount.com",
                "token_uri": "set below",
            }
        )
    )
    return path, key.public_key()


def fcm_settings(
    tmp_path: Path, server: HttpServer, service_account: tuple[Path, Any]
) -> tuple[Settings, Google]:
    path, public_key = service_account
    account = orjson.loads(path.read_bytes())
    account["token_uri"] = f"{server.url}/token"
    path.write_bytes(orjson.dumps(account))
    google = Google(public_key, account["token_uri"])
    server.handler = google.handle
    settings = make_settings(
        tmp_path,
        dispatch={"backoff_initial": 0.01},
        channels={
            "push": {
                "provider": "fcm",
                "service_account_file": str(path),
                "base_url": server.url,
                "to": ["device-token-1"],
                "urgent_to": ["device-token-2"],
            }
        },
    )
    return settings, google


async def test_fcm_exchanges_a_signed_jwt_for_a_token_and_sends(
    tmp_path: Path, http_server: HttpServer, service_account: tuple[Path, Any]
) -> None:
    settings, google = fcm_settings(tmp_path, http_server, service_account)
    alert = make_alert(priority="urgent", notify=(NotifyTarget("push"),))
    outbox = await deliver(tmp_path, settings, FakeClock(), alert)
    assert google.tokens_issued == 1  # one token for both devices: it is cached
    assert sorted(s["message"]["token"] for s in google.sends) == [
        "device-token-1",
        "device-token-2",
    ]
    message = google.sends[0]["message"]
    assert message["notification"] == {
        "title": "Critical Safety Event",
        "body": "V-17, D-4 · 2026-01-01 00:00:00 UTC",
    }
    assert message["data"]["alert_id"] == alert.id
    assert message["android"] == {"priority": "high"}
    assert {s.receipt for s in outbox.states(alert.id)} == {
        "FCM message projects/fleet-prod/messages/1",
        "FCM message projects/fleet-prod/messages/2",
    }


async def test_fcm_success_without_a_message_name_says_so(
    tmp_path: Path, http_server: HttpServer, service_account: tuple[Path, Any]
) -> None:
    settings, google = fcm_settings(tmp_path, http_server, service_account)
    google.send_answers = [(200, {})]
    alert = make_alert(notify=(NotifyTarget("push"),))
    outbox = await deliver(tmp_path, settings, FakeClock(), alert)
    (state,) = outbox.states(alert.id)
    assert (state.state, state.receipt) == ("sent", "FCM answered HTTP 200 without a message name")


async def test_fcm_token_is_fetched_again_once_it_expires(
    tmp_path: Path, http_server: HttpServer, service_account: tuple[Path, Any]
) -> None:
    settings, _google = fcm_settings(tmp_path, http_server, service_account)
    clock = FakeClock()
    channel = build_push(Table("push", settings.channels["push"]), settings.dispatch, clock)
    assert isinstance(channel, FcmChannel)
    assert await channel.access_token() == "ya29.token-1"
    clock.advance(3000)
    assert await channel.access_token() == "ya29.token-1"
    clock.advance(600)  # past expires_in minus the safety margin
    assert await channel.access_token() == "ya29.token-2"
    await channel.aclose()


async def test_fcm_401_refreshes_the_token_and_retries(
    tmp_path: Path, http_server: HttpServer, service_account: tuple[Path, Any]
) -> None:
    settings, google = fcm_settings(tmp_path, http_server, service_account)
    google.send_answers = [(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})]
    alert = make_alert(notify=(NotifyTarget("push"),))
    outbox = await deliver(tmp_path, settings, FakeClock(), alert)
    assert google.tokens_issued == 2
    assert [(s.state, s.attempts) for s in outbox.states(alert.id)] == [("sent", 2)]


async def test_fcm_unregistered_device_fails_at_once(
    tmp_path: Path, http_server: HttpServer, service_account: tuple[Path, Any]
) -> None:
    settings, google = fcm_settings(tmp_path, http_server, service_account)
    google.send_answers = [
        (
            404,
            {
                "error": {
                    "code": 404,
                    "message": "Requested entity was not found.",
                    "status": "NOT_FOUND",
                }
            },
        )
    ]
    alert = make_alert(notify=(NotifyTarget("push"),))
    outbox = await deliver(tmp_path, settings, FakeClock(), alert)
    (state,) = outbox.states(alert.id)
    assert (state.state, state.attempts) == ("failed", 1)
    assert state.last_error == "FCM answered HTTP 404: NOT_FOUND: Requested entity was not found."


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"provider": "apns"}, 'provider: expected "fcm" or "ntfy", got \'apns\''),
        ({"provider": "fcm"}, "service_account_file: is required for provider fcm"),
        ({"provider": "fcm", "service_account": "{"}, "service_account: is not valid JSON"),
        (
            {"provider": "fcm", "service_account": '{"client_email": "a"}'},
            "service_account: has no private_key",
        ),
        (
            {
                "provider": "fcm",
                "project_id": "p",
                "service_account": '{"client_email": "a", "private_key": "x"}',
            },
            "service_account: private_key cannot sign",
        ),
    ],
)
def test_push_config_errors_name_the_key(
    tmp_path: Path, table: dict[str, Any], message: str
) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ChannelConfigError) as info:
        build_push(Table("push", table), settings.dispatch, FakeClock())
    assert str(info.value).startswith(f"[channels.push] {message}")
