"""The SQLite store keeps rules' key states (prev(), `for`) as a log of batches, compacted into
snapshots (alertd.engine.key_state_log): what a decision after a restart depends on must be
in it, kill -9 included, and neither compaction, the sweep nor a dropped rule may bring back
or lose a state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from alertd.dsl import compile_text
from alertd.engine import key_state_log
from alertd.engine.engine import Engine
from alertd.engine.expiry import Expiry
from alertd.engine.ruleset import RuleSet
from alertd.engine.sequence import states_id
from alertd.engine.sqlite_store import SQLiteStore
from tests.engine.builders import T0

FUEL_LOW = """
rule fuel_low {
  when type == "fuel" and fuel < 10 and prev(fuel) >= 10
  by vehicle
  forget 1h
}
"""


def table(rules: str, rule_id: str) -> str:
    """The name of the rule's table of key states (by its id and its prev() arguments)."""
    (rule,) = [rule for rule in compile_text(rules) if rule.id == rule_id]
    return states_id(rule)


FUEL_LOW_STATES = table(FUEL_LOW, "fuel_low")

OVERHEAT = """
rule engine_overheat {
  when type == "engine" and coolant_c > 110
  by vehicle
  for 2m
}
"""


def event(kind: str, field: str, value: Any, at: float, vehicle: str = "v1") -> dict[str, Any]:
    return {"type": kind, field: value, "vehicle": vehicle, "timestamp": T0 + at}


def decide(store: SQLiteStore, rules: str, *events: dict[str, Any]) -> list[str]:
    engine = Engine(RuleSet(compile_text(rules)), store)
    return [f"{d.event_index}:{d.kind}" for d in engine.process_batch(list(events), T0 + 3600)]


