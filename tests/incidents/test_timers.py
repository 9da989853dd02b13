"""The timer service: handlers by kind, each timer run once, a failing one dropped alone, and
the sweep bounded by its limit. On SQLite, where transactions are real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.clock import FakeClock, SteadyClock
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import Timer
from alertd.incidents import Timers
from alertd.notify.notification import Notification


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "state.db")
    yield opened
    opened.close()


def test_a_due_timer_runs_once_and_may_set_itself_again(store: SQLiteStore) -> None:
    clock = FakeClock()
    timers = Timers(store, SteadyClock(clock))
    ran: list[tuple[str, int]] = []

    def step(timer: Timer) -> list[Notification]:
        count = int(timer.payload["count"])
        ran.append((timer.ref, count))
        if count < 2:
            timers.set("step", timer.ref, delay=60, payload={"count": count + 1})
        return []

    timers.handle("step", step)
    timers.set("step", "a", delay=60, payload={"count": 1})
    assert timers.run_due(timers.now(), 10).ran == 0
    clock.advance(60)
    with store.transaction():
        assert timers.run_due(timers.now(), 10).ran == 1
        assert timers.run_due(timers.now(), 10).ran == 0  # removed as it ran
    assert timers.due("step", "a") == timers.now() + 60
    clock.advance(60)
    timers.run_due(timers.now(), 10)
    assert ran == [("a", 1), ("a", 2)]
    assert timers.due("step", "a") is None


def test_a_failing_timer_is_dropped_and_the_others_run(
    store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    timers = Timers(store, SteadyClock(clock))
    ran: list[str] = []

    def step(timer: Timer) -> list[Notification]:
        timers.set("other", timer.ref, delay=1)  # undone with the failing timer's savepoint
        if timer.ref == "bad":
            raise ValueError("a broken alert")
        ran.append(timer.ref)
        return []

    timers.handle("step", step)
    for ref, delay in (("first", 1), ("bad", 2), ("last", 3)):
        timers.set("step", ref, delay=delay)
    timers.set("unknown", "x", delay=1)
    clock.advance(10)
    with store.transaction():
        run = timers.run_due(timers.now(), 10)
    assert (run.ran, ran) == (4, ["first", "last"])
    assert store.due_timers(timers.now() + 100, 10) == [
        Timer("other", "first", timers.now() + 1),
        Timer("other", "last", timers.now() + 1),
    ]
    assert "a timer failed; dropped" in caplog.text
    assert "a timer of an unknown kind; dropped" in caplog.text


def test_a_sweep_takes_at_most_its_limit_earliest_first_and_says_more_are_due(
    store: SQLiteStore,
) -> None:
    clock = FakeClock()
    timers = Timers(store, SteadyClock(clock))
    ran: list[str] = []
    timers.handle("step", lambda timer: ran.append(timer.ref) or [])
    for n in range(5):
        timers.set("step", f"t{n}", delay=50 - n)
    clock.advance(100)
    first = timers.run_due(timers.now(), 3)
    second = timers.run_due(timers.now(), 3)
    assert (first.ran, first.more, second.ran, second.more) == (3, True, 2, False)
    assert ran == ["t4", "t3", "t2", "t1", "t0"]


def test_a_sweep_with_a_budget_stops_once_it_is_spent_and_says_more_are_due(
    store: SQLiteStore,
) -> None:
    clock = FakeClock()
    spent = [0.0]
    timers = Timers(store, SteadyClock(clock), stopwatch=lambda: spent[0])
    ran: list[str] = []

    def slow(timer: Timer) -> list[Notification]:
        ran.append(timer.ref)
        spent[0] += 0.003  # a costly release
        return []

    timers.handle("step", slow)
    for n in range(5):
        timers.set("step", f"t{n}", delay=50 - n)
    clock.advance(100)
    first = timers.run_due(timers.now(), 50, budget=0.005)
    assert (first.ran, first.more, ran) == (2, True, ["t4", "t3"])
    rest = timers.run_due(timers.now(), 50, budget=1)
    assert (rest.ran, rest.more, ran[2:]) == (3, False, ["t2", "t1", "t0"])


def test_setting_a_timer_tells_the_listeners_its_due(store: SQLiteStore) -> None:
    clock = FakeClock()
    timers = Timers(store, SteadyClock(clock))
    heard: list[float] = []
    timers.on_set(heard.append)
    due = timers.set("step", "a", delay=30)
    assert heard == [due] == [timers.now() + 30]
