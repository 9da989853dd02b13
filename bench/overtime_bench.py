"""Rules over time: what `prev()`, `for` and `absent` cost.

1. Per event: a rule using prev() (a crossing) or `for`, against the same rule without it,
   each alone in a rule set, through `Engine.process_batch` on fleet events
   (bench/fleet_events.py: 5,000 vehicles, 70% location updates), batches of 500. In memory
   and on the SQLite store (the daemon's, one transaction per batch; a quarter of the
   events). CPU time of this process, the median of --repeat runs, the two sides taking
   turns. Target: <= 1.5x.
   Where the difference goes: on SQLite, the CPU time of writing the batch's changes at its
   commit (a rule with prev() or `for` writes its key's state for every event of its scope;
   one without writes only for its matches). The same per event in instructions, which do
   not swing with the machine: bench/overtime_instructions.py.
2. The absence sweep: --keys vehicles (100,000) watched by `absent 15m by vehicle_id` on the
   SQLite store, each reporting every --every seconds, on a fake clock. Every simulated second
   its events are processed as one batch and then the timer service runs what is due, as the
   daemon's timer loop does. Measured: the CPU time of the timer sweeps (the event loop's
   share: the daemon runs BEGIN and COMMIT in a worker thread) per simulated second, once
   every key is watched (after the first 15 minutes). Target: <= 5 ms a second. For scale:
   the same sweep where every vehicle fell silent at once.

    flock /work/bench.lock .venv/bin/python -m bench.overtime_bench [--events 200000]
        [--repeat 5] [--keys 100000] [--every 300] [--minutes 45]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alertd.clock import FakeClock, SteadyClock
from alertd.dsl import compile_text
from alertd.engine.absence import ABSENT
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import StateStore, Timer
from alertd.incidents.timers import Timers
from bench.fleet_events import generate_events

FLEET_RULES = Path(__file__).parent / "fleet100.rules"

COMMON = 'macro location_update = type == "location_update"\n'
PAIRS = {
    "prev() crossing": (
        "when location_update and fuel_level_pct < 10 and prev(fuel_level_pct) >= 10",
        "when location_update and fuel_level_pct < 10",
    ),
    "for 2m": (
        "when location_update and engine_temp_c > 100\n  for 2m",
        "when location_update and engine_temp_c > 100",
    ),
}
BATCH = 500
T0 = 1_767_225_600.0


# The 100 benchmark rules as a fleet would run them: each told once per vehicle in 4 hours.
FLEET = re.sub(r" }$", " suppress 4h by vehicle_id }", FLEET_RULES.read_text(), flags=re.M)


def rule_text(when: str) -> str:
    return f"{COMMON}rule r {{\n  {when}\n  by vehicle_id\n  suppress 30m\n}}\n"


def per_event(
    when: str,
    events: list[dict[str, Any]],
    open_store: Callable[[], StateStore],
    beside: str = "",
) -> tuple[float, float]:
    """CPU seconds per event of one rule (with the rules `beside` it) through the whole
    engine path (`Engine.process_batch`, spelt out), and of that, writing at the commit."""
    store = open_store()
    try:
        engine = Engine(RuleSet(compile_text(beside + rule_text(when))), store)
        received = T0
        gc.collect()
        writing = 0.0
        started = time.process_time()
        for first in range(0, len(events), BATCH):
            batch = events[first : first + BATCH]
            times = engine.validate(batch, received)
            with store.transaction():
                engine.process_valid(batch, times, received)
                evaluated = time.process_time()
            writing += time.process_time() - evaluated
        return (time.process_time() - started) / len(events), writing / len(events)
    finally:
        store.close()


def bench_per_event(events: list[dict[str, Any]], repeat: int) -> None:
    print(f"per event, {len(events):,} fleet events, batches of {BATCH}, CPU time:")
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(1_000_000))

        def sqlite() -> StateStore:
            return SQLiteStore(Path(folder) / f"s{next(counter)}.db", synchronous="NORMAL")

        cases = (
            ("memory", MemoryStore, ""),
            ("sqlite", sqlite, ""),
            ("memory, beside the 100 fleet rules", MemoryStore, FLEET),
        )
        for store_name, open_store, beside in cases:
            for name, (with_it, without) in PAIRS.items():
                sample = events if store_name != "sqlite" else events[: len(events) // 4]
                timed: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
                for _ in range(repeat):
                    timed["without"].append(per_event(without, sample, open_store, beside))
                    timed["with"].append(per_event(with_it, sample, open_store, beside))
                a, b = (
                    statistics.median(t for t, _ in timed[side]) for side in ("with", "without")
                )
                print(
                    f"  {store_name}, {name}: with {a * 1e6:.2f} us, without "
                    f"{b * 1e6:.2f} us: {a / b:.2f}x"
                )
                if store_name == "sqlite":
                    wa, wb = (
                        statistics.median(w for _, w in timed[side]) for side in ("with", "without")
                    )
                    print(
                        f"    of which writing at the commit: with {wa * 1e6:.2f} us, without "
                        f"{wb * 1e6:.2f} us; the rest {(a - wa) / (b - wb):.2f}x"
                    )


class Watched:
    """`keys` vehicles watched by an absent rule, on a fake clock, as the daemon wires them."""

    def __init__(self, path: Path, keys: int) -> None:
        self.store = SQLiteStore(path)
        self.clock = FakeClock(T0)
        self.timers = Timers(self.store, SteadyClock(self.clock))
        rules = compile_text(
            'rule silent {\n  when type == "location_update"\n  absent 15m by vehicle_id\n}\n'
        )
        self.engine = Engine(RuleSet(rules), self.store, timers=self.timers)
        self.timers.handle(ABSENT, self._due)
        self.keys = keys
        self.fired = 0
        self.ran = 0

    def _due(self, timer: Timer) -> list[Any]:
        self.ran += 1
        if self.engine.absence_due(timer) is not None:
            self.fired += 1
        return []

    def events(self, second: int, every: int) -> list[dict[str, Any]]:
        """The vehicles whose turn it is this second (each reports every `every` seconds)."""
        now = self.clock.now()
        return [
            {"type": "location_update", "vehicle_id": f"v{v}", "timestamp": now, "speed": 50}
            for v in range(second % every, self.keys, every)
        ]

    def sweep(self) -> float:
        """Run what is due now, as the timer loop does: CPU seconds of it."""
        started = time.process_time()
        more = True
        while more:
            self.store.begin()
            run = self.timers.run_due(self.clock.now(), 500)
            self.store.commit()
            more = run.more
        return time.process_time() - started

    def second(self, second: int, every: int) -> float:
        self.clock.advance(1)
        events = self.events(second, every)
        if events:
            self.engine.process_batch(events, self.clock.now())
        return self.sweep()


def bench_sweep(keys: int, every: int, minutes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        watched = Watched(Path(folder) / "state.db", keys)
        warm = 15 * 60 + every
        for second in range(warm):
            watched.second(second, every)
        ran_before, spent = watched.ran, []
        for second in range(warm, warm + minutes * 60):
            spent.append(watched.second(second, every))
        ran = watched.ran - ran_before
        per_second = sum(spent) / len(spent)
        print(
            f"absence sweep, {keys:,} keys watched (absent 15m), each reporting every {every}s, "
            f"{minutes} simulated minutes after warm-up:"
        )
        print(
            f"  {ran / len(spent):.1f} timers run a second, CPU {per_second * 1e3:.2f} ms a second "
            f"(p99 of seconds {sorted(spent)[int(len(spent) * 0.99)] * 1e3:.2f} ms, "
            f"max {max(spent) * 1e3:.2f} ms); {watched.fired} fired"
        )
        # Every vehicle falls silent: each deadline fires, one alert each.
        silent_from = watched.clock.now()
        fired_before = watched.fired
        spent_all = 0.0
        while watched.fired - fired_before < keys and watched.clock.now() < silent_from + 3600:
            watched.clock.advance(1)
            spent_all += watched.sweep()
        print(
            f"  all {keys:,} silent at once: {watched.fired - fired_before:,} alerts in "
            f"{spent_all:.2f} s CPU ({spent_all / max(1, watched.fired - fired_before) * 1e6:.0f}"
            " us an alert)"
        )
        watched.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--minutes", type=int, default=45)
    parser.add_argument("--only", choices=["per-event", "sweep"])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")
    if args.only != "sweep":
        bench_per_event(generate_events(args.events), args.repeat)
    if args.only != "per-event":
        bench_sweep(args.keys, args.every, args.minutes)
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")


if __name__ == "__main__":
    main()
