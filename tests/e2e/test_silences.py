"""Silences end to end, on a real `alertd run` whose webhook channel posts to a local receiver,
made from the command line (`alertd silence`) and the API: a silenced vehicle's alert is
recorded and not sent while another vehicle's is sent; once the silence is over the vehicle
pages again; a silence made during an escalation stops its next step; silences outlive a
restart.

The rule here has no `suppress`, so that every event fires (a silenced alert starts the rule's
windows like any other, docs/api.md "Silences").
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import eventually

from .conftest import ADMIN, INGEST, Alertd, Receiver, add_oncall, write_setup
from .test_incidents import cli

pytestmark = pytest.mark.e2e

RULES = """\
rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  priority high
  notify   webhook
}

rule collision {
  name     "Collision"
  when     type == "collision"
  priority urgent
  escalate ops
}
"""
SHORT = 3  # seconds: a silence that is over soon
STEP_2_AFTER = 8  # seconds: ample time to make a silence after the first page
ONCALL = f"""\
[escalation.ops]
[[escalation.ops.steps]]
after = "0s"
notify = ["webhook"]
[[escalation.ops.steps]]
after = "{STEP_2_AFTER}s"
notify = ["webhook"]
"""


@pytest.fixture
async def daemon(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Alertd]:
    write_setup(tmp_path, receiver.url)
    (tmp_path / "rules" / "safety.rules").write_text(RULES)
    add_oncall(tmp_path, ONCALL)
    started = Alertd(tmp_path)
    await started.start()
    try:
        yield started
    finally:
        started.kill()


async def fire(alertd: Alertd, *events: dict[str, Any]) -> list[str]:
    async with alertd.client() as client:
        response = await client.post("/v1/events", json=list(events), headers=INGEST)
    assert response.status_code == 202, response.text
    return list(response.json()["alerts"])


async def alert(alertd: Alertd, alert_id: str) -> dict[str, Any]:
    async with alertd.client() as client:
        response = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def silence(alertd: Alertd, silence_id: str) -> dict[str, Any]:
    async with alertd.client() as client:
        response = await client.get(f"/v1/silences/{silence_id}", headers=ADMIN)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def paged(receiver: Receiver, alert_id: str) -> list[str]:
    """The notices the receiver took for the alert."""
    return [r["body"]["notice"] for r in receiver.received if r["body"]["alert_id"] == alert_id]


def breakdown(vehicle: str) -> dict[str, Any]:
    return {"type": "breakdown", "vehicle_id": vehicle}


async def test_a_silenced_vehicle_is_recorded_and_not_sent(
    daemon: Alertd, receiver: Receiver
) -> None:
    code, out, err = await cli(
        daemon, "silence", "add", "vehicle_id=v-9", "--for", "1h",
        "--comment", "v-9 is in the workshop", "--by", "ana",
    )  # fmt: skip
    assert code == 0, err
    silence_id = out.strip()

    code, out, _ = await cli(daemon, "silence", "list")
    assert code == 0
    header, line = out.splitlines()
    assert header.split() == ["ID", "STATE", "FROM", "UNTIL", "BY", "MATCHERS", "COMMENT"]
    assert line.split()[:2] == [silence_id, "active"]
    assert 'ana  vehicle_id="v-9"  v-9 is in the workshop' in line

    silenced, other = await fire(daemon, breakdown("v-9"), breakdown("v-10"))
    await receiver.wait_for(1)
    assert paged(receiver, other) == ["fired"]
    quiet = await alert(daemon, silenced)
    assert (quiet["status"], quiet["silenced_by"], quiet["notifications"]) == (
        "silenced",
        silence_id,
        [],
    )
    assert [(e["action"], e["by"], e["via"]) for e in quiet["timeline"]] == [
        ("fired", "breakdown", "rule"),
        ("silenced", "ana", "cli"),
    ]
    assert paged(receiver, silenced) == []
    async with daemon.client() as client:
        metrics = (await client.get("/metrics")).text
    assert 'alertd_alerts_silenced_total{rule="breakdown"} 1.0' in metrics


async def test_once_a_short_silence_ends_the_vehicle_pages_again(
    daemon: Alertd, receiver: Receiver
) -> None:
    ends = datetime.now(UTC) + timedelta(seconds=SHORT)
    async with daemon.client() as client:
        made = await client.post(
            "/v1/silences",
            json={
                "matchers": [{"name": "vehicle_id", "value": "v-9"}],
                "ends_at": ends.isoformat(),
                "created_by": "ana",
                "comment": "a quick look",
            },
            headers=ADMIN,
        )
    assert made.status_code == 201
    silence_id = made.json()["id"]
    (first,) = await fire(daemon, breakdown("v-9"))  # at once: well inside the silence
    assert (await alert(daemon, first))["silenced_by"] == silence_id

    async def over() -> bool | None:
        return (await silence(daemon, silence_id))["state"] == "expired" or None

    await eventually(over, "the silence to end", timeout=SHORT + 20)
    (again,) = await fire(daemon, breakdown("v-9"))
    await receiver.wait_for(1)
    assert paged(receiver, again) == ["fired"]
    assert (await alert(daemon, again))["status"] == "firing"
    assert paged(receiver, first) == []


async def test_expiring_from_the_command_line(daemon: Alertd, receiver: Receiver) -> None:
    code, out, _ = await cli(
        daemon, "silence", "add", "vehicle_id=~v-9.*", "rule=breakdown", "--for", "1h",
        "--comment", "workshop",
    )  # fmt: skip
    assert code == 0
    silence_id = out.strip()
    (first,) = await fire(daemon, breakdown("v-90"))
    assert (await alert(daemon, first))["status"] == "silenced"

    code, out, _ = await cli(daemon, "silence", "expire", silence_id)
    assert (code, out) == (0, f"{silence_id}: expired\n")
    code, out, _ = await cli(daemon, "silence", "expire", silence_id)
    assert code == 0 and out.startswith(f"{silence_id}: already expired at ")
    code, _, err = await cli(daemon, "silence", "expire", "01KNOSUCHSILENCE0000000000")
    assert (code, err) == (
        1,
        "alertd silence expire: error: no such silence: 01KNOSUCHSILENCE0000000000\n",
    )

    (second,) = await fire(daemon, breakdown("v-90"))
    await receiver.wait_for(1)
    assert paged(receiver, second) == ["fired"]
    code, out, _ = await cli(daemon, "silence", "list", "--state", "expired", "--format", "json")
    assert code == 0 and silence_id in out and len(out.splitlines()) == 1


async def test_a_silence_the_daemon_refuses(daemon: Alertd) -> None:
    code, out, err = await cli(
        daemon, "silence", "add", "vehicle_id=~.*", "--until", "2020-01-01T00:00Z", "--comment", "x"
    )
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "alertd silence add: error: the silence is invalid:",
        "  matchers: every matcher also holds for an alert without these fields, so the "
        "silence would silence nearly every alert; add one that names what to silence, such "
        "as vehicle_id=v-9",
        "  ends_at: is not in the future: the silence would be over",
    ]
    code, _, err = await cli(
        daemon, "silence", "add", "vehicle_id", "--for", "1h", "--comment", "x"
    )
    assert code == 2
    assert err.startswith("alertd silence add: error: matcher 'vehicle_id': expected NAME=VALUE")


async def test_a_silence_made_during_an_escalation_stops_its_next_step(
    daemon: Alertd, receiver: Receiver
) -> None:
    (alert_id,) = await fire(daemon, {"type": "collision", "vehicle_id": "v-9"})
    await receiver.wait_for(1)  # step 1
    async with daemon.client() as client:
        made = await client.post(
            "/v1/silences",
            json={
                "matchers": [{"name": "vehicle_id", "value": "v-9"}],
                "ends_at": "2099-01-01T00:00:00Z",
                "created_by": "ana",
                "comment": "towed away",
            },
            headers=ADMIN,
        )
    assert made.status_code == 201
    escalation = (await alert(daemon, alert_id))["escalation"]
    assert escalation["step"] == 1, "step 2 ran before the silence was made: a slow machine?"

    # When step 2 falls due, the silence is asked first: the alert is silenced instead.
    async def silenced() -> dict[str, Any] | None:
        record = await alert(daemon, alert_id)
        return record if record["status"] == "silenced" else None

    record = await eventually(silenced, "step 2 to fall due", timeout=STEP_2_AFTER + 20)
    assert record["silenced_by"] == made.json()["id"]
    assert record["escalation"]["step"] == 1
    assert record["escalation"]["next_step_due"] is None
    assert [n["notice"] for n in record["notifications"]] == ["fired"]
    assert [e["action"] for e in record["timeline"]] == [
        "fired", "escalated", "notified", "silenced",
    ]  # fmt: skip
    assert paged(receiver, alert_id) == ["fired"]


async def test_silences_outlive_a_restart(daemon: Alertd, receiver: Receiver) -> None:
    code, out, _ = await cli(
        daemon, "silence", "add", "vehicle_id=v-9", "--for", "1h", "--comment", "workshop"
    )
    assert code == 0
    silence_id = out.strip()
    daemon.send_signal(signal.SIGTERM)
    assert await daemon.wait() == 0
    await daemon.start()
    silenced, other = await fire(daemon, breakdown("v-9"), breakdown("v-10"))
    await receiver.wait_for(1)
    assert paged(receiver, other) == ["fired"]
    assert (await alert(daemon, silenced))["silenced_by"] == silence_id
    assert (await silence(daemon, silence_id))["state"] == "active"
