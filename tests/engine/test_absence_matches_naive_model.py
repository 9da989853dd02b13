"""Differential test: absent rules, run by the engine with the timer service on a fake clock,
decide on random streams (events out of order, some without a timestamp, the clock moved on
between them so that timers run in between) exactly as a naive model that keeps every match
and recomputes each answer from the definitions in docs/rules.md; on both stores, with
sweeps, and with the SQLite store closed and reopened between steps."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st

from alertd.clock import FakeClock, SteadyClock
from alertd.dsl import compile_text
from alertd.dsl.explain import explain, kept_values
from alertd.engine.absence import ABSENT
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore, Timer
from alertd.incidents.timers import Timers
from alertd.model import Decision, Rule
from tests.engine.builders import T0
from tests.engine.differential import Step, drive

CONDITIONS = ['type == "a"', 'type == "a" and n >= 1', "changed(n)", "n >= 2"]
CLAUSES = [
    "absent 20s",
    "absent 20s by k",
    "by k\n  absent 60s\n  forget 90s",
    "absent 30s by k\n  forget 45s",
]


@st.composite
def rules(draw: st.DrawFn) -> list[Rule]:
    parts = []
    for number in range(draw(st.integers(1, 3))):
        condition = draw(st.sampled_from(CONDITIONS))
        clauses = draw(st.sampled_from(CLAUSES))
        parts.append(f"rule r{number} {{\n  when {condition}\n  {clauses}\n}}")
    return compile_text("\n".join(parts))


@st.composite
def steps(draw: st.DrawFn) -> list[Step]:
    made: list[Step] = []
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.integers(0, 3)) == 0:
            made.append(("wait", float(draw(st.sampled_from([1, 10, 20, 29, 30, 45, 100]))), None))
            continue
        event: dict[str, Any] = {"type": draw(st.sampled_from(["a", "b"]))}
        n = draw(st.sampled_from([0, 1, 2, 3, None, "absent"]))
        if n != "absent":
            event["n"] = n
        event["k"] = draw(st.sampled_from(["v1", "v2"]))
        lateness = float(draw(st.sampled_from([0, 0, 0, 5, 25, None])) or 0)
        if draw(st.integers(0, 9)) == 0:
            lateness = -1.0  # no timestamp: the clock's time
        made.append(("event", lateness, event))
    return made


def as_tuple(decision: Decision) -> tuple[Any, ...]:
    return (
        decision.event_index,
        decision.rule_id,
        decision.kind,
        decision.key,
        decision.event_time,
    )


class Compiled:
    """The engine and timer service as the daemon wires them, on a fake clock."""

    def __init__(self, open_store: Callable[[], StateStore], rules: list[Rule]) -> None:
        self.open_store = open_store
        self.rules = rules
        self.clock = FakeClock(T0)
        self.timer_decisions: list[Decision] = []
        self.open: dict[tuple[str, tuple[Any, ...]], str] = {}  # the alerts fired, by key
        self.store = open_store()
        self._wire()

    def _wire(self) -> None:
        self.timers = Timers(self.store, SteadyClock(self.clock))
        self.engine = Engine(RuleSet(self.rules), self.store, timers=self.timers)
        self.timers.handle(ABSENT, self._due)

    def reopen(self) -> None:
        self.store.close()
        self.store = self.open_store()
        self._wire()

    def _due(self, timer: Timer) -> list[Any]:
        decision = self.engine.absence_due(timer)
        if decision is not None:
            assert decision.alert is not None
            self.open[decision.rule_id, decision.key] = decision.alert.id
            self.timer_decisions.append(decision)
        return []

    def run_until(self, time: float) -> list[tuple[Any, ...]]:
        while (due := self.timers.next_due()) is not None and due <= time:
            self.clock.advance(max(0.0, due - self.clock.now()))
            with self.store.transaction():
                self.timers.run_due(self.clock.now(), 100)
        self.clock.advance(max(0.0, time - self.clock.now()))
        made, self.timer_decisions = self.timer_decisions, []
        return sorted(as_tuple(d) for d in made)  # equal dues run in no promised order

    def process(self, event: dict[str, Any], index: int) -> list[tuple[Any, ...]]:
        with self.store.transaction():
            decisions = self.engine.process(event, self.clock.now(), index)
        for decision in decisions:
            if decision.kind == "resolved":  # of the alert its key's silence fired
                assert decision.alert_id == self.open.pop((decision.rule_id, decision.key))
        return [as_tuple(d) for d in decisions]


@dataclass
class Match:
    time: float
    late: bool


class Naive:
    """Every match of every key, kept; each answer recomputed by scanning them."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.matches: dict[tuple[str, tuple[Any, ...]], list[Match]] = {}
        self.fired: dict[tuple[str, tuple[Any, ...]], float] = {}  # open silences: when
        self.scope: dict[tuple[str, tuple[Any, ...]], list[tuple[float, dict[str, Any]]]] = {}
        self.clock = T0

    def newest(self, where: tuple[str, tuple[Any, ...]]) -> float | None:
        times = [m.time for m in self.matches.get(where, []) if not m.late]
        return max(times) if times else None

    def run_until(self, time: float) -> list[tuple[Any, ...]]:
        made = []
        while True:
            due = []
            for (rule_id, key), _ in self.matches.items():
                rule = next(r for r in self.rules if r.id == rule_id)
                assert rule.absent is not None
                last = self.newest((rule_id, key))
                if last is None:
                    continue
                forget_at = last + rule.absent.forget
                if (rule_id, key) not in self.fired:
                    deadline = last + rule.absent.duration
                    if deadline <= time and deadline < forget_at:
                        due.append((deadline, rule_id, key, "fire"))
                if forget_at <= time:
                    due.append((forget_at, rule_id, key, "forget"))
            if not due:
                break
            when, rule_id, key, what = min(due)
            self.clock = max(self.clock, when)
            if what == "fire":
                self.fired[rule_id, key] = when
                made.append((None, rule_id, "fired", key, when))
            else:
                del self.matches[rule_id, key]
                self.fired.pop((rule_id, key), None)
        self.clock = max(self.clock, time)
        return sorted(made)

    def process(self, event: dict[str, Any], time: float, index: int) -> list[tuple[Any, ...]]:
        decided = []
        for rule in self.rules:
            if rule.event_types is not None and event.get("type") not in rule.event_types:
                continue
            if not self._matches(rule, event, time):
                continue
            assert rule.absent is not None
            key = rule.absent.key(event)
            where = (rule.id, key)
            last = self.newest(where)
            if last is not None and time < last:
                self.matches[where].append(Match(time, late=True))
                decided.append((index, rule.id, "counting", key, time))
                continue
            self.matches.setdefault(where, []).append(Match(time, late=False))
            if self.fired.pop(where, None) is not None:
                decided.append((index, rule.id, "resolved", key, time))
            else:
                decided.append((index, rule.id, "counting", key, time))
        return decided

    def _matches(self, rule: Rule, event: dict[str, Any], time: float) -> bool:
        """The condition, by the reference interpreter; prev() from the newest event of the
        scope with the rule's key (late ones aside), as tests/engine/naive_sequence.py."""
        if rule.sequence is None:
            return bool(rule.condition(event))
        key = rule.key(event)
        seen = self.scope.setdefault((rule.id, key), [])
        newest = None
        for pair in seen:  # the newest; of equal times, the last to arrive
            if newest is None or pair[0] >= newest[0]:
                newest = pair
        if newest is not None and time >= newest[0] + rule.sequence.forget:
            seen.clear()
            newest = None
        late = newest is not None and time < newest[0]
        previous = None if newest is None or late else kept_values(rule, newest[1])
        explanation = explain(rule, event, previous)
        assert explanation is not None
        if not late:
            seen.append((time, event))
        return explanation.matched


@settings(max_examples=100)
@given(rules=rules(), stream=steps(), sweep=st.booleans())
def test_engine_and_timers_decide_like_the_naive_model(
    rules: list[Rule], stream: list[Step], sweep: bool
) -> None:
    assert_same_decisions(MemoryStore, rules, stream, sweep)


@settings(max_examples=15)
@given(rules=rules(), stream=steps(), reopen_every=st.sampled_from([1, 4]))
def test_on_sqlite_across_restarts_too(
    rules: list[Rule], stream: list[Step], reopen_every: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.db"
        assert_same_decisions(lambda: SQLiteStore(path), rules, stream, True, reopen_every)


def assert_same_decisions(
    open_store: Callable[[], StateStore],
    rules: list[Rule],
    stream: list[Step],
    sweep: bool,
    reopen_every: int = 0,
) -> None:
    for rule in rules:
        absent = rule.absent
        assert absent is not None
        note(f"{rule.id}: {rule.condition_source}; {absent.duration} by {absent.key_source}")
    note(f"steps: {stream}")
    drive(Compiled(open_store, rules), Naive(rules), stream, sweep=sweep, reopen_every=reopen_every)
