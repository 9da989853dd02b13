"""A daemon in this process (the real pipeline, on a real SQLite file) whose SMS, Slack and
email channels talk to local servers playing Twilio, Slack and an SMTP relay, with the real
client libraries; and the providers' signatures, computed here as their documentation says
(tests/respond/test_signatures.py checks these against the documented examples), never with
alertd's code or the providers' SDKs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import orjson
import pytest
from aiohttp import web

from alertd.config import load_settings
from alertd.daemon import Daemon
from alertd.pipeline import Pipeline
from tests.notify.conftest import TEMPLATES, HttpServer, Request
from tests.notify.test_email import Mailbox, port_of, start_smtp
from tests.waiting import eventually, until

TOKEN = "respond-admin-token-0123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PUBLIC_URL = "https://alertd.example.com/ops"  # what a reverse proxy serves alertd under
SID = "AC00000000000000000000000000000042"
AUTH_TOKEN = "twilio-auth-token-5678"
FROM = "+15550100000"
ALICE, BOB = "+15550100101", "+15550100102"
SIGNING_SECRET = "slack-signing-secret-9abc"
LINK_SECRET = "link-secret-def01234567"

RULES = """\
rule critical_safety_event {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  suppress 5m by vehicle_id
  notify   sms(person:alice), slack, email(person:alice)
}
"""

ONCALL = f"""\
[people.alice]
name = "Alice Martin"
sms = "{ALICE}"
email = "alice@example.com"
slack = "U0ALICE"

[people.bob]
sms = "{BOB}"
"""


def critical(vehicle: str) -> dict[str, Any]:
    return {"type": "safety_event", "severity": "critical", "vehicle_id": vehicle}


# --- the providers' signatures, as documented --------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's documented scheme: the full URL, then each POST parameter's name and value,
    sorted by name, concatenated; HMAC-SHA1 with the auth token; base64."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's documented scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# --- Twilio ------------------------------------------------------------------------------------


@dataclass
class FakeTwilio:
    """Twilio's Messages API: records each SMS, answers 201 with a message SID."""

    server: HttpServer
    sent: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: Request) -> web.StreamResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.sent.append(form)
        return web.json_response(
            {"sid": f"SM{len(self.sent):032d}", "status": "queued", "to": form["To"]}, status=201
        )

    def to(self, number: str) -> list[str]:
        return [message["Body"] for message in self.sent if message["To"] == number]


# --- Slack -------------------------------------------------------------------------------------


@dataclass
class FakeSlack:
    """Slack's Web API: chat.postMessage (each message gets the next ts) and chat.update."""

    server: HttpServer
    posted: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set up, a post is answered once it is set

    async def handle(self, request: Request) -> web.StreamResponse:
        sent = orjson.loads(request.body)
        if request.path.endswith("/chat.update"):
            self.updated.append(sent)
            return web.json_response({"ok": True, "channel": sent["channel"], "ts": sent["ts"]})
        self.posted.append(sent)
        ts = f"1767225600.{len(self.posted):06d}"
        if self.gate is not None:
            await self.gate.wait()
        return web.json_response({"ok": True, "channel": "C0FLEET", "ts": ts, "message": sent})


def blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    return list(message["attachments"][0]["blocks"])


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(action_id, value) of the message's answer buttons."""
    return [
        (element["action_id"], element["value"])
        for block in blocks(message)
        if block["type"] == "actions"
        for element in block["elements"]
        if "action_id" in element
    ]


