"""Engine benchmark: windows and state, against hand-written Python and ElastAlert2.

In one process, on the same seeded fleet events (bench/fleet_events.py) and the 100 benchmark
rules (bench/fleet100.rules) with suppression and counting mixed in (every rule gets a window:
see `with_windows`):

1. alertd's engine on the in-memory store, against the same logic written by hand in plain
   Python -- the reference design's alert engine: every lambda on every event, a dict of last
   fire times and a deque of match times per (rule, key). Both sides must agree on every
   (event, rule, decision) first. For context, alertd's rule matching alone (no windows).
2. The same engine on the SQLite store, one transaction per batch of --batch events (the way
   the daemon commits a request), with synchronous=FULL (the default) and NORMAL.
3. The counting part alone (`count 3 within 10m by vehicle_id` on every event): alertd's engine
   against a plain deque window, and ElastAlert2's FrequencyRule.add_data when
   --elastalert-python names an interpreter with elastalert2 installed (see bench/README.md).
4. Memory per 100,000 live keys (tracemalloc peak), and SQLite bytes on disk per 100,000 keys.

Each timing is the median of --repeat runs. Run from the repository root:

    .venv/bin/python -m bench.engine_bench [--events 200000] [--repeat 3]
        [--elastalert-python /tmp/elastalert/bin/python]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore, Synchronous
from bench.fleet100_lambdas import LAMBDAS
from bench.fleet_events import generate_events

BENCH = Path(__file__).parent
RULES_FILE = BENCH / "fleet100.rules"
ELASTALERT_HELPER = BENCH / "elastalert_frequency.py"
Event = dict[str, Any]


@dataclass(frozen=True)
class Window:
    """The window clauses added to one rule, in the same terms for both sides."""

    count: tuple[int, float, tuple[str, ...]] | None = None  # threshold, seconds, by fields
    suppress: tuple[float, tuple[str, ...]] | None = None  # seconds, by fields

    def clauses(self) -> str:
        text = ""
        if self.count:
            threshold, within, fields = self.count
            text += f" count {threshold} within {int(within)}s by {', '.join(fields)}"
        if self.suppress:
            duration, fields = self.suppress
            text += f" suppress {int(duration)}s by {', '.join(fields)}"
        return text


WINDOWS = (
    Window(suppress=(600.0, ("vehicle_id", "driver_id"))),
    Window(suppress=(300.0, ("vehicle_id",))),
    Window(count=(3, 600.0, ("vehicle_id",))),
    Window(count=(2, 300.0, ("driver_id",)), suppress=(900.0, ("vehicle_id",))),
)


def window_of(number: int) -> Window:
    """Rule n of the file gets WINDOWS[n % 4]: a quarter each of two kinds of suppression,
    counting, and counting followed by suppression."""
    return WINDOWS[number % len(WINDOWS)]


def with_windows(text: str) -> str:
    numbers = itertools.count()
    return re.sub(
        r"^(rule \w+ \{.*)\}$",
        lambda m: m.group(1) + window_of(next(numbers)).clauses().strip() + " }",
        text,
        flags=re.MULTILINE,
    )


# -- the hand-written side ---------------------------------------------------------------------


class HandWrittenEngine:
    """The reference design's alert engine in plain Python: dicts and deques, no cleverness
    beyond what a Python programmer would write for these rules."""

    def __init__(self) -> None:
        self.rules = [
            (name, condition, window_of(number)) for number, (name, condition) in enumerate(LAMBDAS)
        ]
        self.last_fired: dict[tuple[str, tuple[Any, ...]], float] = {}
        self.suppressed: dict[tuple[str, tuple[Any, ...]], int] = {}
        self.windows: dict[tuple[str, tuple[Any, ...]], deque[tuple[float, Event]]] = {}
        self.alerts: list[dict[str, Any]] = []

    def process(self, event: Event, out: list[tuple[str, str]]) -> None:
        when = datetime.fromisoformat(event["timestamp"]).timestamp()
        for name, condition, window in self.rules:
            if not condition(event):
                continue
            related: list[Event] = []
            if window.count:
                threshold, within, fields = window.count
                slot = (name, tuple(event.get(f) for f in fields))
                matches = self.windows.get(slot)
                if matches is None:
                    matches = self.windows[slot] = deque()
                while matches and when - matches[0][0] >= within:
                    matches.popleft()
                matches.append((when, event))
                if len(matches) < threshold:
                    out.append((name, "counting"))
                    continue
                related = [e for _, e in matches]
                del self.windows[slot]
            carried = 0
            if window.suppress:
                duration, fields = window.suppress
                slot = (name, tuple(event.get(f) for f in fields))
                last = self.last_fired.get(slot)
                if last is not None and when < last + duration:
                    self.suppressed[slot] = self.suppressed.get(slot, 0) + 1
                    out.append((name, "suppressed"))
                    continue
                self.last_fired[slot] = when
                carried = self.suppressed.pop(slot, 0)
            self.alerts.append(
                {
                    "id": str(uuid.uuid4()),
                    "rule": name,
                    "event": event,
                    "fired_at": when,
                    "suppressed": carried,
                    "related": related,
                }
            )
            out.append((name, "fired"))


# -- measuring -----------------------------------------------------------------------------------


def median_seconds(
    run: Callable[[], object], repeat: int, clock: Callable[[], float] = time.process_time
) -> float:
    """Median of `repeat` runs, in CPU seconds of this process by default: the cost per core,
    steadier than wall time on a machine shared with other work."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times)


