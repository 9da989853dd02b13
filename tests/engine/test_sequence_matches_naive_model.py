"""Differential test: rules with prev(), changed() and `for`, compiled and run by the engine,
decide on random event streams (out of order, some without a timestamp) exactly as a naive
model that evaluates them with the reference interpreter (tests/engine/naive_sequence.py);
on both stores, with sweeps, and with the SQLite store closed and reopened between events."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore
from alertd.model import Rule
from tests.engine.builders import T0
from tests.engine.naive_sequence import NaiveSequenceEngine
from tests.engine.test_engine_matches_naive_model import ARRIVAL, as_naive

CONDITIONS = [
    'type == "a" and n < 2 and prev(n) >= 2',  # a crossing
    "changed(d)",
    'type == "b" and prev(n) == null',
    'n >= 1 or prev(d) == "x"',
    'type == "a" and changed(n) and prev(d) != d',
    "n >= 2",  # no prev(): a plain rule among them
    'type in ["a", "b"] and prev(n) + 1 > n',
]
WINDOWS = [
    "",
    "\n  suppress 20s",
    "\n  count 2 within 30s",
    "\n  suppress 10s by d",
    "\n  by d",  # the rule's key: one previous event per value of d
    "\n  by k\n  suppress 10s",
]


@st.composite
def rules(draw: st.DrawFn) -> list[Rule]:
    parts = []
    for number in range(draw(st.integers(1, 4))):
        condition = draw(st.sampled_from(CONDITIONS))
        window = draw(st.sampled_from(WINDOWS))
        hold = draw(st.sampled_from(["", "", "\n  for 10s", "\n  for 30s"]))
        forget = ""
        if hold or "prev" in condition or "changed" in condition:
            forget = draw(st.sampled_from(["", "\n  forget 20s", "\n  forget 45s"]))
        clauses = f"{window}{hold}{forget}"
        parts.append(f"rule r{number} {{\n  when {condition}{clauses}\n}}")
    return compile_text("\n".join(parts))


@st.composite
def events(draw: st.DrawFn) -> list[dict[str, Any]]:
    stream = []
    clock = 0
    for _ in range(draw(st.integers(0, 40))):
        clock += draw(st.sampled_from([0, 1, 2, 5, 5, 10, 30]))
        lateness = draw(st.sampled_from([0, 0, 0, 0, 5, 10, 30]))  # mostly in order
        event: dict[str, Any] = {"type": draw(st.sampled_from(["a", "b"]))}
        if draw(st.integers(0, 9)):  # one event in ten has no timestamp: arrival time
            event["timestamp"] = T0 + clock - lateness
        n = draw(st.sampled_from([0, 1, 2, 3, 3, "2", True, None, "absent"]))
        if n != "absent":
            event["n"] = n
        d = draw(st.sampled_from(["x", "x", "y", None, "absent"]))
        if d != "absent":
            event["d"] = d
        event["k"] = draw(st.sampled_from(["v1", "v2", ["v", 1]]))
        stream.append(event)
    return stream


@settings(max_examples=300)
@given(rules=rules(), stream=events(), sweep_every=st.sampled_from([0, 1, 7]))
def test_engine_decides_like_the_naive_model(
    rules: list[Rule], stream: list[dict[str, Any]], sweep_every: int
) -> None:
    assert_same_decisions(MemoryStore, rules, stream, sweep_every)


@settings(max_examples=60)
@given(
    rules=rules(),
    stream=events(),
    sweep_every=st.sampled_from([0, 3]),
    reopen_every=st.sampled_from([0, 1, 5]),
)
def test_engine_on_sqlite_decides_like_the_naive_model(
    rules: list[Rule], stream: list[dict[str, Any]], sweep_every: int, reopen_every: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.db"
        assert_same_decisions(
            lambda: SQLiteStore(path), rules, stream, sweep_every, reopen_every=reopen_every
        )


def assert_same_decisions(
    open_store: Callable[[], StateStore],
    rules: list[Rule],
    stream: list[dict[str, Any]],
    sweep_every: int,
    reopen_every: int = 0,
) -> None:
    store = open_store()
    engine = Engine(RuleSet(rules), store, max_count_events=2)
    naive = NaiveSequenceEngine(rules, max_count_events=2)
    times = [float(event.get("timestamp", ARRIVAL)) for event in stream]
    alerts: dict[str, int] = {}
    try:
        for index, event in enumerate(stream):
            got = [as_naive(d, alerts) for d in engine.process(event, ARRIVAL, index)]
            expected = naive.process(event, ARRIVAL, index)
            assert got == expected, f"event {index}: {event}"
            if sweep_every and index % sweep_every == 0 and index + 1 < len(stream):
                engine.sweep(min(*times[index + 1 :], engine.watermark))
            if reopen_every and index % reopen_every == 0:
                store.close()
                store = open_store()
                engine = Engine(RuleSet(rules), store, max_count_events=2)
    finally:
        store.close()
