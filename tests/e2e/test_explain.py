"""`POST /v1/explain` against a real `alertd run`: one event against the running rules and
their live windows, why each rule would fire or not, and nothing changed by asking."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.waiting import until

from .conftest import ADMIN, INGEST, Alertd

pytestmark = pytest.mark.e2e

COUNT_RULES = """\
rule repeated_harsh_braking {
  when     type == "safety_event" and kind == "harsh_braking"
  count    3 within 10m by vehicle_id
  notify   webhook
}
rule speeding {
  when     type == "location_update" and speed_kmh > 120
  notify   webhook
}
"""


def state_rows(alertd: Alertd) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(alertd.home / "var" / "alertd.db") as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("suppression", "count_window", "alerts", "timers", "outbox")
        }


def sent(alertd: Alertd) -> bool:
    """Whether every notification is sent (the outbox changes no more by itself)."""
    with sqlite3.connect(alertd.home / "var" / "alertd.db") as connection:
        states = connection.execute("SELECT state FROM outbox").fetchall()
    return bool(states) and all(state == "sent" for (state,) in states)


def mismatch_metrics(text: str) -> list[str]:
    return [line for line in text.splitlines() if "type_mismatches_total{" in line]


async def test_explain_uses_the_live_windows_and_changes_nothing(alertd: Alertd) -> None:
    (alertd.rules_dir / "more.rules").write_text(COUNT_RULES)
    critical = {"type": "safety_event", "severity": "critical", "vehicle_id": "v1"}
    harsh = {"type": "safety_event", "kind": "harsh_braking", "vehicle_id": "v1"}
    async with alertd.client() as client:
        assert (await client.post("/v1/reload", headers=ADMIN)).status_code == 200
        fired = await client.post("/v1/events", json=critical | harsh, headers=INGEST)
        assert len(fired.json()["alerts"]) == 1  # critical_safety_event; harsh: 1 of 3
        await until(lambda: sent(alertd), "the alert's webhook to be sent")
        before = state_rows(alertd)
        metrics_before = mismatch_metrics((await client.get("/metrics")).text)

        answer = await client.post("/v1/explain", json=critical | harsh, headers=ADMIN)
        assert answer.status_code == 200
        rules = {rule["rule"]: rule for rule in answer.json()["rules"]}
        assert rules["critical_safety_event"]["decision"] == "suppressed"
        assert rules["critical_safety_event"]["key"] == ["v1"]
        assert rules["critical_safety_event"]["suppressed_until"].endswith("Z")
        assert rules["repeated_harsh_braking"] == {
            "rule": "repeated_harsh_braking",
            "decision": "counting",
            "key": ["v1"],
            "window": "2 of 3 within 10m",
            "type_mismatches": [],
        }

        low = await client.post("/v1/explain", json=harsh | {"severity": "low"}, headers=ADMIN)
        why = {rule["rule"]: rule for rule in low.json()["rules"]}["critical_safety_event"]
        assert why["decision"] == "no_match"
        assert why["failed"] == 'severity == "critical"'
        assert why["values"] == {"severity": "low"}
        assert why["at"] == "rules/safety.rules:3:39"  # as alertd check names it

        fast = {"type": "location_update", "speed_kmh": "130"}
        (speeding,) = (await client.post("/v1/explain", json=fast, headers=ADMIN)).json()["rules"]
        assert speeding["decision"] == "no_match"
        assert speeding["type_mismatch"] == "a string compared with a number"
        assert speeding["type_mismatches"][0]["problem"] == "a string compared with a number"

        # Asked three times, nothing changed: the state, the alerts, the metrics.
        assert state_rows(alertd) == before
        assert mismatch_metrics((await client.get("/metrics")).text) == metrics_before
        listed = (await client.get("/v1/alerts", headers=ADMIN)).json()["alerts"]
        assert [alert["rule"] for alert in listed] == ["critical_safety_event"]

        # The event, sent for real, does what it was said it would: 2 of 3, no alert.
        again = await client.post("/v1/events", json=critical | harsh, headers=INGEST)
        assert again.json()["alerts"] == []


async def test_explain_refuses_what_is_not_one_valid_event(alertd: Alertd) -> None:
    async with alertd.client() as client:
        ingest_only = await client.post("/v1/explain", json={"type": "x"}, headers=INGEST)
        assert ingest_only.status_code == 403
        batch = await client.post("/v1/explain", json=[{"type": "x"}], headers=ADMIN)
        assert batch.status_code == 400
        assert batch.json()["error"] == "expected one event: a JSON object"
        bad_time = await client.post("/v1/explain", json={"timestamp": "soon"}, headers=ADMIN)
        assert bad_time.status_code == 400
        assert bad_time.json()["details"][0]["index"] == 0
        assert "timestamp" in bad_time.json()["details"][0]["error"]
        text = await client.post(
            "/v1/explain", content=b"{}", headers={**ADMIN, "Content-Type": "text/plain"}
        )
        assert text.status_code == 415