def killed_after(path: Path, rules: str, *events: dict[str, Any]) -> None:
    """A process takes the events as one batch, committed, and is killed (-9) at once: no
    close, nothing written after the commit."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from alertd.dsl import compile_text
        from alertd.engine.engine import Engine
        from alertd.engine.ruleset import RuleSet
        from alertd.engine.sqlite_store import SQLiteStore
        store = SQLiteStore({str(path)!r})
        engine = Engine(RuleSet(compile_text({rules!r})), store)
        engine.process_batch({list(events)!r}, {T0 + 3600!r})
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True)
    assert done.returncode == -9, done.stderr.decode()


def test_a_for_run_start_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    # The run starts at 0 and holds at 60; the state written for 60 moves only `newest`.
    killed_after(
        path, OVERHEAT, event("engine", "coolant_c", 115, 0), event("engine", "coolant_c", 116, 60)
    )
    store = SQLiteStore(path)
    try:
        assert decide(store, OVERHEAT, event("engine", "coolant_c", 117, 125)) == ["0:fired"]
    finally:
        store.close()


def test_the_newest_event_survives_kill_9_when_nothing_else_moved(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    killed_after(path, FUEL_LOW, event("fuel", "fuel", 12, 0), event("fuel", "fuel", 12, 60))
    store = SQLiteStore(path)
    try:
        # Older than the newest (60): late, so no previous event, no crossing. Had only the
        # event at 0 been kept, it would be compared with 12 and fire.
        assert decide(store, FUEL_LOW, event("fuel", "fuel", 9, 30)) == []
        assert decide(store, FUEL_LOW, event("fuel", "fuel", 9, 90)) == ["0:fired"]
    finally:
        store.close()


def test_compaction_keeps_every_state_and_bounds_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(key_state_log, "COMPACT_MIN", 10)
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    for batch in range(30):
        events = [
            event("fuel", "fuel", 10 + (batch * 7 + v) % 5, batch * 10.0, f"v{v}") for v in range(6)
        ]
        engine.process_batch(events, T0 + 3600)
    kept = dict(store.key_states(FUEL_LOW_STATES).entries)
    (entries,) = store.connection.execute(
        "SELECT sum(json_array_length(value, '$[1]')) FROM key_state_log, json_each(entries)"
    ).fetchone()
    store.close()
    assert len(kept) == 6
    assert entries <= key_state_log.COMPACT * 6 + 6  # compacted, not 180 entries
    store = SQLiteStore(path)
    try:
        assert dict(store.key_states(FUEL_LOW_STATES).entries) == kept
    finally:
        store.close()


def test_a_key_swept_stays_forgotten_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    engine.process_batch([event("fuel", "fuel", 12, 0), event("fuel", "fuel", 12, 0, "v2")], T0)
    engine.process_batch([event("fuel", "fuel", 12, 3000, "v2")], T0 + 3000)
    assert engine.sweep(T0 + 3700) == 1  # v1 forgotten (1h), v2 not
    store.close()
    store = SQLiteStore(path)
    try:
        assert set(store.key_states(FUEL_LOW_STATES).entries) == {"v2"}
    finally:
        store.close()


def test_a_dropped_rule_keeps_nothing_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    engine = Engine(RuleSet(compile_text(FUEL_LOW + OVERHEAT)), store)
    engine.process_batch([event("fuel", "fuel", 12, 0), event("engine", "coolant_c", 115, 0)], T0)
    engine.replace_rules(RuleSet(compile_text(OVERHEAT)))
    store.close()
    store = SQLiteStore(path)
    try:
        assert store.size().key_states == 1
        assert store.key_states(FUEL_LOW_STATES).entries == {}
    finally:
        store.close()


def test_rows_written_before_the_log_are_read_and_go_at_the_first_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    before = SQLiteStore(path)
    before.connection.execute(  # as alertd wrote them before the log (autocommit)
        "INSERT INTO key_state VALUES (?, '[\"v1\"]', ?, NULL, '[12]', ?)",
        (FUEL_LOW_STATES, T0, T0 + 3600),
    )
    before.close()
    monkeypatch.setattr(key_state_log, "COMPACT_MIN", 0)
    monkeypatch.setattr(key_state_log, "COMPACT", 0)  # a snapshot at the first write
    store = SQLiteStore(path)
    try:
        assert store.key_states(FUEL_LOW_STATES).get("v1") == (T0, None, 12, T0 + 3600)  # held bare
        assert decide(store, FUEL_LOW, event("fuel", "fuel", 9, 60)) == ["0:fired"]
        assert store.connection.execute("SELECT count(*) FROM key_state").fetchone() == (0,)
    finally:
        store.close()
    store = SQLiteStore(path)
    try:
        assert store.key_states(FUEL_LOW_STATES).get("v1") == (T0 + 60, T0 + 60, 9, T0 + 3660)
    finally:
        store.close()


def test_a_log_written_with_every_key_a_list_reads_as_the_same_keys(tmp_path: Path) -> None:
    # The log as alertd wrote it before one-part keys were held bare (and still writes keys of
    # more than one part): each key a JSON list, a state forgotten as null.
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    before = SQLiteStore(path)
    entries = [
        [
            FUEL_LOW_STATES,
            [[["v1"], [T0, None, [12], T0 + 3600]], [["v2"], [T0, None, [15], T0 + 3600]]],
        ],
        [FUEL_LOW_STATES, [[["v2"], None]]],
    ]
    before.connection.execute(
        "INSERT INTO key_state_log (entries) VALUES (?)", (json.dumps(entries),)
    )
    before.close()
    store = SQLiteStore(path)
    try:
        assert store.key_states(FUEL_LOW_STATES).entries == {"v1": (T0, None, 12, T0 + 3600)}
        assert decide(store, FUEL_LOW, event("fuel", "fuel", 9, 60)) == ["0:fired"]
    finally:
        store.close()


@pytest.mark.parametrize("vehicle", ["v1", 7, None, ["v", 1], {"fleet": "north"}])
def test_keys_of_one_part_and_of_two_survive_a_restart(tmp_path: Path, vehicle: Any) -> None:
    two = FUEL_LOW.replace("fuel_low", "fuel_low_at").replace("by vehicle", "by vehicle, depot")
    rules = FUEL_LOW + two
    path = tmp_path / "s.db"
    first = {**event("fuel", "fuel", 12, 0, vehicle=vehicle), "depot": "d1"}
    killed_after(path, rules, first)
    store = SQLiteStore(path)
    try:
        crossing = {**event("fuel", "fuel", 9, 60, vehicle=vehicle), "depot": "d1"}
        assert decide(store, rules, crossing) == ["0:fired", "0:fired"]
    finally:
        store.close()


class _Table:
    kind = "key_state"
    rule_id = "r"

    def __init__(self) -> None:
        self.entries: dict[Any, Any] = {}


def test_a_moved_kind_keeps_one_note_per_entry_that_follows_it() -> None:
    table = _Table()
    expiry: Expiry[_Table] = Expiry({"key_state": lambda state: state[3]}, moved=("key_state",))
    table.entries[("v1",)] = (0.0, None, (), 100.0)
    expiry.note(table, ("v1",), 100.0)  # noted once, when made
    for newest in range(10, 500, 10):  # written again and again: not noted again
        table.entries[("v1",)] = (float(newest), None, (), newest + 100.0)
    assert expiry.take(150.0, None, lambda t: True) == []  # its note moved to 590
    assert expiry.take(589.0, None, lambda t: True) == []
    assert len(expiry) == 1
    assert expiry.take(590.0, None, lambda t: True) == [(table, ("v1",))]


def test_a_key_written_on_every_event_is_swept_once_forgotten(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    engine = Engine(RuleSet(compile_text(FUEL_LOW)), store)
    try:
        for at in range(0, 600, 10):
            engine.process_batch([event("fuel", "fuel", 12, at)], T0 + at)
        assert engine.sweep(T0 + 3600) == 0  # newest at 590: forgotten at 4190
        assert engine.sweep(T0 + 4189) == 0
        assert engine.sweep(T0 + 4190) == 1
        assert store.size().key_states == 0
    finally:
        store.close()


SILENT = """
rule silent {
  when type == "location_update"
  absent 15m by vehicle
  forget 1h
}
"""


def test_a_watched_vehicle_keeps_one_expiry_note_and_is_forgotten_after_its_newest(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    engine = Engine(RuleSet(compile_text(SILENT)), store)
    try:
        for at in range(0, 600, 10):
            engine.process_batch([event("location_update", "speed", 50, at)], T0 + at)
        assert store._expiry is not None and len(store._expiry) == 1  # was a note per event
        assert engine.sweep(T0 + 590 + 3599) == 0  # newest at 590: forgotten an hour after
        assert engine.sweep(T0 + 590 + 3600) == 1
        assert store.size().absences == 0
    finally:
        store.close()


CHANGED_TAGS = """
rule tags_changed {
  when type == "tags" and changed(tags)
  by vehicle
}
"""

TWO_KEPT = """
rule both_dropped {
  when type == "tags" and prev(fuel) > fuel and prev(tags) != tags
  by vehicle
}
"""


@pytest.mark.parametrize("snapshot", [False, True])
@pytest.mark.parametrize(
    ("value", "changed"),
    [(["a", "b"], ["a"]), ([], ["a"]), ({"a": 1}, {"a": 2}), (7, 8), ("x", "y"), ([["n"]], [])],
)
def test_kept_values_of_every_kind_survive_kill_9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: Any, changed: Any, snapshot: bool
) -> None:
    """One kept value is held bare (alertd.engine.sequence.hold_kept), the log writes it as a
    JSON list: a list value must come back as that list, not as several values."""
    if snapshot:
        monkeypatch.setattr(key_state_log, "COMPACT_MIN", 0)
        monkeypatch.setattr(key_state_log, "COMPACT", 0)
    path = tmp_path / "s.db"
    first = {"type": "tags", "tags": value, "fuel": 50, "vehicle": "v1", "timestamp": T0}
    killed_after(path, CHANGED_TAGS + TWO_KEPT, first)
    store = SQLiteStore(path)
    try:
        forgotten = T0 + 7 * 86400
        tags = store.key_states(table(CHANGED_TAGS, "tags_changed"))
        assert tags.get("v1") == (T0, None, value, forgotten)
        both = store.key_states(table(TWO_KEPT, "both_dropped"))
        assert both.get("v1") == (T0, None, (50, value), forgotten)
        same = {**first, "fuel": 40, "timestamp": T0 + 60}
        other = {**first, "tags": changed, "fuel": 30, "timestamp": T0 + 120}
        fired = decide(store, CHANGED_TAGS + TWO_KEPT, same, other)
        assert fired == ["1:fired", "1:fired"]  # both rules, at the change alone
    finally:
        store.close()
