"""Engine benchmark: windows and state, against hand-written Python and ElastAlert2.

In one process, on seeded fleet events (bench/fleet_events.py) and the 100 benchmark rules
(bench/fleet100.rules) with window clauses added to every rule (see SCENARIOS):

1. alertd's engine on the in-memory store, against the same logic written by hand in plain
   Python -- the reference design's alert engine: every lambda on every event, a dict of last
   fire times and a deque of match times per (rule, key) -- in two scenarios:
   - storm: windows of 5-15 minutes from a cold start; 1.2 alerts per event;
   - steady: every rule deduplicated for 4 hours per vehicle, a quarter counting first, the
     state warmed by the preceding 4 hours of the stream (700,000 events), then measured.
   Both sides must agree on every (event, rule, decision) first. For context, alertd's rule
   matching alone (no windows).
2. The same engine on the SQLite store, one transaction per batch of --batch events (the way
   the daemon commits a request), with synchronous=FULL (the default) and NORMAL, and FULL
   again under the tuned collector: wall time and CPU time.
3. The counting part (`count 3 within 10m by vehicle_id` on every event): like with like
   against ElastAlert2's FrequencyRule.add_data (events already parsed, the window step only;
   --elastalert-python names an interpreter with elastalert2 installed, see bench/README.md),
   and alertd's whole per-event path; a plain deque window for scale.
4. Memory per 100,000 live keys (tracemalloc peak), and SQLite bytes on disk per 100,000 keys.

Events reach both engines as they reach the daemon: each batch is decoded from JSON just before
it is processed, so the events that windows keep are ordinary objects the garbage collector
scans, and the others die with their batch. The decoding, measured alone, is subtracted.
In-memory figures are CPU time of this process (the cost per core, steadier than wall time on
a shared machine); SQLite figures are wall time, since the sync to disk is the point, and CPU
time. Each figure is the median of --repeat runs. Run from the repository root:

    .venv/bin/python -m bench.engine_bench [--events 200000] [--repeat 3]
        [--elastalert-python /tmp/elastalert/bin/python]

With `--baseline-src DIR`, instead: this tree's engine against another source tree's, on the
storm, steady and counting scenarios, in memory and on SQLite, each tree in processes of its
own, taking turns (bench/engine_baseline.py).
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.ids import AlertIds
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore, Synchronous
from alertd.engine.steps import build_step
from bench.engine_baseline import compare
from bench.fleet100_lambdas import LAMBDAS
from bench.fleet_events import generate_events, iter_events

BENCH = Path(__file__).parent
RULES_FILE = BENCH / "fleet100.rules"
ELASTALERT_HELPER = BENCH / "elastalert_frequency.py"
Event = dict[str, Any]
Clock = Callable[[], float]

MINUTE = 60.0
HOUR = 3600.0


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


@dataclass(frozen=True)
class Scenario:
    """Rule n of the file gets windows[n % len(windows)]; `warm_up` events of the stream go
    through the engines, untimed, before the measured ones (0: a cold start)."""

    name: str
    windows: tuple[Window, ...]
    warm_up: int

    def rules(self) -> RuleSet:
        numbers = itertools.count()
        text = re.sub(
            r"^(rule \w+ \{.*)\}$",
            lambda m: m.group(1) + self.window_of(next(numbers)).clauses().strip() + " }",
            RULES_FILE.read_text(),
            flags=re.MULTILINE,
        )
        rules = RuleSet(compile_text(text, str(RULES_FILE)))
        assert [rule.id for rule in rules.rules] == [name for name, _ in LAMBDAS]
        return rules

    def window_of(self, number: int) -> Window:
        return self.windows[number % len(self.windows)]


# A quarter each of two kinds of suppression, counting, and counting followed by suppression.
# Every (rule, vehicle) pair of this stream matches about once an hour, so with windows of
# minutes nearly every match opens a new window: 1.2 alerts per event, an alert storm.
STORM = Scenario(
    "storm",
    (
        Window(suppress=(10 * MINUTE, ("vehicle_id", "driver_id"))),
        Window(suppress=(5 * MINUTE, ("vehicle_id",))),
        Window(count=(3, 10 * MINUTE, ("vehicle_id",))),
        Window(count=(2, 5 * MINUTE, ("driver_id",)), suppress=(15 * MINUTE, ("vehicle_id",))),
    ),
    warm_up=0,
)
# Like the starter rules in rules/, every rule deduplicates by vehicle, and a quarter count
# first (as multiple_safety_events does); the dedupe lasts 4 hours, Alertmanager's default
# repeat_interval. Measured after 4 hours of the stream (700,000 events at ~49 events/s), when
# windows are as full as they get: what a daemon that has been running for a while sees.
STEADY = Scenario(
    "steady",
    (
        Window(suppress=(4 * HOUR, ("vehicle_id",))),
        Window(suppress=(4 * HOUR, ("vehicle_id",))),
        Window(suppress=(4 * HOUR, ("vehicle_id",))),
        Window(count=(3, 10 * MINUTE, ("vehicle_id",)), suppress=(4 * HOUR, ("vehicle_id",))),
    ),
    warm_up=700_000,
)


# -- the hand-written side ---------------------------------------------------------------------


class HandWrittenEngine:
    """The reference design's alert engine in plain Python: dicts and deques, no cleverness
    beyond what a Python programmer would write for these rules."""

    def __init__(self, scenario: Scenario) -> None:
        self.rules = [
            (name, condition, scenario.window_of(number))
            for number, (name, condition) in enumerate(LAMBDAS)
        ]
        self.last_fired: dict[tuple[str, tuple[Any, ...]], float] = {}
        self.suppressed: dict[tuple[str, tuple[Any, ...]], int] = {}
        self.windows: dict[tuple[str, tuple[Any, ...]], deque[tuple[float, Event]]] = {}
        self.alerts: deque[dict[str, Any]] = deque(maxlen=10_000)  # as many as MemoryStore keeps

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

    def process_batch(self, events: Iterable[Event]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for event in events:
            self.process(event, out)
        return out


# -- measuring -----------------------------------------------------------------------------------

Process = Callable[[list[Event]], Sequence[object]]


def batches(events: Sequence[Event], size: int) -> Iterator[Sequence[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def encode(events: Sequence[Event], size: int) -> list[bytes]:
    """The events as the daemon receives them: one JSON array per batch."""
    return [orjson.dumps(list(chunk)) for chunk in batches(events, size)]


def spent(
    blobs: list[bytes],
    process: Process,
    clock: Clock = time.process_time,
    then: Callable[[Sequence[object]], object] | None = None,
) -> float:
    """Seconds to decode each batch and process it (see `decoding` for the part to subtract).
    `then` sees each batch's result outside the clock."""
    gc.collect()
    total = 0.0
    for blob in blobs:
        start = clock()
        result = process(orjson.loads(blob))
        total += clock() - start
        if then is not None:
            then(result)
    return total


