"""What a batch costs when one key's counting window holds many matches (issue 9, item 3).

    .venv/bin/python -m bench.count_window_bench [--window 20000] [--batches 50] [--batch 100]
        [--baseline-src DIR]

One rule, `count 100000 within 1h by vehicle_id` (not reached), on the SQLite store the
daemon runs (WAL, synchronous=FULL). One vehicle sends an event every 0.18 s of event time:
`--window` events go in first, untimed, so the window holds that many matches, and every
event after them slides one out. Then `--batches` batches of `--batch` events each go through
`Engine.process_batch`, one transaction and commit per batch, as the daemon commits a request.
Printed per batch: the median wall and CPU time, and the bytes the batch appended to the WAL
(the WAL's growth over all batches, with automatic checkpoints off while they run, divided by
the batches). Also the process's peak memory (tracemalloc) while the window is full.

With `--baseline-src DIR` (another source tree of alertd, e.g. `git archive` of an older
commit), the same runs in a process of its own for each tree, one after the other, and the
ratios are printed. Each tree's own `alertd` package is imported, whatever is installed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

# Runs in a process of its own per tree; uses only what every tree has.
WORKER = """
import gc, importlib.util, json, statistics, sys, time, tracemalloc
from pathlib import Path
tree, window, batches, size, folder = sys.argv[1:6]
window, batches, size = int(window), int(batches), int(size)
spec = importlib.util.spec_from_file_location(
    "alertd", f"{tree}/alertd/__init__.py", submodule_search_locations=[f"{tree}/alertd"]
)
alertd = sys.modules["alertd"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(alertd)
import orjson
from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from bench.fleet_events import generate_events

T0 = 1_767_225_600.0
bodies = generate_events(1000, seed=3)
def event(n):
    body = dict(bodies[n % len(bodies)])
    body["vehicle_id"] = "V-1"
    body["timestamp"] = T0 + n * 0.18
    return body

rule = 'rule pattern { when vehicle_id != "" count 100000 within 1h by vehicle_id }'
rules = RuleSet(compile_text(rule))
path = Path(folder) / "state.db"
store = SQLiteStore(path)
engine = Engine(rules, store)
tracemalloc.start()
for start in range(0, window, 1000):
    engine.process_batch([event(n) for n in range(start, min(window, start + 1000))], T0 + 9e5)
[(count,)] = store.connection.execute("SELECT count(*) FROM count_window").fetchall()
assert count == 1, count
store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
store.connection.execute("PRAGMA wal_autocheckpoint = 0")
wal = Path(str(path) + "-wal")
wal_before = wal.stat().st_size if wal.exists() else 0
encoded = [
    orjson.dumps([event(window + b * size + i) for i in range(size)]) for b in range(batches)
]
walls, cpus = [], []
gc.collect()
for blob in encoded:
    batch = orjson.loads(blob)
    wall, cpu = time.perf_counter(), time.process_time()
    decisions = engine.process_batch(batch, T0 + 9e5)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
    assert len(decisions) == size and decisions[-1].kind == "counting"
_, peak = tracemalloc.get_traced_memory()
wal_after = wal.stat().st_size
store.close()
print(json.dumps({
    "alertd": alertd.__file__,
    "wall_ms": statistics.median(walls) * 1e3,
    "cpu_ms": statistics.median(cpus) * 1e3,
    "wal_bytes": (wal_after - wal_before) / batches,
    "peak_mib": peak / 2**20,
    "file_mib": path.stat().st_size / 2**20,
}))
"""


def measure(tree: Path, window: int, batches: int, size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, "-c", WORKER, str(tree), str(window), str(batches), str(size), folder],
            check=False,
            capture_output=True,
            text=True,
            cwd=REPOSITORY,  # for bench.fleet_events
        )
    if result.returncode:
        raise SystemExit(f"{tree}: the worker failed:\n{result.stderr}")
    figures: dict[str, float] = json.loads(result.stdout)
    if not Path(str(figures["alertd"])).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"alertd came from {figures['alertd']}, not {tree}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--window", type=int, default=20_000, help="matches in the window")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch", type=int, default=100, help="events per batch")
    parser.add_argument("--baseline-src", type=Path, metavar="DIR")
    args = parser.parse_args()
    trees = {"this tree": REPOSITORY}
    if args.baseline_src is not None:
        trees["baseline"] = args.baseline_src
    results = {}
    for name, tree in trees.items():
        results[name] = figures = measure(tree, args.window, args.batches, args.batch)
        print(
            f"{name}: one key, {args.window:,} matches in its window, batches of {args.batch}: "
            f"{figures['wall_ms']:.2f} ms wall, {figures['cpu_ms']:.2f} ms CPU, "
            f"{figures['wal_bytes'] / 1024:,.1f} KiB of WAL per batch; "
            f"peak memory {figures['peak_mib']:.1f} MiB, file {figures['file_mib']:.1f} MiB",
            flush=True,
        )
    if len(results) == 2:
        new, old = results["this tree"], results["baseline"]
        ratios = {name: old[name] / new[name] for name in ("wall_ms", "cpu_ms", "wal_bytes")}
        print(
            f"  baseline / this tree: wall {ratios['wall_ms']:.1f}x, "
            f"CPU {ratios['cpu_ms']:.1f}x, WAL {ratios['wal_bytes']:.1f}x"
        )


if __name__ == "__main__":
    main()
