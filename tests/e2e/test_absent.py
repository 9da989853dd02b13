"""A real `alertd run` with an absent rule, killed with SIGKILL while a vehicle is silent: the
deadline that passed while it was down waits one more DURATION from the restart (no page at
start for a gap that was alertd's), then the silence pages once, and never again across
another kill -9."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.e2e.conftest import ADMIN, INGEST, Alertd, Receiver, recorded_sent, write_setup
from tests.waiting import eventually, until

SILENT = """
rule vehicle_silent {
  name     "Vehicle Silent"
  when     type == "location_update"
  absent   3s by vehicle_id
  notify   webhook
}
"""


def location(vehicle: str) -> dict[str, Any]:
    return {"type": "location_update", "vehicle_id": vehicle, "timestamp": time.time()}


async def post(alertd: Alertd, vehicle: str) -> float:
    """Send a location update of `vehicle`; its time, once it is committed (202)."""
    event = location(vehicle)
    async with alertd.client() as client:
        response = await client.post("/v1/events", json=event, headers=INGEST)
    assert response.status_code == 202, response.text
    return float(event["timestamp"])


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def silences(alertd: Alertd) -> list[dict[str, Any]]:
    async with alertd.client() as client:
        response = await client.get("/v1/alerts?rule=vehicle_silent", headers=ADMIN)
    assert response.status_code == 200
    return sorted(response.json()["alerts"], key=lambda a: seconds(a["fired_at"]))


async def test_a_kill_9_during_a_silence_pages_once_after_the_grace(
    tmp_path: Path, receiver: Receiver
) -> None:
    write_setup(tmp_path, receiver.url)
    (tmp_path / "rules" / "safety.rules").write_text(SILENT)
    alertd = Alertd(tmp_path)
    await alertd.start()
    try:
        seen = await post(alertd, "v-1")
        alertd.kill()
        # Down while the deadline passes (what the scenario is, not a synchronisation).
        await until(lambda: time.time() > seen + 4, "the deadline to pass while alertd is down")
        restarted = time.time()
        await alertd.start()
        # A second vehicle watched from after the restart: its deadline comes after the first
        # one's grace, so once it has paged, the first one has had every chance to.
        await post(alertd, "v-2")
        pages = await receiver.wait_for(2, timeout=30)
        first, second = (page["body"] for page in pages[:2])
        assert (first["key"], second["key"]) == (["v-1"], ["v-2"])

        v1, v2 = await silences(alertd)
        assert (v1["key"], v2["key"]) == (["v-1"], ["v-2"])
        # Not at its deadline (seen + 3s, while alertd was down): 3s after the restart.
        assert seconds(v1["fired_at"]) >= restarted + 3

        # Both pages answered and their outcomes recorded before the kill: a send still in
        # flight at a kill may go again (at-least-once), a recorded one never does.
        await eventually(
            lambda: recorded_sent(alertd, [v1["id"], v2["id"]]), "both outcomes recorded"
        )
        alertd.kill()
        await alertd.start()
        await post(alertd, "v-3")
        await until(
            lambda: len({p["body"]["alert_id"] for p in receiver.received}) >= 3,
            "the third vehicle's page",
            timeout=30,
        )
        assert [a["key"] for a in await silences(alertd)] == [["v-1"], ["v-2"], ["v-3"]]
        # Each silence fired once and paged once: v-1 neither at the restart nor after the
        # second kill (its page was answered long before it).
        paged = Counter(page["body"]["alert_id"] for page in receiver.received)
        assert sorted(paged.values()) == [1, 1, 1], paged
    finally:
        alertd.kill()
