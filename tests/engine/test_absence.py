"""Absent rules through the engine and the timer service, on a fake clock and both stores:
a silent key fires once, speaks and resolves, is forgotten; deadlines are durable timers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from alertd.clock import FakeClock, SteadyClock
from alertd.dsl import compile_text
from alertd.engine.absence import ABSENT, timer_ref
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore, Timer
from alertd.engine.verdicts import details
from alertd.incidents.timers import Timers
from alertd.model import Decision
from tests.engine.builders import T0

SILENT = """
rule vehicle_silent {
  name "Vehicle silent"
  when type == "location"
  absent 15m by vehicle
  forget 1d
}
"""


class Fleet:
    """An engine with the absent rule, a fake clock that reads event time, and the timer
    service, as the daemon wires them: timers run as the clock passes their due."""

    def __init__(self, store: StateStore, clock: FakeClock | None = None, started: float = -1e18):
        self.store = store
        self.clock = clock or FakeClock(T0)
        self.timers = Timers(store, SteadyClock(self.clock))
        self.engine = Engine(
            RuleSet(compile_text(SILENT)), store, timers=self.timers, started=started
        )
        self.fired: list[Decision] = []
        self.timers.handle(ABSENT, self._due)
        self.index = 0
        self.runs = 0  # timers run

    def _due(self, timer: Timer) -> list[Any]:
        self.runs += 1
        decision = self.engine.absence_due(timer)
        if decision is not None:
            self.fired.append(decision)
        return []

    def at(self, seconds: float) -> None:
        """Move the clock to T0 + seconds, running each timer at its due, in order."""
        target = T0 + seconds
        while (due := self.timers.next_due()) is not None and due <= target:
            self.clock.advance(max(0.0, due - self.clock.now()))
            with self.store.transaction():
                self.timers.run_due(self.clock.now(), 100)
        self.clock.advance(max(0.0, target - self.clock.now()))

    def seen(self, vehicle: str, at: float) -> list[str]:
        """A location event of `vehicle` at T0 + at (the clock moved there first)."""
        self.at(at)
        event = {"type": "location", "vehicle": vehicle, "timestamp": T0 + at}
        with self.store.transaction():
            decisions = self.engine.process(event, self.clock.now(), self.index)
        self.index += 1
        return [f"{d.kind}" for d in decisions]

    def fires(self) -> list[tuple[tuple[Any, ...], float]]:
        return [(d.key, d.event_time - T0) for d in self.fired]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    made: StateStore = (
        MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    )
    yield made
    made.close()


def test_a_key_silent_for_the_duration_fires_once(store: StateStore) -> None:
    fleet = Fleet(store)
    assert fleet.seen("v1", 0) == ["counting"]
    fleet.at(899)
    assert fleet.fired == []
    fleet.at(900)
    assert fleet.fires() == [(("v1",), 900)]
    fleet.at(3 * 3600)
    assert len(fleet.fired) == 1  # once per silence


def test_a_match_says_its_keys_deadline_from_the_newest_match(store: StateStore) -> None:
    """What `--explain` and POST /v1/explain show after a match: `absent deadline ...`, 15m
    after the key's newest match, which a late match does not move."""
    fleet = Fleet(store)
    rule = fleet.engine.rules.by_id["vehicle_silent"]

    def deadline(at: float) -> list[tuple[str, str]]:
        fleet.at(max(at, fleet.clock.now() - T0))
        event = {"type": "location", "vehicle": "v1", "timestamp": T0 + at}
        with store.transaction():
            (decision,) = fleet.engine.process(event, fleet.clock.now())
        return [(d.name, d.text) for d in details(rule, decision, store)]

    assert deadline(0) == [("absent_deadline", "absent deadline 2026-01-01T00:15:00Z")]
    assert deadline(600) == [("absent_deadline", "absent deadline 2026-01-01T00:25:00Z")]
    assert deadline(300) == [("absent_deadline", "absent deadline 2026-01-01T00:25:00Z")]