def decoding(blobs: list[bytes], clock: Clock = time.process_time) -> float:
    return spent(blobs, lambda batch: batch, clock)


def alertd_process(engine: Engine) -> Process:
    return lambda batch: engine.process_batch(batch, 0.0)


def hand_written_process(engine: HandWrittenEngine) -> Process:
    return engine.process_batch


def agree(engine: Engine, written: HandWrittenEngine, events: Iterable[Event]) -> Counter[str]:
    """Feed both engines, one event at a time; stop at the first decision they disagree on."""
    kinds: Counter[str] = Counter()
    for index, event in enumerate(events):
        ours = [(d.rule_id, d.kind) for d in engine.process(event, 0.0, index)]
        theirs: list[tuple[str, str]] = []
        written.process(event, theirs)
        if ours != theirs:
            raise SystemExit(f"event {index}: alertd {ours} but hand-written {theirs}\n{event}")
        kinds.update(kind for _, kind in ours)
    return kinds


@dataclass
class Figures:
    """Seconds per event: median of the runs, and every run."""

    runs: dict[str, list[float]]

    def __getitem__(self, name: str) -> float:
        return statistics.median(self.runs[name])


def storm(events: list[Event], repeat: int, batch: int) -> Figures:
    """Cold start: every run gets fresh engines and the same events."""
    rules = STORM.rules()
    blobs = encode(events, batch)
    match = rules.match
    runs: dict[str, list[float]] = {"alertd": [], "hand_written": [], "matching": []}
    for _ in range(repeat):
        decode = decoding(blobs)
        alertd = spent(blobs, alertd_process(Engine(rules, MemoryStore())))
        written = spent(blobs, hand_written_process(HandWrittenEngine(STORM)))
        matching = spent(blobs, lambda batch: [match(event) for event in batch])
        for name, seconds in (
            ("alertd", alertd),
            ("hand_written", written),
            ("matching", matching),
        ):
            runs[name].append((seconds - decode) / len(events))
    return Figures(runs)


