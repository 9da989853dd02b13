"""A wall clock stepped an hour under a real `alertd run` (libfaketime, monotonic time left
alone): the daemon notices within its timer loop's longest sleep (10 s) and records it; an
alert then fires, the daemon is killed with `kill -9` between its escalation steps and started
again with the clock still an hour off, and step 2 comes due when its delay has passed,
neither at the restart (forward) nor an hour late (back): the restarted daemon goes on with the
timeline the stored due was counted on (alertd.clock.SteadyClock).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.needs import unavailable

from .conftest import ADMIN, CRITICAL, INGEST, Alertd, Receiver, add_oncall, two_steps, write_setup

pytestmark = pytest.mark.e2e

FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
STEP = 25  # seconds to step 2: longer than a restart takes on a busy machine
RULES = """\
rule critical_safety_event {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  escalate ops
}
"""
ONCALL = two_steps(STEP)


def when(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.mark.parametrize("jump", ["+1h", "-1h"], ids=["forward", "back"])
async def test_a_step_keeps_its_delay_across_a_jump_and_a_restart(
    tmp_path: Path, receiver: Receiver, second: Receiver, jump: str
) -> None:
    if not FAKETIME.exists():
        unavailable("libfaketime is not installed: apt-get install faketime")
    write_setup(tmp_path, receiver.url)
    (tmp_path / "rules" / "safety.rules").write_text(RULES)
    add_oncall(tmp_path, ONCALL, partner_url=second.url)
    offset = tmp_path / "faketime"  # the daemon's wall clock: the real one plus this
    offset.write_text("+0\n")
    alertd = Alertd(tmp_path)
    alertd.env = {
        "LD_PRELOAD": str(FAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_CACHE_DURATION": "1",  # read again every second: the test steps it
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    await alertd.start(timeout=60)  # libfaketime slows a start down on a busy machine
    try:
        offset.write_text(f"{jump}\n")  # the wall clock jumps an hour
        stepped = await alertd.wait_for_log(
            "the wall clock was stepped; timers go on counting their delays", timeout=30
        )
        assert abs(abs(stepped["step"]) - 3600) < 5
        async with alertd.client() as client:
            response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        assert response.status_code == 202
        (alert_id,) = response.json()["alerts"]
        await receiver.wait_for(1)
        alertd.kill()  # kill -9 before step 2, the clock still an hour off
        await alertd.start(timeout=60)
        await second.wait_for(1, timeout=2 * STEP)  # back: not an hour late
        assert second.received[0]["body"]["notice"] == "escalated"
        async with alertd.client() as client:
            detail = (await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)).json()
        first, then = (when(e["at"]) for e in detail["timeline"] if e["action"] == "escalated")
        # Forward: step 2 came its delay after step 1, not at the restart (which takes less).
        assert then - first >= STEP - 0.01
    finally:
        alertd.kill()