def test_a_late_match_of_a_silent_key_shows_no_deadline(store: StateStore) -> None:
    """The key fell silent (its alert is open); a match older than its newest changes nothing,
    so there is no deadline to show: not one from the late match's own time, long past."""
    fleet = Fleet(store)
    rule = fleet.engine.rules.by_id["vehicle_silent"]

    def shown(at: float) -> tuple[str, list[tuple[str, str]]]:
        event = {"type": "location", "vehicle": "v1", "timestamp": T0 + at}
        with store.transaction():
            (decision,) = fleet.engine.process(event, fleet.clock.now())
        return decision.kind, [(d.name, d.text) for d in details(rule, decision, store)]

    shown(600)
    fleet.at(1800)
    assert fleet.fires() == [(("v1",), 1500)]
    assert shown(300) == ("counting", [])  # late: v1 is still silent, its alert open
    assert shown(1800) == (
        "resolved",
        [("absent_deadline", "absent deadline 2026-01-01T00:45:00Z")],
    )


def test_each_match_moves_the_deadline(store: StateStore) -> None:
    fleet = Fleet(store)
    for at in (0, 300, 600, 1000):
        fleet.seen("v1", at)
    fleet.at(1899)
    assert fleet.fired == []
    fleet.at(1900)
    assert fleet.fires() == [(("v1",), 1900)]


def test_a_key_that_keeps_speaking_costs_one_timer_run_per_duration(store: StateStore) -> None:
    fleet = Fleet(store)
    for at in range(0, 3600, 10):
        fleet.seen("v1", at)
    assert fleet.fired == []
    assert fleet.runs == 4  # at 15m, 29m50s, 44m40s, 59m30s: each time set for 15m after
    timer = store.get_timer(ABSENT, timer_ref("vehicle_silent", ("v1",)))
    assert timer is not None
    assert timer.due == T0 + 3560 + 900  # the newest match the last run saw, plus 15m


def test_the_next_match_resolves_the_silence_and_watches_again(store: StateStore) -> None:
    fleet = Fleet(store)
    fleet.seen("v1", 0)
    fleet.at(1000)
    (fired,) = fleet.fired
    assert fired.alert is not None
    resolved = fleet.engine.process(
        {"type": "location", "vehicle": "v1", "timestamp": T0 + 1200}, T0 + 1200, 1
    )
    assert [(d.kind, d.alert_id) for d in resolved] == [("resolved", fired.alert.id)]
    fleet.at(2099)
    assert len(fleet.fired) == 1
    fleet.at(2100)
    assert fleet.fires()[1] == (("v1",), 2100)


def test_keys_are_watched_apart(store: StateStore) -> None:
    fleet = Fleet(store)
    fleet.seen("v1", 0)
    fleet.seen("v2", 600)
    fleet.at(2000)
    assert fleet.fires() == [(("v1",), 900), (("v2",), 1500)]


def test_a_late_match_changes_nothing(store: StateStore) -> None:
    fleet = Fleet(store)
    fleet.seen("v1", 600)
    event = {"type": "location", "vehicle": "v1", "timestamp": T0 + 100}
    assert [d.kind for d in fleet.engine.process(event, T0 + 600, 1)] == ["counting"]
    fleet.at(1499)
    assert fleet.fired == []
    fleet.at(1500)
    assert fleet.fires() == [(("v1",), 1500)]


def test_a_silent_key_is_forgotten_with_its_timer(store: StateStore) -> None:
    fleet = Fleet(store)
    fleet.seen("v1", 0)
    fleet.at(86_400)
    assert len(fleet.fired) == 1
    assert store.absences("vehicle_silent").get(("v1",)) is None
    assert fleet.timers.next_due() is None
    # Speaking again after that is a new key: nothing to resolve.
    assert fleet.seen("v1", 90_000) == ["counting"]


