"""One tree's side of `engine_bench.py --baseline-src` (see bench/engine_baseline.py): imported
in a worker process once that tree's `alertd` is in place, so every `alertd` name below is that
tree's. Uses only what every tree since the engine's first version has, and this tree's
`Engine.record_valid` where it exists."""

from __future__ import annotations

import gc
import itertools
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from bench.engine_bench import COUNT_RULE, GC_THRESHOLD, STEADY, STORM, batches, encode
from bench.fleet_events import generate_events, iter_events

Event = dict[str, Any]
Batch = Callable[[list[Event]], Counter[str]]


def daemon_path(engine: Any, store: Any) -> Batch:
    """What the daemon of this engine's tree asks of it for a batch: its alerts and how many
    decisions of each kind each rule made. Returns the decisions of each kind, to compare."""
    if hasattr(engine, "record_valid"):

        def recorded(batch: list[Event]) -> Counter[str]:
            times = engine.validate(batch, 0.0)
            with store.transaction():
                result = engine.record_valid(batch, times, 0.0)
            kinds: Counter[str] = Counter()
            for (_, kind), n in result.counts.items():
                kinds[kind] += n
            return kinds

        return recorded

    def decided(batch: list[Event]) -> Counter[str]:
        decisions = engine.process_batch(batch, 0.0)  # validates, in a transaction
        alerts = [d.alert for d in decisions if d.alert is not None]  # as its pipeline did
        counts = Counter((d.rule_id, d.kind) for d in decisions)
        kinds = Counter({"fired": len(alerts)})
        for (_, kind), n in counts.items():
            if kind != "fired":
                kinds[kind] += n
        return kinds

    return decided


class Runner:
    """One case: `run()` times the next block of `events` events, in batches of `batch`."""

    def __init__(self, scenario: str, store: str, tuned: bool, events: int, batch: int) -> None:
        self.scenario, self.store, self.tuned = scenario, store, tuned
        self.events, self.batch = events, batch
        self.folder = Path(tempfile.mkdtemp(prefix="engine-bench-"))
        self.rules = (
            RuleSet(compile_text(COUNT_RULE))
            if scenario == "counting"
            else (STEADY if scenario == "steady" else STORM).rules()
        )
        self.stream: Iterator[Event] = iter(())
        self.blobs: list[bytes] = []
        if scenario == "steady":  # one engine, warmed up, then block after block
            self.process = self._engine()
            self.stream = iter_events(STEADY.warm_up + 100 * events)
            for chunk in batches(list(itertools.islice(self.stream, STEADY.warm_up)), 1000):
                self.process(list(chunk))
        else:  # a cold start every run, on the same events
            self.blobs = encode(generate_events(events), batch)
        if tuned:  # as `alertd run` does once it has loaded
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_THRESHOLD)

    def _engine(self) -> Batch:
        if self.store == "memory":
            store: Any = MemoryStore()
        else:
            store = SQLiteStore(Path(tempfile.mkdtemp(dir=self.folder)) / "state.db")
        return daemon_path(Engine(self.rules, store), store)

    def run(self) -> dict[str, Any]:
        if self.scenario == "steady":
            blobs = encode(list(itertools.islice(self.stream, self.events)), self.batch)
            process = self.process
        else:
            blobs = self.blobs
            process = self._engine()
        cpu = wall = 0.0
        kinds: Counter[str] = Counter()
        gc.collect()
        for blob in blobs:
            batch = orjson.loads(blob)  # as the daemon decodes a request, not timed
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            counted = process(batch)
            cpu += time.process_time() - started_cpu
            wall += time.perf_counter() - started_wall
            kinds += counted
        return {
            "cpu": cpu / self.events,
            "wall": wall / self.events,
            "kinds": dict(sorted(kinds.items())),
        }