def steady(
    size: int, repeat: int, batch: int, *, check: bool
) -> tuple[Counter[str], Counter[str], Figures]:
    """Warm start: both engines first take STEADY.warm_up events (if `check`, one at a time,
    checked to agree on every decision), then `repeat` consecutive blocks of `size` events,
    each timed on both."""
    rules = STEADY.rules()
    engine, written = Engine(rules, MemoryStore()), HandWrittenEngine(STEADY)
    stream = iter_events(STEADY.warm_up + repeat * size)
    warm_up = itertools.islice(stream, STEADY.warm_up)
    warm_kinds: Counter[str] = Counter()
    if check:
        warm_kinds = agree(engine, written, warm_up)
    else:
        for chunk in batches(list(warm_up), batch):
            engine.process_batch(chunk, 0.0)
            written.process_batch(chunk)
    kinds: Counter[str] = Counter()
    runs: dict[str, list[float]] = {"alertd": [], "hand_written": []}

    def tally(decisions: Sequence[Any]) -> None:
        kinds.update(decision.kind for decision in decisions)

    for _ in range(repeat):
        blobs = encode(list(itertools.islice(stream, size)), batch)
        decode = decoding(blobs)
        alertd = spent(blobs, alertd_process(engine), then=tally)
        written_seconds = spent(blobs, hand_written_process(written))
        runs["alertd"].append((alertd - decode) / size)
        runs["hand_written"].append((written_seconds - decode) / size)
    return warm_kinds, kinds, Figures(runs)


GC_THRESHOLD = 10_000


@contextlib.contextmanager
def tuned_collector() -> Iterator[None]:
    """The garbage collector as the daemon should run it: everything loaded at start frozen
    out of its sight, and a young generation of 10,000 objects rather than 700, so that what
    a batch allocates and drops (decisions, alerts, the decoded events) dies before it is
    ever scanned or promoted."""
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def on_sqlite(
    events: list[Event], repeat: int, batch: int, synchronous: Synchronous
) -> tuple[float, float]:
    """Seconds per event on the SQLite store, median of the runs: wall time (the sync to disk
    counts) and this process's CPU time."""
    rules = STORM.rules()
    blobs = encode(events, batch)
    walls, cpus = [], []
    for _ in range(repeat):
        decode_wall = decoding(blobs, time.perf_counter)
        decode_cpu = decoding(blobs)
        with tempfile.TemporaryDirectory() as folder:
            store = SQLiteStore(Path(folder) / "state.db", synchronous=synchronous)
            # One transaction, one commit per batch.
            cpu = time.process_time()
            wall = spent(blobs, alertd_process(Engine(rules, store)), time.perf_counter)
            cpu = time.process_time() - cpu
            store.close()
        walls.append((wall - decode_wall) / len(events))
        cpus.append((cpu - decode_cpu) / len(events))
    return statistics.median(walls), statistics.median(cpus)


COUNT_RULE = 'rule pattern { when type != "" count 3 within 10m by vehicle_id }'