def test_the_alert_of_a_silence_carries_the_last_match(store: StateStore) -> None:
    fleet = Fleet(store)
    fleet.seen("v1", 0)
    fleet.at(900)
    (fired,) = fleet.fired
    assert fired.alert is not None
    assert fired.alert.event == {"type": "location", "vehicle": "v1", "timestamp": T0}
    assert fired.alert.rule_name == "Vehicle silent"
    record = store.get_alert(fired.alert.id)
    assert record is not None and record.status == "firing"


@contextmanager
def restarted(tmp_path: Path, down: float) -> Iterator[Fleet]:
    """v1 seen at T0 by a daemon that then stops; the fleet of another, started `down`
    seconds later on the same state file."""
    clock = FakeClock(T0)
    store = SQLiteStore(tmp_path / "s.db")
    Fleet(store, clock).seen("v1", 0)
    store.close()
    clock.advance(down)
    store = SQLiteStore(tmp_path / "s.db")
    try:
        yield Fleet(store, clock, started=clock.now())
    finally:
        store.close()


def test_a_deadline_that_passed_while_down_waits_one_more_duration(tmp_path: Path) -> None:
    with restarted(tmp_path, 3600) as fleet:  # down for an hour: the deadline at 15m passed
        fleet.at(3600 + 899)
        assert fleet.fired == []
        fleet.at(3600 + 900)
        assert fleet.fires() == [(("v1",), 4500)]
        fleet.at(10 * 3600)
        assert len(fleet.fired) == 1


def test_a_silence_that_passed_with_its_forget_while_down_fires_before_it_is_forgotten(
    tmp_path: Path,
) -> None:
    """Down for two days, past both the deadline (15m) and `forget` (1d): the silence was
    never told, so it fires (one more DURATION from the start), once; then the key goes."""
    with restarted(tmp_path, 2 * 86400) as fleet:
        fleet.at(2 * 86400 + 899)
        assert fleet.fired == []
        fleet.at(2 * 86400 + 900)
        assert fleet.fires() == [(("v1",), 2 * 86400 + 900)]
        fleet.at(4 * 86400)
        assert len(fleet.fired) == 1
        assert fleet.store.size().absences == 0  # forgotten once told


def test_a_sweep_before_a_silence_told_late_keeps_its_key(tmp_path: Path) -> None:
    """As above, with a sweep between the start and the deadline (other vehicles' events move
    its horizon past the key's `forget`): the key stays until its silence is told."""
    with restarted(tmp_path, 2 * 86400) as fleet:
        fleet.seen("v2", 2 * 86400 + 10)  # the overdue timer runs first, then v2 speaks
        fleet.engine.sweep(T0 + 2 * 86400 + 10)
        fleet.at(2 * 86400 + 900)
        assert fleet.fires() == [(("v1",), 2 * 86400 + 900)]


def test_a_deadline_still_ahead_at_a_restart_is_kept(tmp_path: Path) -> None:
    with restarted(tmp_path, 600) as fleet:
        fleet.at(900)
        assert fleet.fires() == [(("v1",), 900)]


def test_changed_in_an_absent_rule_compares_each_key_of_its_by_with_itself() -> None:
    """`absent 2h by vehicle_id` with `when changed(odometer_km)` (docs/rules.md): without a
    rule-level `by`, the absent clause's keys are the rule's, so one vehicle's reading is never
    compared with another's (a stuck vehicle kept alive by a moving one would never page)."""
    rules = compile_text(
        "rule odometer_stuck {\n  when changed(odometer_km)\n  absent 2h by vehicle_id\n}\n"
    )
    engine = Engine(RuleSet(rules), MemoryStore())
    readings = [("A", 100), ("B", 500), ("A", 110), ("B", 500), ("A", 110), ("B", 510)]
    kinds = []
    for index, (vehicle, odometer) in enumerate(readings):
        event = {"vehicle_id": vehicle, "odometer_km": odometer, "timestamp": T0 + index}
        kinds.append([(d.kind, d.key) for d in engine.process(event, T0 + index, index)])
    assert kinds == [[], [], [("counting", ("A",))], [], [], [("counting", ("B",))]]
