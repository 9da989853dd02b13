"""Differential test: random event streams through the engine give exactly the decisions of a
naive reference model (tests/engine/naive_engine.py), with and without maintenance sweeps; and
the daemon's path (`Engine.record_valid`: alerts and counts, no decision per match) records
what those decisions say."""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.engine import count_layout
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore
from alertd.model import Alert, Decision, ResolveSpec, Rule
from tests.engine.builders import T0, by, make_rule
from tests.engine.naive_engine import NaiveDecision, NaiveEngine

KEY_FIELDS = ("vehicle_id", "driver_id")


@st.composite
def rules(draw: st.DrawFn, most: int = 4) -> list[Rule]:
    """1-4 rules; those that count, up to `most` matches."""
    made = []
    for number in range(draw(st.integers(1, 4))):
        wanted = draw(st.sampled_from(["a", "b", None]))
        count = draw(
            st.none()
            | st.tuples(
                st.integers(2, most),
                st.sampled_from([5.0, 10.0, 30.0]),
                st.lists(st.sampled_from(KEY_FIELDS), max_size=2, unique=True).map(tuple),
            )
        )
        suppress = draw(
            st.none()
            | st.tuples(
                st.sampled_from([5.0, 10.0, 30.0]),
                st.lists(st.sampled_from(KEY_FIELDS), max_size=2, unique=True).map(tuple),
            )
        )
        level = draw(st.integers(0, 2))
        made.append(
            make_rule(
                f"rule{number}",
                types=None if wanted is None else {wanted},
                when=lambda event, level=level: event.get("level", 0) >= level,
                count=count,
                suppress=suppress,
                **draw(resolving(wanted)),
            )
        )
    return made


@st.composite
def resolving(draw: st.DrawFn, wanted: str | None) -> dict[str, Any]:
    """Half the time, a rule-level key and a `resolve` (when `ok` is true, in the rule's type
    and "b"; and/or after a while, which a timer decides: not the engine's, so no decision)."""
    if draw(st.booleans()):
        return {}
    fields = draw(st.lists(st.sampled_from(KEY_FIELDS), max_size=2, unique=True).map(tuple))
    when = draw(st.sampled_from(["ok", None]))
    spec = ResolveSpec(
        when=None if when is None else (lambda event: event.get("ok") is True),
        after=None if when is not None else 60.0,
        event_types=None if wanted is None else frozenset({wanted, "b"}),
    )
    return {"key": by(*fields), "resolve": spec}


@st.composite
def events(
    draw: st.DrawFn, most: int = 60, gaps: tuple[int, ...] = (0, 1, 2, 5, 5, 10, 30)
) -> list[dict[str, Any]]:
    """Up to `most` events, each `gaps` seconds (one of) after the one before."""
    stream = []
    clock = 0
    for _ in range(draw(st.integers(0, most))):
        clock += draw(st.sampled_from(gaps))
        lateness = draw(st.sampled_from([0, 0, 0, 0, 5, 10, 30]))  # mostly in order
        event: dict[str, Any] = {
            "type": draw(st.sampled_from(["a", "b"])),
            "level": draw(st.integers(0, 2)),
        }
        if draw(st.integers(0, 3)) == 0:  # the `resolve when` of the rules that have one
            event["ok"] = True
        if draw(st.integers(0, 9)):  # one event in ten has no timestamp: arrival time
            event["timestamp"] = T0 + clock - lateness
        for field in KEY_FIELDS:
            value = draw(st.sampled_from(["x", "x", "y", None, "absent"]))
            if value != "absent":
                event[field] = value
        stream.append(event)
    return stream


def as_naive(decision: Decision, alerts: dict[str, int]) -> NaiveDecision:
    """The engine's decision as the model makes it; `alerts` numbers the alerts as they fire."""
    alert = decision.alert
    if alert is not None:
        alerts[alert.id] = len(alerts)
    alert_id = alert.id if alert is not None else decision.alert_id
    return NaiveDecision(
        decision.event_index,
        decision.rule_id,
        decision.kind,
        decision.key,
        decision.event_time,
        suppressed_until=decision.suppressed_until,
        count=decision.count,
        suppressed_count=None if alert is None else alert.suppressed_count,
        count_times=(
            None
            if alert is None or not alert.count_events
            else tuple(float(e.get("timestamp", T0 + 50)) for e in alert.count_events)
        ),
        alert=None if alert_id is None else alerts[alert_id],
    )