def batches(events: list[Event], size: int) -> Iterator[list[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def check_agreement(events: list[Event], rules: RuleSet) -> dict[str, int]:
    engine = Engine(rules, MemoryStore())
    written = HandWrittenEngine()
    kinds = {"fired": 0, "suppressed": 0, "counting": 0}
    for index, event in enumerate(events):
        ours = [(d.rule_id, d.kind) for d in engine.process(event, 0.0, index)]
        theirs: list[tuple[str, str]] = []
        written.process(event, theirs)
        if ours != theirs:
            raise SystemExit(f"event {index}: alertd {ours} but hand-written {theirs}\n{event}")
        for _, kind in ours:
            kinds[kind] += 1
    return kinds


def in_memory(events: list[Event], rules: RuleSet, repeat: int, batch: int) -> dict[str, float]:
    def alertd() -> None:
        engine = Engine(rules, MemoryStore())
        for chunk in batches(events, batch):
            engine.process_batch(chunk, 0.0)

    def hand_written() -> None:
        engine = HandWrittenEngine()
        out: list[tuple[str, str]] = []
        for event in events:
            engine.process(event, out)

    def matching_only() -> None:
        match = rules.match
        for event in events:
            match(event)

    n = len(events)
    return {
        "alertd": median_seconds(alertd, repeat) / n,
        "hand_written": median_seconds(hand_written, repeat) / n,
        "matching": median_seconds(matching_only, repeat) / n,
    }


def on_sqlite(
    events: list[Event], rules: RuleSet, repeat: int, batch: int, synchronous: Synchronous
) -> float:
    def run() -> None:
        with tempfile.TemporaryDirectory() as folder:
            store = SQLiteStore(Path(folder) / "state.db", synchronous=synchronous)
            engine = Engine(rules, store)
            for chunk in batches(events, batch):
                engine.process_batch(chunk, 0.0)  # one transaction, one commit per batch
            store.close()

    return median_seconds(run, repeat, time.perf_counter) / len(events)  # wall: fsync counts


COUNT_RULE = 'rule pattern { when type != "" count 3 within 10m by vehicle_id }'


def counting(events: list[Event], repeat: int, batch: int) -> dict[str, float]:
    rules = RuleSet(compile_text(COUNT_RULE))

    def alertd() -> None:
        engine = Engine(rules, MemoryStore())
        for chunk in batches(events, batch):
            engine.process_batch(chunk, 0.0)

    times = [datetime.fromisoformat(e["timestamp"]).timestamp() for e in events]

    def plain_deque() -> None:
        windows: dict[str, deque[float]] = {}
        for event, when in zip(events, times, strict=True):
            key = event["vehicle_id"]
            window = windows.get(key)
            if window is None:
                window = windows[key] = deque()
            while window and when - window[0] >= 600.0:
                window.popleft()
            window.append(when)
            if len(window) >= 3:
                del windows[key]

    n = len(events)
    return {
        "alertd": median_seconds(alertd, repeat) / n,
        "deque": median_seconds(plain_deque, repeat) / n,
    }


def elastalert(python: str, events: list[Event], repeat: int) -> float:
    """ElastAlert2's FrequencyRule.add_data per event, measured by bench/elastalert_frequency.py
    under the interpreter that has elastalert2 installed (its dependencies are its own)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson") as file:
        for event in events:
            file.write(orjson.dumps({k: event[k] for k in ("vehicle_id", "timestamp")}) + b"\n")
        file.flush()
        result = subprocess.run(
            [python, str(ELASTALERT_HELPER), file.name, str(repeat)],
            check=False,
            capture_output=True,
            text=True,
        )
    if result.returncode:
        raise SystemExit(f"{ELASTALERT_HELPER.name} failed:\n{result.stderr}")
    return float(result.stdout.split()[-1])


def memory_per_100k_keys() -> dict[str, float]:
    """tracemalloc peak while 100,000 distinct keys are live, per kind of window."""
    keys = 100_000
    events = generate_events(keys, seed=7)
    for index, event in enumerate(events):
        event["vehicle_id"] = f"V-{index:06d}"  # every event a new key
    figures = {}
    for kind, text in (
        ("suppression", 'rule r { when type != "" suppress 1h by vehicle_id }'),
        ("counting", 'rule r { when type != "" count 3 within 1h by vehicle_id }'),
    ):
        rules = RuleSet(compile_text(text))
        gc.collect()
        tracemalloc.start()
        engine = Engine(rules, MemoryStore(max_alerts=1))
        for chunk in batches(events, 1000):
            engine.process_batch(chunk, 0.0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size = engine.store.size()
        assert size.suppressions + size.count_windows == keys
        figures[kind] = peak
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "state.db"
            store = SQLiteStore(path)
            sqlite_engine = Engine(rules, store)
            for chunk in batches(events, 1000):
                sqlite_engine.process_batch(chunk, 0.0)
            store.connection.execute("DELETE FROM alerts")
            store.connection.execute("VACUUM")
            store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
            figures[f"{kind}_disk"] = path.stat().st_size
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="events per process_batch call")
    parser.add_argument("--elastalert-python", metavar="PYTHON", help="python with elastalert2")
    args = parser.parse_args()

    events = generate_events(args.events)
    rules = RuleSet(compile_text(with_windows(RULES_FILE.read_text()), str(RULES_FILE)))
    # The input is no part of either engine's state: keep the garbage collector from scanning
    # its million objects again and again (in the daemon, a request's events die with it).
    gc.freeze()
    assert [rule.id for rule in rules.rules] == [name for name, _ in LAMBDAS]
    kinds = check_agreement(events, rules)
    print(
        f"{len(events):,} events, {len(rules)} rules with windows: {kinds['fired']:,} fired, "
        f"{kinds['suppressed']:,} suppressed, {kinds['counting']:,} counting; "
        "alertd and the hand-written engine agree on every decision"
    )

    timing = in_memory(events, rules, args.repeat, args.batch)
    print(
        f"in memory: alertd {timing['alertd'] * 1e6:.2f} us/event "
        f"({1 / timing['alertd']:,.0f} events/s), hand-written dicts+deques "
        f"{timing['hand_written'] * 1e6:.2f} us/event ({1 / timing['hand_written']:,.0f} events/s)"
        f": alertd {timing['hand_written'] / timing['alertd']:.1f}x faster; "
        f"of which rule matching alone {timing['matching'] * 1e6:.2f} us/event"
    )

    for synchronous in ("FULL", "NORMAL"):
        sqlite = on_sqlite(events, rules, args.repeat, args.batch, synchronous)
        print(
            f"SQLite store (synchronous={synchronous}), one commit per {args.batch} events: "
            f"{sqlite * 1e6:.2f} us/event ({1 / sqlite:,.0f} events/s, wall time), "
            f"{sqlite / timing['alertd']:.1f}x the in-memory time"
        )

    count = counting(events, args.repeat, args.batch)
    line = (
        f"counting part (count 3 within 10m by vehicle_id, every event): "
        f"alertd {count['alertd'] * 1e6:.2f} us/event, plain deque window "
        f"{count['deque'] * 1e6:.2f} us/event"
    )
    if args.elastalert_python:
        frequency = elastalert(args.elastalert_python, events, args.repeat)
        line += (
            f", ElastAlert2 FrequencyRule.add_data {frequency * 1e6:.2f} us/event: "
            f"alertd {frequency / count['alertd']:.1f}x faster"
        )
    print(line)

    memory = memory_per_100k_keys()
    print(
        "per 100,000 live keys: "
        f"suppression {memory['suppression'] / 2**20:.1f} MiB in memory, "
        f"{memory['suppression_disk'] / 2**20:.1f} MiB in SQLite; "
        f"counting (each window holding its event) {memory['counting'] / 2**20:.1f} MiB "
        f"in memory, {memory['counting_disk'] / 2**20:.1f} MiB in SQLite"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
