"""Answering pages end to end, on a real `alertd run` set up as docs/responding.md says: an SMS
reply through a local server playing Twilio, a Slack click through one playing Slack, an email
link through a real aiosmtpd server; the providers' signatures made as they document them. And
what the log of it all holds: none of the secrets."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.notify.conftest import HttpServer
from tests.notify.test_email import Mailbox, port_of, start_smtp
from tests.respond.conftest import (
    ALICE,
    AUTH_TOKEN,
    FROM,
    LINK_SECRET,
    ONCALL,
    SID,
    SIGNING_SECRET,
    FakeSlack,
    FakeTwilio,
    blocks,
    click,
    slack_signature,
    twilio_signature,
)
from tests.waiting import eventually, until

from .conftest import ADMIN, ADMIN_TOKEN, INGEST, INGEST_TOKEN, REPO, Alertd, recorded_sent

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://alerts.example.com"

RULES = """\
rule critical_safety_event {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  suppress 5m by vehicle_id
  notify   sms(person:alice), slack, email(person:alice)
}
"""


@dataclass
class Providers:
    alertd: Alertd
    twilio: FakeTwilio
    slack: FakeSlack
    mailbox: Mailbox


@pytest.fixture
async def providers(tmp_path: Path) -> AsyncIterator[Providers]:
    twilio_server, slack_server = HttpServer(), HttpServer()
    await twilio_server.start()
    await slack_server.start()
    twilio, slack = FakeTwilio(twilio_server), FakeSlack(slack_server)
    twilio_server.handler, slack_server.handler = twilio.handle, slack.handle
    mailbox = Mailbox()
    smtp = await start_smtp(mailbox)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "safety.rules").write_text(RULES)
    (tmp_path / "oncall.toml").write_text(ONCALL)
    (tmp_path / "alertd.toml").write_text(
        f"""[server]
listen = "127.0.0.1:0"
ingest_tokens = ["{INGEST_TOKEN}"]
admin_tokens = ["{ADMIN_TOKEN}"]
public_url = "{PUBLIC_URL}"
link_secret = "${{ALERTD_LINK_SECRET}}"

[rules]
paths = ["rules"]
templates = "{REPO / "templates"}"

[state]
path = "var/alertd.db"

[oncall]
path = "oncall.toml"

[dispatch]
dry_run = false
backoff_initial = 0.1
backoff_max = 0.5

[log]
level = "debug"

[channels.sms]
account_sid = "{SID}"
auth_token = "${{TWILIO_AUTH_TOKEN}}"
from = "{FROM}"
to = ["+15550100199"]
base_url = "{twilio_server.url}"

[channels.slack]
token = "xoxb-e2e-bot-token-123"
channel = "#fleet-alerts"
signing_secret = "${{SLACK_SIGNING_SECRET}}"
base_url = "{slack_server.url}/api/"

[channels.email]
host = "127.0.0.1"
port = {port_of(smtp)}
from = "alertd@example.com"
to = ["ops@example.com"]
"""
    )
    daemon = Alertd(tmp_path)
    daemon.env = {
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "ALERTD_LINK_SECRET": LINK_SECRET,
    }
    await daemon.start()
    try:
        yield Providers(daemon, twilio, slack, mailbox)
    finally:
        daemon.kill()
        smtp.close()
        await twilio_server.stop()
        await slack_server.stop()


async def test_a_page_answered_by_sms_slack_and_email_with_no_secret_in_the_log(
    providers: Providers,
) -> None:
    alertd = providers.alertd
    async with alertd.client() as client:
        fired = await client.post(
            "/v1/events",
            json={"type": "safety_event", "severity": "critical", "vehicle_id": "v-1042"},
            headers=INGEST,
        )
        (alert_id,) = fired.json()["alerts"]

        async def detail() -> dict[str, Any]:
            return dict((await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)).json())

        # The three pages recorded sent before anyone answers: the ack's update edits the
        # Slack page only once its receipt is recorded (before, it is posted as a message of
        # its own), and the email page arrives before the ack's email.
        await eventually(lambda: recorded_sent(alertd, [alert_id]), "the three pages sent")
        (sms,) = providers.twilio.to(ALICE)
        assert sms.endswith("\nReply 1a to ack, 1c to resolve")

        # unsigned, the hooks do nothing
        form = {"From": ALICE, "To": FROM, "Body": "1a"}
        assert (await client.post("/v1/hooks/twilio", data=form)).status_code == 403
        assert (
            await client.post("/v1/hooks/slack", content=click("alertd_ack", alert_id))
        ).status_code == 401
        assert (await detail())["status"] == "firing"

        # SMS: "1a" acks as alice
        signature = twilio_signature(AUTH_TOKEN, f"{PUBLIC_URL}/v1/hooks/twilio", form)
        replied = await client.post(
            "/v1/hooks/twilio", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert replied.status_code == 200
        assert "<Message>Acknowledged #1: Critical Safety Event, v-1042</Message>" in replied.text
        alert = await detail()
        assert (alert["status"], alert["acked_by"], alert["acked_via"]) == ("acked", "alice", "sms")

        # Slack: the page was edited to say so, in place
        await until(lambda: providers.slack.updated, "the Slack message to be updated")
        assert (
            "*Acknowledged* by alice via sms"
            in blocks(providers.slack.updated[0])[0]["text"]["text"]
        )

        # Slack: a click captured and replayed six minutes later is refused
        body = click("alertd_resolve", alert_id)
        old = str(int(time.time()) - 360)
        replayed = await client.post(
            "/v1/hooks/slack",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": old,
                "X-Slack-Signature": slack_signature(SIGNING_SECRET, old, body),
            },
        )
        assert replayed.status_code == 401
        assert (await detail())["status"] == "acked"

        # email: the link's page changes nothing; its button resolves
        await until(
            lambda: any("alice@example.com" in to for _, to, _ in providers.mailbox.received),
            "the email page",
        )
        message, *status = [
            m for _, to, m in providers.mailbox.received if "alice@example.com" in to
        ]
        assert [m["Subject"] for m in status] in (
            [],
            ["[ACKED] Critical Safety Event — v-1042 by alice"],
        )  # the page, then (when it arrived already) the status update of the SMS ack
        text = message.get_body(("plain",))
        assert text is not None
        (resolve,) = re.findall(rf"^Resolve: {PUBLIC_URL}(\S+?)\r?$", text.get_content(), re.M)
        page = await client.get(resolve)
        assert page.status_code == 200 and "<h1>Resolve this alert?</h1>" in page.text
        assert (await detail())["status"] == "acked"
        done = await client.post(resolve)
        assert "<h1>Resolved by alice</h1>" in done.text
        alert = await detail()
        assert (alert["status"], alert["resolved_by"], alert["resolved_via"]) == (
            "resolved",
            "alice",
            "email",
        )
        tampered = resolve[:-3] + ("AAA" if not resolve.endswith("AAA") else "BBB")
        assert (await client.post(tampered)).status_code == 403

    await alertd.wait_for_log("email link")
    log = alertd.log_text()
    assert "SMS reply" in log and "Slack request with a stale" in log
    for secret in (AUTH_TOKEN, SIGNING_SECRET, LINK_SECRET, ADMIN_TOKEN, INGEST_TOKEN):
        assert secret not in log
    assert urlencode({"a": AUTH_TOKEN})[2:] not in log
