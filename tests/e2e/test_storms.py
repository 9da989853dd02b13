"""Storms end to end, with a real `alertd run`: a per-recipient cap on SMS (the real twilio SDK
against a local server playing Twilio's Messages API) and the API's account of it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from tests.waiting import eventually

from .conftest import ADMIN, INGEST, Alertd, Receiver, serving, write_setup

SID = "AC00000000000000000000000000000077"
PHONE = "+15550100042"

FLEET_RULES = """\
rule harsh_braking {
  name     "Harsh braking"
  when     type == "harsh_braking"
  priority medium
  suppress 5m by vehicle_id
  notify   sms
}
"""


@dataclass
class Twilio:
    """Twilio's Messages API on a free port: records each message's form, answers 201."""

    messages: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.messages.append(form)
        answer = {
            "sid": f"SM{len(self.messages):032d}",
            "account_sid": SID,
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
        }
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})

    async def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} of {count} messages arrived")
            await asyncio.sleep(0.05)
        return self.messages


@pytest.fixture
async def twilio() -> AsyncIterator[Twilio]:
    api = Twilio()
    async with serving(api) as api.url:
        yield api


async def first_page(client: httpx.AsyncClient, alert_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
    return dict(answer.json()["notifications"][0])


async def sent_in_bundle(client: httpx.AsyncClient, alert_id: str) -> dict[str, Any] | None:
    """The alert's first notification once the message it went out in is recorded as sent."""
    page = await first_page(client, alert_id)
    return page if page["bundles"] and page["bundles"][0]["state"] == "sent" else None


def fleet_setup(home: Path, receiver: Receiver, twilio: Twilio, sms: str) -> None:
    write_setup(home, receiver.url, server='public_url = "https://alertd.test"')
    (home / "rules" / "safety.rules").write_text(FLEET_RULES)
    with (home / "alertd.toml").open("a") as config:
        config.write(
            f"""
[channels.sms]
account_sid = "{SID}"
auth_token = "twilio-token"
from = "+15550100000"
to = ["{PHONE}"]
base_url = "{twilio.url}"
{sms}
"""
        )


async def test_ten_alerts_to_one_phone_with_a_cap_of_three_make_four_messages(
    tmp_path: Path, receiver: Receiver, twilio: Twilio
) -> None:
    fleet_setup(tmp_path, receiver, twilio, 'max_per_recipient = "3/3s"')
    daemon = Alertd(tmp_path)
    await daemon.start()
    try:
        events = [{"type": "harsh_braking", "vehicle_id": f"v-{n}"} for n in range(1, 11)]
        async with daemon.client() as client:
            answer = await client.post("/v1/events", json=events, headers=INGEST)
            assert answer.status_code == 202
            alert_ids = answer.json()["alerts"]
            # Held in the request's own transaction until the cap allows one more, 3 s on: asked
            # now, not after the three sends, it is held however slowly they go.
            page = await first_page(client, alert_ids[-1])
            assert (page["state"], page["hold"]) == ("held", {"kind": "cap"})
            assert page["held_until"] is not None
            await twilio.wait_for(3)

            messages = await twilio.wait_for(4)
            summary = messages[3]["Body"]
            assert summary.startswith("+7 more alerts: ")
            assert all(f"v-{n}" in summary for n in range(4, 11))
            assert "https://alertd.test/ui/alerts?status=firing&rule=harsh_braking" in summary
            assert {m["To"] for m in messages} == {PHONE}

            page = await eventually(
                lambda: sent_in_bundle(client, alert_ids[-1]), "the summary recorded as sent"
            )
            assert page["state"] == "bundled"
            (bundle,) = page["bundles"]
            assert (bundle["kind"], bundle["count"]) == ("cap", 7)
            states = []
            for alert_id in alert_ids:  # nothing is left to send: four messages it stays
                found = (await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)).json()
                states += [n["state"] for n in found["notifications"]]
            assert states == ["sent"] * 3 + ["bundled"] * 7
            metrics = (await client.get("/metrics")).text
        assert 'alertd_notifications_held_total{channel="sms",hold="capped"} 7.0' in metrics
        assert 'alertd_notification_bundles_total{channel="sms",kind="cap"} 1.0' in metrics
    finally:
        daemon.kill()


GROUP_RULES = """\
rule vehicle_offline {
  name     "Vehicle offline"
  when     type == "connectivity" and status == "offline"
  priority medium
  suppress 30m by vehicle_id
  group    by fleet wait 3s
  notify   webhook
}
"""


def offline(fleet: str, vehicle: int) -> dict[str, Any]:
    return {
        "type": "connectivity",
        "status": "offline",
        "fleet": fleet,
        "vehicle_id": f"v-{vehicle}",
    }


async def test_twenty_alerts_of_one_fleet_within_the_wait_are_one_webhook_call(
    tmp_path: Path, receiver: Receiver
) -> None:
    write_setup(tmp_path, receiver.url)
    (tmp_path / "rules" / "safety.rules").write_text(GROUP_RULES)
    daemon = Alertd(tmp_path)
    await daemon.start()
    try:
        async with daemon.client() as client:
            alert_ids = []
            for batch in range(4):  # four requests, within the group's wait
                events = [offline("north", 5 * batch + n) for n in range(5)]
                answer = await client.post("/v1/events", json=events, headers=INGEST)
                alert_ids += answer.json()["alerts"]
            await client.post("/v1/events", json=[offline("south", 99)], headers=INGEST)
            page = await first_page(client, alert_ids[0])
            assert (page["state"], page["hold"]) == ("held", {"kind": "group", "key": ["north"]})
            received = await receiver.wait_for(2)
            metrics = (await client.get("/metrics")).text
        (north,) = [r["body"] for r in received if r["body"].get("group")]
        assert north["group"] == {"key": ["north"], "count": 20}
        assert [a["alert_id"] for a in north["alerts"]] == alert_ids
        assert {a["event"]["fleet"] for a in north["alerts"]} == {"north"}
        (south,) = [r["body"] for r in received if not r["body"].get("group")]
        assert south["event"]["vehicle_id"] == "v-99"  # a group of one goes as it was
        assert 'alertd_notifications_held_total{channel="webhook",hold="grouped"} 21.0' in metrics
    finally:
        daemon.kill()


async def test_kill_9_during_a_groups_wait_sends_it_once_after_the_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    write_setup(tmp_path, receiver.url)
    (tmp_path / "rules" / "safety.rules").write_text(GROUP_RULES.replace("wait 3s", "wait 2s"))
    daemon = Alertd(tmp_path)
    await daemon.start()
    try:
        async with daemon.client() as client:
            events = [offline("north", n) for n in range(6)]
            answer = await client.post("/v1/events", json=events, headers=INGEST)
            alert_ids = answer.json()["alerts"]
        daemon.kill()  # SIGKILL, inside the wait: nothing was sent
        assert receiver.received == []
        await daemon.start()
        (call,) = await receiver.wait_for(1)
        assert [a["alert_id"] for a in call["body"]["alerts"]] == alert_ids
        key = call["headers"]["idempotency-key"]
        async with daemon.client() as client:  # recorded as sent: it will not go again
            await eventually(
                lambda: sent_in_bundle(client, alert_ids[-1]),
                "the group's message recorded as sent",
            )
        daemon.kill()
        await daemon.start()
        async with daemon.client() as client:
            page = await first_page(client, alert_ids[0])
        assert page["state"] == "bundled" and page["bundles"][0]["id"] == key
        assert len(receiver.received) == 1
    finally:
        daemon.kill()
