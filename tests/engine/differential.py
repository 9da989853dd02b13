"""The driver of the differential tests of rules over time (tests/engine/test_absence_matches_
naive_model.py, tests/engine/test_over_time_matches_naive_model.py): one random stream of
events and waits, run by the engine with its timer service on a fake clock and by a naive
model, which must decide alike at every step; with sweeps, and with the store closed and
reopened between steps."""

from __future__ import annotations

from typing import Any, Protocol

from alertd.clock import FakeClock
from alertd.engine.engine import Engine
from alertd.engine.state import StateStore

Step = tuple[str, float, dict[str, Any] | None]
"""("event", lateness, event) or ("wait", seconds, None); lateness -1: no timestamp."""


class Compiled(Protocol):
    """The engine's side: decisions as the test compares them."""

    clock: FakeClock
    engine: Engine
    store: StateStore

    def run_until(self, time: float) -> list[tuple[Any, ...]]:
        """Run the timers due up to `time`: their decisions, sorted."""

    def process(self, event: dict[str, Any], index: int) -> list[tuple[Any, ...]]:
        """Take one event at the clock's time: its decisions."""

    def reopen(self) -> None:
        """Close the store and open it again, as a restart does."""


class Model(Protocol):
    """The naive model's side, decisions as the engine's side gives them."""

    def run_until(self, time: float) -> list[tuple[Any, ...]]: ...

    def process(self, event: dict[str, Any], time: float, index: int) -> list[tuple[Any, ...]]: ...


def drive(
    compiled: Compiled, naive: Model, stream: list[Step], *, sweep: bool, reopen_every: int = 0
) -> None:
    """Run the stream on both sides, asserting the same decisions at each step; with `sweep`,
    the engine sweeps after each step up to the earliest time still to come (which must never
    change a decision); with `reopen_every`, its store is reopened every that many steps."""
    index = 0
    # The clock moves only by waits: each event's time is known before the run.
    clock, times = compiled.clock.now(), []
    for what, amount, _ in stream:
        clock += amount if what == "wait" else 0
        times.append(clock - max(amount, 0.0) if what == "event" else clock)
    try:
        for number, (what, amount, drawn) in enumerate(stream):
            now = compiled.clock.now()
            if what == "wait":
                target = now + amount
                assert compiled.run_until(target) == naive.run_until(target), f"step {number}"
            else:
                assert drawn is not None
                event = drawn if amount < 0 else {**drawn, "timestamp": now - amount}
                time = now if amount < 0 else now - amount
                assert compiled.run_until(now) == naive.run_until(now), f"step {number}"
                got = compiled.process(event, index)
                assert got == naive.process(event, time, index), f"step {number}: {event}"
                index += 1
            if sweep:
                future = times[number + 1 :]
                compiled.engine.sweep(
                    min([compiled.clock.now(), compiled.engine.watermark, *future])
                )
            if reopen_every and number % reopen_every == 0:
                compiled.reopen()
        end = compiled.clock.now() + 1000
        assert compiled.run_until(end) == naive.run_until(end)
    finally:
        compiled.store.close()