def click(action_id: str, alert_id: str, user: str = "U0ALICE") -> bytes:
    """The body of Slack's interactivity request for a click on one of alertd's buttons."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0FLEET"},
        "team": {"id": "T0FLEET", "domain": "fleet"},
        "container": {
            "type": "message",
            "message_ts": "1767225600.000001",
            "channel_id": "C0FLEET",
        },
        "channel": {"id": "C0FLEET", "name": "fleet-alerts"},
        "response_url": "https://hooks.slack.com/actions/T0FLEET/1/xyz",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": alert_id,
                "action_ts": "1767225601.000200",
            }
        ],
    }
    return urlencode({"payload": orjson.dumps(payload).decode()}).encode()


# --- the daemon --------------------------------------------------------------------------------


@dataclass
class Stack:
    home: Path
    daemon: Daemon
    client: httpx.AsyncClient
    twilio: FakeTwilio
    slack: FakeSlack
    mailbox: Mailbox

    async def fire(self, vehicle: str) -> str:
        answer = await self.client.post("/v1/events", json=critical(vehicle), headers=ADMIN)
        assert answer.status_code == 202, answer.text
        (alert_id,) = answer.json()["alerts"]
        return str(alert_id)

    async def alert(self, alert_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def sms_to(self, number: str, count: int) -> list[str]:
        await until(lambda: len(self.twilio.to(number)) >= count, f"{count} SMS to {number}")
        return self.twilio.to(number)

    async def delivered(self, alert_id: str) -> dict[str, Any]:
        """The alert once every one of its notifications is sent (and recorded as sent)."""

        async def all_sent() -> dict[str, Any] | None:
            alert = await self.alert(alert_id)
            return alert if all(n["state"] == "sent" for n in alert["notifications"]) else None

        return await eventually(all_sent, f"alert {alert_id}'s notifications to be sent")

    async def emails_to(self, address: str, count: int) -> list[EmailMessage]:
        def found() -> list[EmailMessage]:
            return [message for _, to, message in self.mailbox.received if address in to]

        await until(lambda: len(found()) >= count, f"{count} emails to {address}")
        return found()

    async def slack_posted(self, count: int) -> list[dict[str, Any]]:
        await until(lambda: len(self.slack.posted) >= count, f"{count} Slack messages")
        return self.slack.posted

    async def slack_updated(self, count: int) -> list[dict[str, Any]]:
        await until(lambda: len(self.slack.updated) >= count, f"{count} Slack message updates")
        return self.slack.updated

    async def click(
        self, body: bytes, *, timestamp: str | None = None, secret: str = SIGNING_SECRET
    ) -> httpx.Response:
        """A Slack interactivity request, signed as Slack signs it."""
        stamp = timestamp if timestamp is not None else str(int(time.time()))
        return await self.client.post(
            "/v1/hooks/slack",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": slack_signature(secret, stamp, body),
            },
        )

    async def reply(
        self, sender: str, body: str, *, token: str = AUTH_TOKEN, to: str = FROM
    ) -> httpx.Response:
        """An inbound SMS as Twilio posts it, signed as Twilio signs it (with `token`)."""
        form = {
            "MessageSid": "SM" + "1" * 32,
            "AccountSid": SID,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
        }
        signature = twilio_signature(token, f"{PUBLIC_URL}/v1/hooks/twilio", form)
        return await self.client.post(
            "/v1/hooks/twilio",
            content=urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )


def config(home: Path, twilio_url: str, slack_url: str, smtp_port: int, extra: str = "") -> Path:
    (home / "rules").mkdir(exist_ok=True)
    (home / "rules" / "safety.rules").write_text(RULES)
    (home / "oncall.toml").write_text(ONCALL)
    path = home / "alertd.toml"
    path.write_text(
        f"""[server]
listen = "127.0.0.1:0"
ingest_tokens = ["{TOKEN}"]
admin_tokens = ["{TOKEN}"]
public_url = "{PUBLIC_URL}/"
link_secret = "{LINK_SECRET}"

[rules]
paths = ["rules"]
templates = "{TEMPLATES}"

[state]
path = "var/alertd.db"
sweep_interval = 0

[oncall]
path = "oncall.toml"

[dispatch]
dry_run = false
backoff_initial = 0.05
backoff_max = 0.2

[channels.sms]
account_sid = "{SID}"
auth_token = "{AUTH_TOKEN}"
from = "{FROM}"
to = ["{BOB}"]
base_url = "{twilio_url}"

[channels.slack]
token = "xoxb-respond-test"
channel = "#fleet-alerts"
signing_secret = "{SIGNING_SECRET}"
base_url = "{slack_url}/api/"

[channels.email]
host = "127.0.0.1"
port = {smtp_port}
from = "alertd@example.com"
to = ["ops@example.com"]
{extra}"""
    )
    return path


@pytest.fixture
async def twilio_server() -> AsyncIterator[HttpServer]:
    server = HttpServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def slack_server() -> AsyncIterator[HttpServer]:
    server = HttpServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def stack(
    tmp_path: Path, twilio_server: HttpServer, slack_server: HttpServer
) -> AsyncIterator[Stack]:
    twilio = FakeTwilio(twilio_server)
    twilio_server.handler = twilio.handle
    slack = FakeSlack(slack_server)
    slack_server.handler = slack.handle
    mailbox = Mailbox()
    smtp = await start_smtp(mailbox)
    settings = load_settings(config(tmp_path, twilio_server.url, slack_server.url, port_of(smtp)))
    daemon = Daemon(settings, Pipeline)
    task = asyncio.create_task(daemon.run())
    await until(lambda: daemon.state == "ready" or task.done(), "the daemon to start")
    assert not task.done(), f"the daemon stopped while starting: {task.result()}"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.port}", timeout=10) as client:
        try:
            yield Stack(tmp_path, daemon, client, twilio, slack, mailbox)
        finally:
            daemon.request_stop()
            await task
            smtp.close()
