"""A rule's `resolve` end to end, on a real `alertd run` with the starter `vehicle_breakdown`
rule (notifying the test's webhook receiver): a breakdown pages, a second report is folded into
the open alert without a page, the daemon is killed (-9) and started again, and the vehicle's
"operational" report resolves the alert: the receiver that was paged gets the resolved notice,
once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..waiting import eventually
from .conftest import ADMIN, INGEST, REPO, Alertd, Receiver, recorded_sent, write_setup

pytestmark = pytest.mark.e2e


def starter_rules(home: Path) -> None:
    """The shipped `vehicle_breakdown` rule, its pages sent to the webhook receiver."""
    shipped = (REPO / "rules" / "vehicle.rules").read_text()
    start = shipped.index("rule vehicle_breakdown {")
    rule = shipped[start : shipped.index("\n}\n", start) + 3]
    assert "  notify   sms, email\n" in rule  # as shipped
    rule = rule.replace("  notify   sms, email\n", "  notify   webhook\n")
    (home / "rules" / "vehicle.rules").write_text(rule)
    (home / "rules" / "common.rules").write_text((REPO / "rules" / "common.rules").read_text())


async def post(alertd: Alertd, event: dict[str, Any]) -> list[str]:
    async with alertd.client() as client:
        response = await client.post("/v1/events", json=event, headers=INGEST)
    assert response.status_code == 202, response.text
    alerts: list[str] = response.json()["alerts"]
    return alerts


async def alert(alertd: Alertd, alert_id: str) -> dict[str, Any]:
    async with alertd.client() as client:
        response = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
    assert response.status_code == 200
    detail: dict[str, Any] = response.json()
    return detail


async def test_a_breakdown_pages_once_and_its_operational_report_resolves_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    write_setup(tmp_path, receiver.url)
    starter_rules(tmp_path)
    daemon = Alertd(tmp_path)
    await daemon.start()
    try:
        (alert_id,) = await post(daemon, {"type": "breakdown", "vehicle_id": "v-7"})
        await receiver.wait_for(1)
        # Standing still with the engine off: the same breakdown, folded into the open alert.
        still = {"type": "location_update", "vehicle_id": "v-7", "speed_kmh": 0, "engine_on": False}
        assert await post(daemon, still) == []
        folded = await alert(daemon, alert_id)
        assert (folded["status"], folded["match_count"]) == ("firing", 2)
        assert (folded["event"]["type"], folded["last_event"]) == ("breakdown", still)

        # The page recorded sent before the kill: had it been in flight, it could go again.
        await eventually(lambda: recorded_sent(daemon, [alert_id]), "the page recorded sent")
        daemon.kill()  # -9: the open alert must outlive it
        await daemon.start()

        assert await post(daemon, still) == []  # still folded after the restart
        # Another vehicle's report resolves nothing; this vehicle's resolves its alert.
        report = {"type": "vehicle_status", "status": "operational"}
        assert await post(daemon, {**report, "vehicle_id": "v-8"}) == []
        assert await post(daemon, {**report, "vehicle_id": "v-7"}) == []
        await receiver.wait_for(2)

        sent = [
            (r["body"]["notice"], r["body"]["alert_id"], (r["body"]["resolved"] or {}).get("by"))
            for r in receiver.received
        ]
        assert sent == [("fired", alert_id, None), ("resolved", alert_id, "vehicle_breakdown")]
        detail = await alert(daemon, alert_id)
        assert (detail["status"], detail["resolved_by"], detail["resolved_via"]) == (
            "resolved",
            "vehicle_breakdown",
            "rule",
        )
        assert detail["match_count"] == 3
        assert [n["notice"] for n in detail["notifications"]] == ["fired", "resolved"]
        assert [e["action"] for e in detail["timeline"]] == [
            "fired",
            "notified",
            "resolved",
            "notified",
        ]
        # Resolved once: a second operational report finds nothing open and sends nothing.
        assert await post(daemon, {**report, "vehicle_id": "v-7"}) == []
        again = await alert(daemon, alert_id)
        assert [n["notice"] for n in again["notifications"]] == ["fired", "resolved"]
        assert len(receiver.received) == 2
    finally:
        daemon.kill()