ARRIVAL = T0 + 50


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
    """Also when the store is closed and reopened between events: what it reads back from the
    file must be exactly what it held in memory."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.db"
        assert_same_decisions(
            lambda: SQLiteStore(path), rules, stream, sweep_every, reopen_every=reopen_every
        )


@settings(max_examples=60)
@given(
    rules=rules(most=40),
    stream=events(most=120, gaps=(0, 1, 1, 2, 3)),
    sweep_every=st.sampled_from([0, 7]),
    reopen_every=st.sampled_from([0, 1, 6]),
)
def test_large_windows_on_sqlite_decide_like_the_naive_model(
    rules: list[Rule], stream: list[dict[str, Any]], sweep_every: int, reopen_every: int
) -> None:
    """With chunks of 2 times, windows of dozens of matches spread their times over many
    chunk rows (alertd.engine.count_layout): slid out, placed late, read back, written a
    change at a time, they decide the same."""
    with tempfile.TemporaryDirectory() as folder, mock.patch.object(count_layout, "CHUNK", 2):
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
    naive = NaiveEngine(rules, max_count_events=2)
    times = [float(event.get("timestamp", ARRIVAL)) for event in stream]
    alerts: dict[str, int] = {}
    try:
        for index, event in enumerate(stream):
            got = [as_naive(d, alerts) for d in engine.process(event, ARRIVAL, index)]
            expected = naive.process(event, ARRIVAL, index)
            assert got == expected, f"event {index}: {event}"
            if sweep_every and index % sweep_every == 0 and index + 1 < len(stream):
                # Sweeping up to the earliest time still to come must never change a decision.
                engine.sweep(min(*times[index + 1 :], engine.watermark))
            if reopen_every and index % reopen_every == 0:
                store.close()
                store = open_store()
                engine = Engine(RuleSet(rules), store, max_count_events=2)
    finally:
        store.close()


@settings(max_examples=200)
@given(rules=rules(), stream=events(), cuts=st.lists(st.integers(1, 12), max_size=8))
def test_daemon_path_records_what_the_naive_model_decides(
    rules: list[Rule], stream: list[dict[str, Any]], cuts: list[int]
) -> None:
    assert_same_records(MemoryStore, rules, stream, cuts)


@settings(max_examples=40)
@given(rules=rules(), stream=events(), cuts=st.lists(st.integers(1, 12), max_size=8))
def test_daemon_path_on_sqlite_records_what_the_naive_model_decides(
    rules: list[Rule], stream: list[dict[str, Any]], cuts: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert_same_records(lambda: SQLiteStore(Path(folder) / "state.db"), rules, stream, cuts)


def assert_same_records(
    open_store: Callable[[], StateStore],
    rules: list[Rule],
    stream: list[dict[str, Any]],
    cuts: list[int],
) -> None:
    """The stream in batches of the sizes `cuts` gives (then one batch of the rest), each in a
    transaction, as the daemon records them: the alerts the naive model fires, its decisions
    counted by rule and kind, and every decision of the rules with `resolve`."""
    store = open_store()
    engine = Engine(RuleSet(rules), store, max_count_events=2)
    naive = NaiveEngine(rules, max_count_events=2)
    resolving = {rule.id for rule in rules if rule.resolve is not None}
    alerts: dict[str, int] = {}
    start = 0
    try:
        for size in [*cuts, len(stream)]:
            batch = stream[start : start + size]
            expected = [
                decision
                for index, event in enumerate(batch, start)
                for decision in naive.process(event, ARRIVAL, index)
            ]
            times = engine.validate(batch, ARRIVAL)
            with store.transaction():
                recorded = engine.record_valid(batch, times, ARRIVAL)
            assert recorded.counts == Counter((d.rule_id, d.kind) for d in expected)
            fired = [d for d in expected if d.kind == "fired"]
            assert [as_fired(alert, alerts) for alert in recorded.alerts] == [
                (d.rule_id, d.key, d.time, d.suppressed_count, d.count_times, d.alert)
                for d in fired
            ]
            kept = [d for d in expected if d.rule_id in resolving]
            assert [as_kept(d, start, alerts) for d in recorded.decisions] == kept
            start += len(batch)
    finally:
        store.close()


def as_fired(alert: Alert, alerts: dict[str, int]) -> tuple[Any, ...]:
    """An alert as the model's fired decision says it: numbered as alerts fire."""
    alerts.setdefault(alert.id, len(alerts))
    count_times = (
        tuple(float(e.get("timestamp", ARRIVAL)) for e in alert.count_events)
        if alert.count_events
        else None
    )
    return (
        alert.rule_id,
        alert.key,
        alert.fired_at,
        alert.suppressed_count,
        count_times,
        alerts[alert.id],
    )


def as_kept(decision: Decision, start: int, alerts: dict[str, int]) -> NaiveDecision:
    """A decision of a batch beginning at event `start` as the model makes it, its alert
    numbered as the batch's alerts were."""
    alert_id = decision.alert.id if decision.alert is not None else decision.alert_id
    return dataclasses.replace(
        as_naive(decision, dict(alerts)),
        index=start + (decision.event_index or 0),
        alert=None if alert_id is None else alerts[alert_id],
    )
