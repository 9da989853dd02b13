"""Differential test of every rule over time at once: `absent`, `for`, `prev()` and `changed()`
rules in one rule set, run by the engine with the timer service on a fake clock, decide on
random streams (events out of order, some without a timestamp, the clock moved on between them
so that absent deadlines fall due between events) exactly as the naive models do: the absence
model of tests/engine/test_absence_matches_naive_model.py for the absent rules, the sequence
model of tests/engine/naive_sequence.py for the others, each keeping every event and
recomputing its answers from docs/rules.md. On both stores, with sweeps, and with the SQLite
store closed and reopened between steps. (The two other files test each kind apart, with
more examples; this one tests that they do not disturb each other.)"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st

from alertd.dsl import compile_text
from alertd.engine.memory_store import MemoryStore
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore
from alertd.model import Decision, Rule
from tests.engine.differential import Step, drive
from tests.engine.naive_engine import NaiveDecision
from tests.engine.naive_sequence import NaiveSequenceEngine
from tests.engine.test_absence_matches_naive_model import Compiled, Naive

ABSENT_RULES = [
    'type == "a"\n  absent 20s by k',
    "changed(n)\n  absent 30s by k\n  forget 45s",
    'type == "a" and prev(n) != null\n  by k\n  absent 60s\n  forget 90s',
    "n >= 2\n  absent 20s",
]
OTHER_RULES = [
    'type == "a" and n < 2 and prev(n) >= 2\n  by k',  # a crossing
    "changed(d)\n  by k\n  suppress 20s",
    'type == "a" and n >= 1\n  by k\n  for 10s',
    "n >= 2\n  for 30s\n  forget 45s",
    'type == "b" and prev(d) != d\n  count 2 within 30s',
    "n >= 1",  # no prev(): a plain rule among them
]

Seen = tuple[Any, ...]
"""A decision as both sides give it: (event index, rule, kind, key, event time, suppressed
until, count, suppressed count); a silence's event index is None."""


@st.composite
def rules(draw: st.DrawFn) -> list[Rule]:
    chosen = [draw(st.sampled_from(ABSENT_RULES)), draw(st.sampled_from(OTHER_RULES))]
    for _ in range(draw(st.integers(0, 2))):
        chosen.append(draw(st.sampled_from(ABSENT_RULES + OTHER_RULES)))
    order = draw(st.permutations(range(len(chosen))))
    return compile_text(
        "\n".join(f"rule r{n} {{\n  when {chosen[i]}\n}}" for n, i in enumerate(order))
    )


@st.composite
def steps(draw: st.DrawFn) -> list[Step]:
    made: list[Step] = []
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.integers(0, 3)) == 0:
            made.append(
                ("wait", float(draw(st.sampled_from([1, 5, 10, 20, 29, 30, 45, 100]))), None)
            )
            continue
        event: dict[str, Any] = {"type": draw(st.sampled_from(["a", "b"]))}
        n = draw(st.sampled_from([0, 1, 2, 3, 3, "2", None, "absent"]))
        if n != "absent":
            event["n"] = n
        d = draw(st.sampled_from(["x", "x", "y", None, "absent"]))
        if d != "absent":
            event["d"] = d
        event["k"] = draw(st.sampled_from(["v1", "v2"]))
        lateness = float(draw(st.sampled_from([0, 0, 0, 5, 25])))
        if draw(st.integers(0, 9)) == 0:
            lateness = -1.0  # no timestamp: the clock's time
        made.append(("event", lateness, event))
    return made


def seen(decision: Decision) -> Seen:
    alert = decision.alert
    return (
        decision.event_index,
        decision.rule_id,
        decision.kind,
        decision.key,
        decision.event_time,
        decision.suppressed_until,
        decision.count,
        None if alert is None or decision.event_index is None else alert.suppressed_count,
    )


def seen_naive(decision: NaiveDecision) -> Seen:
    return (
        decision.index,
        decision.rule_id,
        decision.kind,
        decision.key,
        decision.time,
        decision.suppressed_until,
        decision.count,
        decision.suppressed_count,
    )


def silence(made: tuple[Any, ...]) -> Seen:
    """A decision of the absence model, (index, rule, kind, key, time), as `Seen`."""
    return (*made, None, None, None)


class Both:
    """The naive models side by side, each with its own rules; decisions in file order."""

    def __init__(self, rules: list[Rule]) -> None:
        self.position = {rule.id: n for n, rule in enumerate(rules)}
        self.absence = Naive([rule for rule in rules if rule.absent is not None])
        self.others = NaiveSequenceEngine([rule for rule in rules if rule.absent is None])

    def run_until(self, time: float) -> list[Seen]:
        return sorted(silence(made) for made in self.absence.run_until(time))

    def process(self, event: dict[str, Any], time: float, index: int) -> list[Seen]:
        # `time` is the event's arrival too: the clock's time, when it has no timestamp.
        made = [silence(d) for d in self.absence.process(event, time, index)]
        made += [seen_naive(d) for d in self.others.process(event, time, index)]
        return sorted(made, key=lambda d: self.position[d[1]])  # one decision per rule


class Live(Compiled):
    """The engine and timer service as the daemon wires them (the absence test's), every
    decision kept whole."""

    def run_until(self, time: float) -> list[Seen]:
        before = len(self.timer_decisions)
        assert before == 0
        while (due := self.timers.next_due()) is not None and due <= time:
            self.clock.advance(max(0.0, due - self.clock.now()))
            with self.store.transaction():
                self.timers.run_due(self.clock.now(), 100)
        self.clock.advance(max(0.0, time - self.clock.now()))
        made, self.timer_decisions = self.timer_decisions, []
        return sorted(seen(d) for d in made)  # equal dues run in no promised order

    def process(self, event: dict[str, Any], index: int) -> list[Seen]:
        with self.store.transaction():
            decisions = self.engine.process(event, self.clock.now(), index)
        for decision in decisions:
            if decision.kind == "resolved":  # of the alert its key's silence fired
                assert decision.alert_id == self.open.pop((decision.rule_id, decision.key))
        return [seen(d) for d in decisions]


@settings(max_examples=150)
@given(rules=rules(), stream=steps(), sweep=st.booleans())
def test_rules_over_time_together_decide_like_the_naive_models(
    rules: list[Rule], stream: list[Step], sweep: bool
) -> None:
    assert_same_decisions(MemoryStore, rules, stream, sweep)


@settings(max_examples=25)
@given(rules=rules(), stream=steps(), reopen_every=st.sampled_from([1, 4]))
def test_together_on_sqlite_across_restarts_too(
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
        note(f"{rule.id}: {rule.condition_source}")
    note(f"steps: {stream}")
    drive(Live(open_store, rules), Both(rules), stream, sweep=sweep, reopen_every=reopen_every)
