"""What an event would do, asked of the live state (alertd.engine.verdicts `what_if` over
alertd.engine.readonly): the same decisions the engine then makes, and nothing changed."""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alertd.dsl import compile_text, mismatch_counts
from alertd.engine import state
from alertd.engine.engine import Engine
from alertd.engine.errors import InvalidEvent
from alertd.engine.memory_store import MemoryStore
from alertd.engine.readonly import ReadOnlyView
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import Timer
from alertd.engine.verdicts import what_if
from alertd.engine.windows import count_step, count_window
from alertd.model import Rule, SequenceSpec

RULES = """\
rule crit {
  when type == "safety_event" and severity == "critical"
  suppress 5m by vehicle_id
}
rule many {
  when type == "safety_event"
  count 3 within 10m by vehicle_id
}
rule speeding {
  when type == "location_update" and speed_kmh > 120
}
"""
T0 = 1_767_261_600.0  # 2026-01-01T10:00:00Z


def safety(minute: float, severity: str = "critical", vehicle: str = "v1") -> dict[str, Any]:
    return {
        "type": "safety_event",
        "severity": severity,
        "vehicle_id": vehicle,
        "timestamp": T0 + minute * 60,
    }


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    store = SQLiteStore(tmp_path / "state.db")
    engine = Engine(RuleSet(compile_text(RULES)), store)
    for minute in (0, 1):
        with store.transaction():
            engine.process(safety(minute), T0 + 120)
    yield engine
    store.close()


def database(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("suppression", "count_window", "alerts", "timers")
        }


def test_the_live_windows_decide_and_nothing_is_changed(engine: Engine, tmp_path: Path) -> None:
    store = engine.store
    assert isinstance(store, SQLiteStore)
    before = database(tmp_path / "state.db")
    counted = mismatch_counts()
    windows = dict(store.count_windows("many").entries)
    suppressions = dict(store.suppressions("crit").entries)

    asked = what_if(engine, safety(2), T0 + 180)
    shown = {v.rule_id: (v.decision, [d.text for d in v.details]) for v in asked.verdicts}
    assert shown == {
        "crit": ("suppressed", ["suppressed until 2026-01-01T10:05:00Z"]),
        "many": ("fired", ["3 within 10m"]),
    }
    # Asked twice, the same answer: the first changed nothing the second could see.
    again = what_if(engine, safety(2), T0 + 180)
    assert [replace(v, source=None) for v in again.verdicts] == [
        replace(v, source=None) for v in asked.verdicts
    ]
    other = what_if(engine, {"type": "location_update", "speed_kmh": "fast"}, T0 + 180)
    (speeding,) = other.verdicts
    assert speeding.decision == "no_match"
    assert speeding.failures[0].mismatch == "a string compared with a number"

    assert database(tmp_path / "state.db") == before
    assert store.count_windows("many").entries == windows
    assert store.suppressions("crit").entries == suppressions
    assert mismatch_counts() == counted
    assert store.list_alerts(state.AlertQuery()).records[0].alert.fired_at == T0

    # The engine, given the event for real, decides what it was told it would.
    with store.transaction():
        decisions = engine.process(safety(2), T0 + 180)
    assert [(d.rule_id, d.kind) for d in decisions] == [("crit", "suppressed"), ("many", "fired")]


def test_other_rules_can_be_tried_on_the_live_windows_of_their_ids(engine: Engine) -> None:
    edited = RuleSet(
        compile_text(
            'rule many {\n when type == "safety_event"\n count 4 within 10m by vehicle_id\n}'
        )
    )
    (verdict,) = what_if(engine, safety(2), T0 + 180, edited).verdicts
    assert (verdict.decision, verdict.details[0].text) == ("counting", "3 of 4 within 10m")


def test_an_event_the_engine_refuses_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidEvent):
        what_if(engine, {"type": "safety_event", "timestamp": "yesterday"}, T0)
    with pytest.raises(InvalidEvent):
        what_if(engine, ["not", "an", "object"], T0)