def counting(events: list[Event], repeat: int, batch: int) -> Figures:
    """`count 3 within 10m by vehicle_id` on every event, three ways:

    - window_step: like ElastAlert2's add_data, which receives events parsed from
      Elasticsearch with their timestamps as datetimes and does the window work only: alertd's
      step for one matched rule (key, window, a decision; an alert on every third), given each
      event with its time already a float;
    - alertd: the engine's whole per-event path (timestamp, match, window, decision);
    - deque: a bare deque of floats per key, no output at all, for scale.
    """
    rules = RuleSet(compile_text(COUNT_RULE))
    [rule] = rules.rules
    assert rule.count is not None
    times = [datetime.fromisoformat(event["timestamp"]).timestamp() for event in events]
    keys = [rule.count.key(event) for event in events]
    blobs = encode(events, batch)

    def window_step() -> None:
        # What the engine calls for each rule that matched an event.
        step = build_step(rule, MemoryStore(), max_count_events=20, mint=AlertIds(), failed=print)
        for index, event in enumerate(events):
            step(event, index, times[index], 0.0)

    def plain_deque() -> None:
        windows: dict[object, deque[float]] = {}
        for key, when in zip(keys, times, strict=True):
            window = windows.get(key)
            if window is None:
                window = windows[key] = deque()
            while window and when - window[0] >= 600.0:
                window.popleft()
            window.append(when)
            if len(window) >= 3:
                del windows[key]

    runs: dict[str, list[float]] = {"window_step": [], "alertd": [], "deque": []}
    for _ in range(repeat):
        decode = decoding(blobs)
        whole = spent(blobs, alertd_process(Engine(rules, MemoryStore())))
        runs["alertd"].append((whole - decode) / len(events))
        with frozen_input():
            runs["window_step"].append(cpu_seconds(window_step) / len(events))
            runs["deque"].append(cpu_seconds(plain_deque) / len(events))
    return Figures(runs)


