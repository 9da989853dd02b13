"""Rules over time, counted: the machine instructions per event of a rule with prev() or `for`
against the same rule without it (the pairs of bench/overtime_bench.py), in memory, and the
level-1 data-cache misses valgrind simulates for them.

The CPU time overtime_bench.py measures swings by 5-10% between runs on a shared machine,
as much as a change to the step saves; these counts do not (to ~1%, with the hash seed
fixed), so they tell whether a change made the step do less. They are not the target: a cache
miss costs more than an instruction, so the ratio of instructions is below the ratio of time.

Each count runs a child process under `valgrind --tool=cachegrind`: one that evaluates
--events fleet events, one that evaluates 500 (the rule set's compiling, the interpreter's
start), and one of each that only loads the events; per event is the difference over the
difference in events. Needs valgrind (`apt-get install valgrind`); takes a few minutes.

    flock /work/bench.lock .venv/bin/python -m bench.overtime_instructions [--events 50000]
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FEW = 500


def child(events_file: str, pair: str, side: str, count: int) -> None:
    """Load `count` events; unless `side` is "load", evaluate them with the pair's rule."""
    from alertd.engine.memory_store import MemoryStore
    from bench.overtime_bench import PAIRS, per_event

    with Path(events_file).open("rb") as file:
        events = pickle.load(file)[:count]
    if side != "load":
        with_it, without = PAIRS[pair]
        per_event(with_it if side == "with" else without, events, MemoryStore)


def counted(events_file: str, pair: str, side: str, count: int) -> tuple[int, int]:
    """Instructions and simulated L1 data read and write misses of one child."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=yes",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.overtime_instructions",
        "--child",
        events_file,
        pair,
        side,
        str(count),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)

    def total(label: str) -> int:
        found = re.search(rf"{label}:\s+([\d,]+)", done.stderr)
        assert found is not None, done.stderr[-2000:]
        return int(found.group(1).replace(",", ""))

    return total("I +refs"), total("D1 +misses")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--child", nargs=4, metavar=("FILE", "PAIR", "SIDE", "COUNT"))
    args = parser.parse_args()
    if args.child:
        events_file, pair, side, count = args.child
        child(events_file, pair, side, int(count))
        return
    from bench.fleet_events import generate_events
    from bench.overtime_bench import PAIRS

    with tempfile.TemporaryDirectory() as folder:
        events_file = str(Path(folder) / "events.pickle")
        with Path(events_file).open("wb") as file:
            pickle.dump(generate_events(args.events), file)
        runs = [("", "load")] + [(pair, side) for pair in PAIRS for side in ("with", "without")]
        jobs = [(pair, side, count) for pair, side in runs for count in (args.events, FEW)]
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            results = dict(
                zip(jobs, pool.map(lambda job: counted(events_file, *job), jobs), strict=True)
            )

    def per_event(pair: str, side: str) -> tuple[float, float]:
        many, few = results[(pair, side, args.events)], results[(pair, side, FEW)]
        load_many, load_few = results[("", "load", args.events)], results[("", "load", FEW)]
        return tuple(  # type: ignore[return-value]
            ((many[i] - few[i]) - (load_many[i] - load_few[i])) / (args.events - FEW)
            for i in (0, 1)
        )

    print(f"per event, {args.events:,} fleet events, in memory, under cachegrind:")
    for pair in PAIRS:
        (wi, wm), (oi, om) = per_event(pair, "with"), per_event(pair, "without")
        print(
            f"  {pair}: instructions {wi:,.0f} with, {oi:,.0f} without: {wi / oi:.2f}x; "
            f"L1 data misses {wm:.1f} with, {om:.1f} without"
        )


if __name__ == "__main__":
    main()
