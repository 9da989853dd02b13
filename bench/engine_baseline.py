"""The engine of this tree against another source tree's, side by side (`engine_bench.py
--baseline-src DIR`).

Each (scenario, store, collector) runs in two worker processes, one per tree, each importing
its tree's own `alertd` package (whatever is installed) and this tree's bench code (events,
rules, scenarios). Both set up alike (a cold start, or the steady scenario's 700,000 events of
warm-up, untimed), then take turns: each run is a block of events, decoded batch by batch from
JSON as the daemon gets them and given to the engine
the way that tree's daemon gives a batch to it: this tree's `record_valid` (alerts and counts,
no per-match decisions), or, in a tree without it, `process_batch` followed by what that
tree's pipeline did with the decisions (the alerts, and a Counter of (rule, kind)). Both
sides must count the same decisions of each kind. Figures are CPU time of the worker per
event (the cost per core on a shared machine), median of the runs; SQLite runs also give
wall time (the disk sync counts there). Decoding a batch is not timed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

WORKER = """
import importlib.util, sys
tree = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "alertd", f"{tree}/alertd/__init__.py", submodule_search_locations=[f"{tree}/alertd"]
)
alertd = sys.modules["alertd"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(alertd)
from bench.engine_baseline import work
work(alertd.__file__, *sys.argv[2:])
"""


@dataclass(frozen=True)
class Case:
    scenario: str  # storm | steady | counting
    store: str  # memory | sqlite
    tuned: bool  # the collector as `alertd run` sets it

    def __str__(self) -> str:
        collector = "tuned gc" if self.tuned else "default gc"
        return f"{self.scenario}, {self.store}, {collector}"


CASES = (
    Case("steady", "memory", tuned=True),
    Case("steady", "memory", tuned=False),
    Case("steady", "sqlite", tuned=True),
    Case("storm", "memory", tuned=True),
    Case("storm", "memory", tuned=False),
    Case("storm", "sqlite", tuned=True),
    Case("counting", "memory", tuned=True),
)


def compare(trees: dict[str, Path], events: int, repeat: int, batch: int, only: str) -> None:
    """Print, case by case, each tree's CPU time per event and the ratio."""
    for case in CASES:
        if only and only not in str(case):
            continue
        figures = run_case(trees, case, events, repeat, batch)
        this, base = figures["this tree"], figures["baseline"]
        line = (
            f"{case}: this tree {this['cpu'] * 1e6:.2f} us/event CPU, baseline "
            f"{base['cpu'] * 1e6:.2f}: {base['cpu'] / this['cpu']:.2f}x faster "
            f"(runs {runs(this['cpus'])} vs {runs(base['cpus'])})"
        )
        if case.store == "sqlite":
            line += (
                f"; wall {this['wall'] * 1e6:.2f} vs {base['wall'] * 1e6:.2f} us/event: "
                f"{base['wall'] / this['wall']:.2f}x"
            )
        print(line, f"[load {os.getloadavg()[0]:.1f}]", flush=True)


def runs(values: list[float]) -> str:
    return "/".join(f"{value * 1e6:.2f}" for value in values)


def run_case(
    trees: dict[str, Path], case: Case, events: int, repeat: int, batch: int
) -> dict[str, dict[str, list[float] | float]]:
    arguments = [case.scenario, case.store, str(int(case.tuned)), str(events), str(batch)]
    with workers(trees, arguments) as started:
        cpus: dict[str, list[float]] = {name: [] for name in started}
        walls: dict[str, list[float]] = {name: [] for name in started}
        for _ in range(repeat):
            kinds = {}
            for name, worker in started.items():  # taking turns
                assert worker.stdin is not None and worker.stdout is not None
                worker.stdin.write("run\n")
                worker.stdin.flush()
                result = json.loads(worker.stdout.readline())
                cpus[name].append(result["cpu"])
                walls[name].append(result["wall"])
                kinds[name] = result["kinds"]
            if len(set(map(json.dumps, kinds.values()))) != 1:
                raise SystemExit(f"{case}: the trees decided differently: {kinds}")
    return {
        name: {
            "cpu": statistics.median(cpus[name]),
            "wall": statistics.median(walls[name]),
            "cpus": cpus[name],
        }
        for name in trees
    }


@contextmanager
def workers(
    trees: dict[str, Path], arguments: list[str]
) -> Iterator[dict[str, subprocess.Popen[str]]]:
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        for name, tree in trees.items():
            started[name] = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(tree), *arguments],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPOSITORY,  # this tree's bench package
            )
        for name, worker in started.items():  # each warms up meanwhile; wait for both
            assert worker.stdout is not None
            module = worker.stdout.readline().strip()
            if not module or not Path(module).resolve().is_relative_to(trees[name].resolve()):
                raise SystemExit(f"{name}: alertd came from {module!r}, not {trees[name]}")
        yield started
    finally:
        for worker in started.values():
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait()


# -- in the worker process, with its tree's alertd imported --------------------------------------


def work(module: str, *case: str) -> None:
    """Set the case up (scenario, store, tuned 1|0, events per run, events per batch), say
    which alertd it runs, then time one block per `run` line."""
    from bench.engine_worker import Runner  # once the tree's alertd is in place

    scenario, store, tuned, events, batch = case
    runner = Runner(scenario, store, tuned == "1", int(events), int(batch))
    try:
        print(module, flush=True)
        for _ in sys.stdin:
            print(json.dumps(runner.run()), flush=True)
    finally:
        shutil.rmtree(runner.folder, ignore_errors=True)