@contextlib.contextmanager
def frozen_input() -> Iterator[None]:
    """Inputs prepared before the clock starts are kept out of the collector's sight while it
    runs (gc.freeze), on both sides of the add_data comparison."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def cpu_seconds(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


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
    """tracemalloc peak while 100,000 distinct keys are live, per kind of window and store,
    and the SQLite file's size. The events are decoded batch by batch inside the measurement,
    as the daemon gets them, so the event a counting window keeps is counted with it."""
    keys = 100_000
    events = generate_events(keys, seed=7)
    for index, event in enumerate(events):
        event["vehicle_id"] = f"V-{index:06d}"  # every event a new key
    blobs = encode(events, 1000)
    figures = {}
    for kind, text in (
        ("suppression", 'rule r { when type != "" suppress 1h by vehicle_id }'),
        ("counting", 'rule r { when type != "" count 3 within 1h by vehicle_id }'),
    ):
        rules = RuleSet(compile_text(text))
        for where in ("memory", "sqlite"):
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "state.db"
                gc.collect()
                tracemalloc.start()
                store = MemoryStore(max_alerts=1) if where == "memory" else SQLiteStore(path)
                engine = Engine(rules, store)
                for blob in blobs:
                    engine.process_batch(orjson.loads(blob), 0.0)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                size = store.size()
                assert size.suppressions + size.count_windows == keys
                figures[f"{kind}_{where}"] = peak
                if isinstance(store, SQLiteStore):
                    store.connection.execute("DELETE FROM alerts")
                    store.connection.execute("VACUUM")
                    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    figures[f"{kind}_disk"] = path.stat().st_size
                store.close()
    return figures


def in_memory(timing: Figures, runs: str, *, matching: bool = False, tuned: bool = False) -> str:
    collector = f"gc threshold {GC_THRESHOLD:,}, frozen start" if tuned else "default gc"
    line = (
        f"  {collector}: alertd {timing['alertd'] * 1e6:.2f} us/event "
        f"({1 / timing['alertd']:,.0f} events/s; {runs} {runs_of(timing, 'alertd')}), "
        f"hand-written dicts+deques {timing['hand_written'] * 1e6:.2f} us/event "
        f"({1 / timing['hand_written']:,.0f} events/s; {runs} "
        f"{runs_of(timing, 'hand_written')}): alertd "
        f"{timing['hand_written'] / timing['alertd']:.1f}x faster"
    )
    if matching:
        line += f"; of which rule matching alone {timing['matching'] * 1e6:.2f} us/event"
    return line


def mix(kinds: Counter[str], events: int) -> str:
    return ", ".join(
        f"{kinds[kind] / events:.2f} {kind}" for kind in ("fired", "suppressed", "counting")
    )


def runs_of(figures: Figures, name: str) -> str:
    return "/".join(f"{seconds * 1e6:.2f}" for seconds in figures.runs[name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="events per process_batch call")
    parser.add_argument("--elastalert-python", metavar="PYTHON", help="python with elastalert2")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        metavar="DIR",
        help="instead: this tree's engine against DIR's (another source tree of alertd), each in "
        "processes of its own, taking turns (bench/engine_baseline.py)",
    )
    parser.add_argument("--only", default="", help="with --baseline-src: cases whose name has this")
    args = parser.parse_args()
    if args.baseline_src is not None:
        trees = {"this tree": BENCH.parent, "baseline": args.baseline_src}
        compare(trees, args.events, args.repeat, args.batch, args.only)
        return

    events = generate_events(args.events)
    # The input list is no part of either engine's state, and the timed runs decode fresh
    # copies of it: keep the collector from scanning its objects again and again.
    gc.freeze()
    n = len(events)

    kinds = agree(Engine(STORM.rules(), MemoryStore()), HandWrittenEngine(STORM), events)
    print(
        f"storm: {n:,} events from a cold start, 100 rules with 5-15 minute windows: "
        f"{mix(kinds, n)} per event; alertd and the hand-written engine agree on every decision"
    )
    print(in_memory(storm(events, args.repeat, args.batch), "runs", matching=True))
    with tuned_collector():
        print(in_memory(storm(events, args.repeat, args.batch), "runs", tuned=True))
    sys.stdout.flush()

    warm_kinds, kinds, timing = steady(n, args.repeat, args.batch, check=True)
    print(
        f"steady: {STEADY.warm_up:,} events to warm up (both engines agree on every decision: "
        f"{mix(warm_kinds, STEADY.warm_up)} per event), then {args.repeat} blocks of {n:,}: "
        f"{mix(kinds, n * args.repeat)} per event"
    )
    print(in_memory(timing, "blocks"))
    with tuned_collector():
        print(in_memory(steady(n, args.repeat, args.batch, check=False)[2], "blocks", tuned=True))
    sys.stdout.flush()

    for synchronous, tuned in (("FULL", False), ("NORMAL", False), ("FULL", True)):
        with tuned_collector() if tuned else contextlib.nullcontext():
            wall, cpu = on_sqlite(events, args.repeat, args.batch, synchronous)
        collector = f"gc threshold {GC_THRESHOLD:,}, frozen start" if tuned else "default gc"
        print(
            f"storm on the SQLite store (synchronous={synchronous}, {collector}), one commit "
            f"per {args.batch} events: {wall * 1e6:.2f} us/event wall ({1 / wall:,.0f} "
            f"events/s), {cpu * 1e6:.2f} us/event CPU"
        )
        sys.stdout.flush()

    count = counting(events, args.repeat, args.batch)
    with tuned_collector():
        tuned = counting(events, args.repeat, args.batch)
    line = (
        "counting (count 3 within 10m by vehicle_id, every event): alertd window step "
        f"{count['window_step'] * 1e6:.2f} us/event, whole per-event path "
        f"{count['alertd'] * 1e6:.2f} us/event, a bare deque window {count['deque'] * 1e6:.2f}"
        " us/event"
    )
    frequency = 0.0
    if args.elastalert_python:
        frequency = elastalert(args.elastalert_python, events, args.repeat)
        line += (
            f"; ElastAlert2 FrequencyRule.add_data {frequency * 1e6:.2f} us/event: the window "
            f"step {frequency / count['window_step']:.1f}x faster, the whole path "
            f"{frequency / count['alertd']:.1f}x faster"
        )
    print(line)
    print(
        f"  gc threshold {GC_THRESHOLD:,}, frozen start: window step "
        f"{tuned['window_step'] * 1e6:.2f} us/event, whole per-event path "
        f"{tuned['alertd'] * 1e6:.2f} us/event"
        + (f" ({frequency / tuned['alertd']:.1f}x faster than add_data)" if frequency else "")
    )
    sys.stdout.flush()

    memory = memory_per_100k_keys()
    print(
        "per 100,000 live keys (peak, MiB): suppression "
        f"{memory['suppression_memory'] / 2**20:.1f} in MemoryStore, "
        f"{memory['suppression_sqlite'] / 2**20:.1f} in SQLiteStore's memory + "
        f"{memory['suppression_disk'] / 2**20:.1f} on disk; counting (each window holding its "
        f"event) {memory['counting_memory'] / 2**20:.1f} in MemoryStore, "
        f"{memory['counting_sqlite'] / 2**20:.1f} in SQLiteStore's memory + "
        f"{memory['counting_disk'] / 2**20:.1f} on disk"
    )


if __name__ == "__main__":
    main()
