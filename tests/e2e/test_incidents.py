"""Incidents end to end, on a real `alertd run`: acking and resolving from the command line and
the API, a resolve telling the receivers that were paged (once each), and people of the
on-call file as recipients.

The daemon's webhook channel posts to one receiver (`ops`); a second channel, `partner`, of
kind webhook, to another, which is also the address of `person:frank` in oncall.toml.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alertd.server.listener import bind, bound_port

from ..openapi_contract import assert_answer_documented
from .conftest import (
    ADMIN,
    ADMIN_TOKEN,
    CRITICAL,
    INGEST,
    Alertd,
    Receiver,
    add_oncall,
    serving,
    write_setup,
)

pytestmark = pytest.mark.e2e

RULES = """\
rule critical_safety_event {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  suppress 5m by vehicle_id
  notify   webhook, partner(person:frank)
}
"""

ONCALL = """\
[people.frank]
partner = "{partner}"
"""


@dataclass
class Setup:
    alertd: Alertd
    ops: Receiver
    partner: Receiver


@pytest.fixture
async def setup(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Setup]:
    partner = Receiver()
    async with serving(partner, "/partner") as partner.url:
        write_setup(tmp_path, receiver.url)
        (tmp_path / "rules" / "safety.rules").write_text(RULES)
        add_oncall(tmp_path, ONCALL.format(partner=partner.url), partner_url=receiver.url)
        daemon = Alertd(tmp_path)
        await daemon.start()
        try:
            yield Setup(daemon, receiver, partner)
        finally:
            daemon.kill()


async def cli(alertd: Alertd, *args: str) -> tuple[int, str, str]:
    """`alertd ARGS -c CONFIG` against the running daemon: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alertd",
        *args,
        "-c",
        str(alertd.config),
        "--url",
        alertd.url,
        cwd=alertd.home,
        env={**os.environ, "ALERTD_ADMIN_TOKEN": ADMIN_TOKEN},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def fire(alertd: Alertd, vehicle: str) -> str:
    async with alertd.client() as client:
        response = await client.post(
            "/v1/events", json={**CRITICAL, "vehicle_id": vehicle}, headers=INGEST
        )
    (alert_id,) = response.json()["alerts"]
    return str(alert_id)


def bodies(receiver: Receiver, alert_id: str) -> list[dict[str, Any]]:
    return [r["body"] for r in receiver.received if r["body"]["alert_id"] == alert_id]


async def test_a_resolve_tells_each_receiver_that_was_paged_once(setup: Setup) -> None:
    alert_id = await fire(setup.alertd, "v-1")
    await setup.ops.wait_for(1)
    await setup.partner.wait_for(1)  # frank, through the on-call file
    async with setup.alertd.client() as client:
        resolved = await client.post(
            f"/v1/alerts/{alert_id}/resolve", json={"by": "ana"}, headers=ADMIN
        )
        assert resolved.status_code == 200
        assert_answer_documented("POST", "/v1/alerts/{id}/resolve", resolved)
        again = await client.post(f"/v1/alerts/{alert_id}/resolve", headers=ADMIN)
        assert again.json()["changed"] is False
    await setup.ops.wait_for(2)
    await setup.partner.wait_for(2)
    for receiver in (setup.ops, setup.partner):
        sent = [(b["notice"], (b["resolved"] or {}).get("by")) for b in bodies(receiver, alert_id)]
        assert sent == [("fired", None), ("resolved", "ana")]
    async with setup.alertd.client() as client:
        detail = (await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)).json()
    assert [n["notice"] for n in detail["notifications"]] == ["fired"] * 2 + ["resolved"] * 2
    assert [e["action"] for e in detail["timeline"]] == [
        "fired", "notified", "notified", "resolved", "notified", "notified",
    ]  # fmt: skip
    # The second resolve sent nothing: four rows in the outbox, four requests received.
    assert (len(setup.ops.received), len(setup.partner.received)) == (2, 2)


async def test_the_command_line_lists_acks_and_resolves_alerts(setup: Setup) -> None:
    first = await fire(setup.alertd, "v-1")
    second = await fire(setup.alertd, "v-2")

    code, out, _ = await cli(setup.alertd, "ack", first, "--by", "ana")
    assert (code, out) == (0, f"{first}: acknowledged by ana\n")
    code, out, _ = await cli(setup.alertd, "ack", first, "--by", "bob")
    assert code == 0
    assert out.startswith(f"{first}: already acknowledged by ana at ") and "via cli" in out

    code, out, _ = await cli(setup.alertd, "alerts")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "PRIORITY", "RULE", "KEY", "FIRED", "BY"]
    assert [line.split()[:2] for line in lines[1:]] == [[second, "firing"], [first, "acked"]]
    assert lines[2].split()[-1] == "ana"

    code, out, _ = await cli(setup.alertd, "alerts", "--status", "acked", "--format", "json")
    assert code == 0
    assert [line.count(first) > 0 for line in out.splitlines()] == [True]

    code, out, _ = await cli(setup.alertd, "resolve", second, "--by", "bob")
    assert (code, out) == (0, f"{second}: resolved by bob\n")
    code, out, err = await cli(setup.alertd, "ack", second, "--by", "carol")
    assert (code, out) == (1, "")
    assert err.startswith(f"alertd ack: error: alert {second}: it is resolved by bob at ")
    assert err.rstrip().endswith("via cli: it cannot be acknowledged")
    code, _, err = await cli(setup.alertd, "escalate", first)
    assert code == 1
    assert "it has no escalation policy" in err
    code, _, err = await cli(setup.alertd, "unack", "01KDNOSUCHALERT00000000000")
    assert (code, err) == (1, "alertd unack: error: no such alert: 01KDNOSUCHALERT00000000000\n")

    async with setup.alertd.client() as client:
        acked = (await client.get(f"/v1/alerts/{first}", headers=ADMIN)).json()
    assert (acked["status"], acked["acked_by"], acked["acked_via"]) == ("acked", "ana", "cli")


async def test_the_command_line_says_when_no_daemon_answers(tmp_path: Path) -> None:
    write_setup(tmp_path, "http://127.0.0.1:9/unused")
    alertd = Alertd(tmp_path)
    sock = bind("127.0.0.1", 0)
    alertd.port = bound_port(sock)
    sock.close()  # a port nothing listens on
    code, out, err = await cli(alertd, "alerts")
    assert (code, out) == (2, "")
    assert err.startswith(f"alertd alerts: error: cannot reach alertd at {alertd.url} (")
    assert "is `alertd run` running there?" in err
    code, _, err = await cli(alertd, "ack", "01KDNOSUCHALERT00000000000")
    assert code == 2
    assert err.startswith("alertd ack: error: cannot reach alertd")