def test_writes_to_the_view_stay_in_it(tmp_path: Path) -> None:
    live = SQLiteStore(tmp_path / "state.db")
    with live.transaction():
        live.set_timer(Timer("escalate", "a1", T0 + 60))
    view = ReadOnlyView(live)
    view.set_timer(Timer("escalate", "a2", T0 + 30))
    view.cancel_timer("escalate", "a1")
    assert view.get_timer("escalate", "a1") is None
    assert [t.ref for t in view.due_timers(T0 + 100, 10)] == ["a2"]
    assert live.get_timer("escalate", "a1") is not None
    assert live.get_timer("escalate", "a2") is None
    with live.transaction():
        live.count_windows("many")[("v1",)] = count_window(600.0, [T0], [{"n": 1}])
    seen = view.count_windows("many").get(("v1",))
    assert seen is not None
    seen, _ = count_step(seen, T0 + 1, {"n": 2}, keep=20)  # the window's times change in place
    view.count_windows("many")[("v1",)] = seen
    assert view.count_windows("many").get(("v1",)) == seen
    assert live.count_windows("many").get(("v1",)) == count_window(600.0, [T0], [{"n": 1}])
    assert view.count_windows("many").pop(("v1",), None) == seen
    assert view.count_windows("many").get(("v1",)) is None
    assert live.count_windows("many").get(("v1",)) is not None
    live.close()


def test_the_view_writes_out_every_method_of_the_state_store() -> None:
    """A method added to the StateStore protocol must be added to the view too, reading
    through and keeping writes; a fallback to the live store would write to it."""
    protocol = {
        name
        for cls in (state.WindowStore, state.AlertStore, state.TimerStore, state.StateStore)
        for name, _ in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }
    assert protocol <= set(vars(ReadOnlyView))


def test_a_held_condition_says_how_long_it_has_held() -> None:
    """`for 2m` (built by hand here): a match before the run has lasted 2m is counting, and its
    verdict says for how long it has held."""
    hot = Rule(
        "engine_overheat",
        "Engine overheat",
        condition=lambda event: event.get("coolant_c", 0) > 110,
        event_types=frozenset({"engine_status"}),
        key=lambda event: (event.get("vehicle_id"),),
        sequence=SequenceSpec(lambda event, kept: event.get("coolant_c", 0) > 110, hold=120.0),
    )
    engine = Engine(RuleSet([hot]), MemoryStore())
    status = {"type": "engine_status", "vehicle_id": "v1", "coolant_c": 115}
    engine.process({**status, "timestamp": T0}, T0)
    (verdict,) = what_if(engine, {**status, "timestamp": T0 + 80}, T0 + 80).verdicts
    assert verdict.decision == "counting"
    assert [(d.name, d.value, d.text) for d in verdict.details] == [
        ("held", "1m20s of 2m", "held for 1m20s of 2m")
    ]
    (verdict,) = what_if(engine, {**status, "timestamp": T0 + 120}, T0 + 120).verdicts
    assert (verdict.decision, [d.text for d in verdict.details]) == ("fired", ["held for 2m of 2m"])


def test_an_open_alert_absorbs_and_resolves_in_the_view_and_stays_open(tmp_path: Path) -> None:
    rules = RuleSet(
        compile_text(
            'rule breakdown { when type == "breakdown"\n by vehicle_id\n'
            ' resolve when type == "vehicle_status" and status == "operational" }'
        )
    )
    store = SQLiteStore(tmp_path / "state.db")
    engine = Engine(rules, store)
    with store.transaction():
        (fired,) = engine.process({"type": "breakdown", "vehicle_id": "v1"}, T0)
    assert fired.alert is not None
    again = what_if(engine, {"type": "breakdown", "vehicle_id": "v1"}, T0 + 60)
    assert [(v.rule_id, v.decision) for v in again.verdicts] == [("breakdown", "absorbed")]
    assert [d.text for d in again.verdicts[0].details] == ["folded into the open alert of its key"]
    operational = {"type": "vehicle_status", "vehicle_id": "v1", "status": "operational"}
    resolved = what_if(engine, operational, T0 + 60)
    assert [(v.rule_id, v.decision) for v in resolved.verdicts] == [("breakdown", "resolved")]
    record = store.get_alert(fired.alert.id)
    assert record is not None and record.match_count == 1  # nothing changed in the store
    assert store.open_alerts("breakdown").get(("v1",)) == fired.alert.id
    store.close()
