"""Replays are deterministic: the daemon's stack, run live on a fake clock (events sent as they
happen, its timer loop's sweeps as the clock passes their dues), and `alertd test-rule` on the
same events decide the same: the same alerts fired (rule, key, time), timers' included
(absent silences, `resolve after`), the same resolved, for rules over time (absent, for,
prev) and resolving rules together, on random streams."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from alertd.cli import main
from alertd.clock import FakeClock
from alertd.config import load_settings
from alertd.engine.eventtime import format_time
from alertd.engine.state import AlertQuery
from alertd.pipeline import Pipeline
from tests.pipeline_home import REPO

RULES = """
rule vehicle_silent {
  when type == "location_update"
  absent 10m by vehicle_id
}

rule engine_overheat {
  when type == "engine_status" and coolant_temp_c > 110
  by vehicle_id
  for 2m
  suppress 15m
}

rule fuel_low {
  when type == "vehicle_status" and fuel_level_pct < 10 and prev(fuel_level_pct) >= 10
  by vehicle_id
}

rule breakdown {
  when type == "breakdown"
  by vehicle_id
  resolve when type == "vehicle_status" and fuel_level_pct > 50
  resolve after 20m
}
"""
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def stream(seed: int) -> list[dict[str, Any]]:
    """Three vehicles for three hours: position reports with gaps, engine and fuel readings,
    a few breakdowns; in time order, a second or more apart."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    now = START
    silent_until = dict.fromkeys(("v1", "v2", "v3"), 0.0)
    while now < START + 3 * 3600:
        now += rng.choice([1, 5, 20, 30, 60, 90])
        vehicle = rng.choice(["v1", "v2", "v3"])
        if now < silent_until[vehicle]:
            continue
        if rng.random() < 0.01:
            silent_until[vehicle] = now + rng.choice([300, 900, 1800])
        kind = rng.choices(
            ["location_update", "engine_status", "vehicle_status", "breakdown"], [60, 20, 18, 2]
        )[0]
        event: dict[str, Any] = {"type": kind, "vehicle_id": vehicle, "timestamp": now}
        if kind == "engine_status":
            event["coolant_temp_c"] = rng.choice([95, 105, 111, 115, 120])
        elif kind == "vehicle_status":
            event["fuel_level_pct"] = rng.choice([5, 8, 9.5, 12, 30, 60, 90])
        events.append(event)
    return events


async def live(home: Path, events: list[dict[str, Any]], until: float) -> list[tuple[Any, ...]]:
    """Each event sent at its time, the timers run as the daemon's loop runs them."""
    clock = FakeClock(START)
    pipeline = Pipeline(load_settings(home / "alertd.toml"), clock)

    async def run_to(time: float) -> None:
        while (due := await pipeline.next_timer_due()) is not None and due <= time:
            clock.advance(max(0.0, due - pipeline.steady.now()))
            await pipeline.run_due_timers()
        clock.advance(max(0.0, time - clock.now()))

    try:
        for event in events:
            await run_to(event["timestamp"])
            await pipeline.ingest([event], clock.now())
        await run_to(until)
        found: list[tuple[Any, ...]] = []
        cursor = None
        while True:
            page = await pipeline.alerts(AlertQuery(limit=500, cursor=cursor))
            for record in page.records:
                alert = record.alert
                found.append(("fired", alert.rule_id, tuple(alert.key), alert.fired_at))
                if record.status == "resolved":
                    assert record.resolved_at is not None
                    found.append(("resolved", alert.rule_id, tuple(alert.key)))
            if page.next_cursor is None:
                return sorted(found)
            cursor = page.next_cursor
    finally:
        pipeline.close()


def replayed(
    home: Path, events: list[dict[str, Any]], until: float, capsys: pytest.CaptureFixture[str]
) -> list[tuple[Any, ...]]:
    """`alertd test-rule --format json --until` on the same events."""
    path = home / "events.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    capsys.readouterr()
    code = main(
        [
            "test-rule",
            "-c",
            str(home / "alertd.toml"),
            str(home / "rules"),
            "--events",
            str(path),
            "--format",
            "json",
            "--until",
            format_time(until),
        ]
    )
    assert code == 0
    found: list[tuple[Any, ...]] = []
    for line in capsys.readouterr().out.splitlines():
        row = json.loads(line)
        kind = row.get("decision")
        if kind == "fired":
            time = events[row["event"]]["timestamp"] if row["event"] is not None else row["at"]
            if isinstance(time, str):
                time = load_time(time)
            found.append(("fired", row["rule"], tuple(row["key"]), time))
        elif kind == "resolved":
            found.append(("resolved", row["rule"], tuple(row["key"])))
    return sorted(found)


def load_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_live_run_and_its_replay_decide_the_same(
    tmp_path: Path, seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fleet.rules").write_text(RULES)
    (tmp_path / "alertd.toml").write_text(
        f"""[rules]
paths = ["rules"]
templates = "{REPO / "templates"}"
[state]
path = "var/alertd.db"
[dispatch]
dry_run = true
"""
    )
    events = stream(seed)
    until = events[-1]["timestamp"] + 3600
    from_live = await live(tmp_path, events, until)
    from_replay = replayed(tmp_path, events, until, capsys)
    kinds = Counter((row[0], row[1]) for row in from_live)
    # The stream exercises every rule: silences, held engines, crossings, breakdowns resolved.
    assert {rule for _, rule in kinds} == {
        "vehicle_silent",
        "engine_overheat",
        "fuel_low",
        "breakdown",
    }, kinds
    assert kinds["resolved", "vehicle_silent"] and kinds["resolved", "breakdown"], kinds
    assert from_live == from_replay
