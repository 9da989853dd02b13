"""Escalation end to end, on a real `alertd run`: a firing alert pages the second step's
receiver after its delay and an acked one does not; a `kill -9` between the two steps, then a
restart, delivers the second step exactly once; a resolve reaches every receiver that was
paged, through either step, once.

The rule escalates by `ops`: step 1 at once to the `webhook` channel (the receiver `first`),
step 2 `STEP` seconds later to the `partner` channel, of kind webhook (the receiver `second`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import until

from .conftest import ADMIN, CRITICAL, INGEST, Alertd, Receiver, add_oncall, two_steps, write_setup

pytestmark = pytest.mark.e2e

STEP = 5  # seconds between the steps: long enough to ack one alert before its step 2
RULES = """\
rule critical_safety_event {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  suppress 5m by vehicle_id
  escalate ops
}
"""
ONCALL = two_steps(STEP)


@dataclass
class Setup:
    alertd: Alertd
    first: Receiver  # step 1
    second: Receiver  # step 2


@pytest.fixture
async def setup(tmp_path: Path, receiver: Receiver, second: Receiver) -> AsyncIterator[Setup]:
    write_setup(tmp_path, receiver.url)
    (tmp_path / "rules" / "safety.rules").write_text(RULES)
    add_oncall(tmp_path, ONCALL, partner_url=second.url)
    daemon = Alertd(tmp_path)
    await daemon.start()
    try:
        yield Setup(daemon, receiver, second)
    finally:
        daemon.kill()


async def fire(alertd: Alertd, vehicle: str) -> str:
    async with alertd.client() as client:
        response = await client.post(
            "/v1/events", json={**CRITICAL, "vehicle_id": vehicle}, headers=INGEST
        )
    assert response.status_code == 202
    (alert_id,) = response.json()["alerts"]
    return str(alert_id)


async def detail(alertd: Alertd, alert_id: str) -> dict[str, Any]:
    async with alertd.client() as client:
        response = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


async def act(alertd: Alertd, alert_id: str, action: str) -> None:
    async with alertd.client() as client:
        response = await client.post(
            f"/v1/alerts/{alert_id}/{action}", json={"by": "ana"}, headers=ADMIN
        )
    assert response.status_code == 200, response.text


async def sent(alertd: Alertd, alert_id: str, timeout: float = 20) -> dict[str, Any]:
    """The alert, once the daemon has recorded each of its notifications as sent."""
    deadline = time.monotonic() + timeout
    while True:
        found = await detail(alertd, alert_id)
        if all(n["state"] == "sent" for n in found["notifications"]):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for every notification to be sent")
        await asyncio.sleep(0.02)


def notices(receiver: Receiver, alert_id: str) -> list[str]:
    """The alert's notices the receiver took, a repeat of one Idempotency-Key once: delivery is
    at least once, and a send the daemon timed out on under load goes again with the same key
    (a second notification would have its own key, and count)."""
    taken = {
        r["headers"]["idempotency-key"]: r["body"]["notice"]
        for r in receiver.received
        if r["body"]["alert_id"] == alert_id
    }
    return list(taken.values())


def when(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_a_firing_alert_escalates_after_the_delay_and_an_acked_one_does_not(
    setup: Setup,
) -> None:
    acked = await fire(setup.alertd, "v-1")
    await act(setup.alertd, acked, "ack")
    before = time.monotonic()  # before v-2 fires: a slow machine can only make the wait longer
    firing = await fire(setup.alertd, "v-2")
    await setup.first.wait_for(3)  # the two pages, and the ack's status update
    await setup.second.wait_for(1)
    assert time.monotonic() - before >= STEP - 0.01  # not before its delay (timer resolution: ms)
    # The acked alert's step 2 was due first: had it run, it would have arrived first.
    assert [r["body"]["alert_id"] for r in setup.second.received] == [firing]
    assert notices(setup.first, acked) == ["fired", "acked"]  # who was paged hears of the ack
    assert notices(setup.first, firing) == ["fired"]
    assert setup.second.received[0]["body"]["notice"] == "escalated"

    quiet, escalated = await detail(setup.alertd, acked), await detail(setup.alertd, firing)
    assert quiet["status"] == "acked"
    assert (quiet["escalation"]["step"], quiet["escalation"]["next_step_due"]) == (1, None)
    changes = [e["action"] for e in quiet["timeline"] if e["action"] != "notified"]
    assert changes == ["fired", "escalated", "acked"]  # step 1 only
    assert escalated["escalation"]["step"] == 2
    steps = [e for e in escalated["timeline"] if e["action"] == "escalated"]
    assert [(e["via"], e["detail"]["step"]) for e in steps] == [("rule", 1), ("timer", 2)]
    assert when(steps[1]["at"]) - when(steps[0]["at"]) >= STEP - 0.01


async def test_a_kill_between_two_steps_then_a_restart_delivers_the_second_once(
    setup: Setup,
) -> None:
    alert_id = await fire(setup.alertd, "v-1")
    await setup.first.wait_for(1)
    before = await detail(setup.alertd, alert_id)
    due = when(before["escalation"]["next_step_due"])
    setup.alertd.kill()  # kill -9, step 2 pending
    assert setup.second.received == []
    # Step 2 falls due while the daemon is down; the restart runs it, once.
    await until(lambda: time.time() > due + 0.5, "step 2 to fall due", timeout=STEP + 10)
    await setup.alertd.start()
    await setup.second.wait_for(1)

    after = await sent(setup.alertd, alert_id)
    assert [(n["notice"], n["channel"], n["state"]) for n in after["notifications"]] == [
        ("fired", "webhook", "sent"),
        ("escalated", "partner", "sent"),
    ]
    assert [e["detail"]["step"] for e in after["timeline"] if e["action"] == "escalated"] == [1, 2]
    assert notices(setup.second, alert_id) == ["escalated"]
    assert after["escalation"]["next_step_due"] is None  # both steps ran; nothing left


async def test_a_resolve_reaches_the_receivers_of_both_steps_once(setup: Setup) -> None:
    alert_id = await fire(setup.alertd, "v-1")
    await setup.second.wait_for(1)  # step 2 ran: both receivers were paged
    await act(setup.alertd, alert_id, "resolve")
    await act(setup.alertd, alert_id, "resolve")  # a repeat changes nothing, sends nothing
    await setup.first.wait_for(2)
    await setup.second.wait_for(2)
    assert notices(setup.first, alert_id) == ["fired", "resolved"]
    assert notices(setup.second, alert_id) == ["escalated", "resolved"]
    resolved = await sent(setup.alertd, alert_id)
    assert [n["notice"] for n in resolved["notifications"]] == ["fired", "escalated"] + [
        "resolved"
    ] * 2
