"""Rule language benchmark: 100 compiled rules against the same 100 hand-written lambdas.

In one process, on the same seeded events (bench/fleet_events.py):

1. per condition: every compiled condition vs its hand-written lambda, the same loop for both;
2. per event: alertd's RuleSet (type index + one generated function per event type) vs the
   naive hand-written loop over all 100 lambdas (and, for context, lambdas behind a type index);
3. loading: parse + check + compile of a 1,000-rule file, in rules per second; with
   --baseline-src, side by side with another source tree of alertd (such as main before a
   change: `git worktree add /tmp/base main`), each in a process of its own, taking turns.

First it checks that both sides match exactly the same (event, rule) pairs. Each figure is the
median of --repeat runs. Run from the repository root:

    .venv/bin/python -m bench.dsl_bench [--events 200000] [--repeat 5] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alertd.dsl import load_rules
from alertd.engine.ruleset import RuleSet
from bench.fleet100_lambdas import LAMBDAS
from bench.fleet_events import generate_events

RULES_FILE = Path(__file__).with_name("fleet100.rules")
REPOSITORY = Path(__file__).resolve().parent.parent
Event = dict[str, Any]


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    return median_each([run], repeat)[0]


def median_each(runs: list[Callable[[], object]], repeat: int) -> list[float]:
    """The median CPU time of each run. The runs take turns, so that a change in the load of
    a shared machine weighs on all of them alike; CPU time (not wall time) leaves out the
    time this process waited for a core."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, spent in zip(runs, times, strict=True):
            start = time.process_time()
            run()
            spent.append(time.process_time() - start)
    return [statistics.median(spent) for spent in times]


def check_agreement(events: list[Event], ruleset: RuleSet) -> int:
    """Every event matches the same rules both ways; returns how many (event, rule) matches."""
    matches = 0
    for index, event in enumerate(events):
        compiled = [rule.id for rule in ruleset.match(event)]
        written = [name for name, condition in LAMBDAS if condition(event)]
        if compiled != written:
            raise SystemExit(f"event {index}: rules {compiled} but lambdas {written}\n{event}")
        matches += len(compiled)
    return matches


def per_condition(events: list[Event], ruleset: RuleSet, repeat: int) -> tuple[float, float]:
    conditions = [rule.condition for rule in ruleset.rules]
    lambdas = [condition for _, condition in LAMBDAS]

    def loop(functions: list[Callable[[Event], bool]]) -> Callable[[], None]:
        def run() -> None:
            for event in events:
                for function in functions:
                    function(event)

        return run

    calls = len(events) * len(conditions)
    compiled, written = median_each([loop(conditions), loop(lambdas)], repeat)
    return compiled / calls, written / calls


def per_rule_ratios(events: list[Event], ruleset: RuleSet, repeat: int) -> list[tuple[float, str]]:
    """Each rule alone: compiled time / lambda time over a slice of the events, and its id."""
    sample = events[:20_000]
    ratios = []
    for rule, (_, written) in zip(ruleset.rules, LAMBDAS, strict=True):
        compiled = rule.condition

        def run_compiled(f: Callable[[Event], bool] = compiled) -> None:
            for event in sample:
                f(event)

        def run_written(f: Callable[[Event], bool] = written) -> None:
            for event in sample:
                f(event)

        compiled_time, written_time = median_each([run_compiled, run_written], repeat)
        ratios.append((compiled_time / written_time, rule.id))
    return ratios


def per_event(events: list[Event], ruleset: RuleSet, repeat: int) -> dict[str, float]:
    match = ruleset.match

    def alertd() -> None:
        for event in events:
            match(event)

    def naive() -> None:
        for event in events:
            [name for name, condition in LAMBDAS if condition(event)]

    by_type: dict[object, list[tuple[str, Callable[[Event], bool]]]] = defaultdict(list)
    for rule, pair in zip(ruleset.rules, LAMBDAS, strict=True):
        for event_type in rule.event_types or ():
            by_type[event_type].append(pair)

    def indexed() -> None:
        for event in events:
            [name for name, condition in by_type.get(event.get("type"), ()) if condition(event)]

    alertd_time, naive_time, indexed_time = median_each([alertd, naive, indexed], repeat)
    n = len(events)
    return {"alertd": alertd_time / n, "naive": naive_time / n, "indexed": indexed_time / n}


def thousand_rules() -> str:
    text = RULES_FILE.read_text()
    copies = [re.sub(r"^rule (\w+)", rf"rule \1_{n}", text, flags=re.MULTILINE) for n in range(10)]
    return "\n".join(copies)


# Loading runs in a process of its own per source tree, so that a baseline tree (another
# checkout of alertd) is measured in the same run, on the same text, taking turns with this
# one. The worker uses only what every tree has: compile_text and clear_caches.
LOAD_WORKER = """
import importlib.util, sys, time
# The tree's alertd, whatever else is installed (an editable install would win over PYTHONPATH).
tree = sys.argv[3]
spec = importlib.util.spec_from_file_location(
    "alertd", f"{tree}/alertd/__init__.py", submodule_search_locations=[f"{tree}/alertd"]
)
alertd = sys.modules["alertd"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(alertd)
from alertd.dsl import compile_text
from alertd.dsl.compiler import clear_caches
from bench.fleet_events import generate_events
text = open(sys.argv[1], encoding="utf-8").read()
events = generate_events(int(sys.argv[2]))  # held, as a daemon holds its windows and events
print(alertd.__file__, len(compile_text(text)), flush=True)
for _ in sys.stdin:
    clear_caches()
    start = time.process_time()
    compile_text(text)
    print(time.process_time() - start, flush=True)
"""


def loading(trees: dict[str, Path], events: int, repeat: int) -> dict[str, tuple[int, float]]:
    """Per source tree: how many rules the 1,000-rule file compiles to, and the median CPU
    time of a cold load (compiled shapes forgotten) with `events` events in memory."""
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "thousand.rules"
        rules.write_text(thousand_rules(), encoding="utf-8")
        workers: dict[str, subprocess.Popen[str]] = {}
        counts: dict[str, int] = {}
        try:
            for name, tree in trees.items():
                workers[name] = subprocess.Popen(
                    [sys.executable, "-c", LOAD_WORKER, str(rules), str(events), str(tree)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=REPOSITORY,  # for bench.fleet_events
                )
            for name, worker in workers.items():
                assert worker.stdout is not None
                module, count = worker.stdout.readline().split()
                if not Path(module).resolve().is_relative_to(trees[name].resolve()):
                    raise SystemExit(f"{name}: alertd came from {module}, not {trees[name]}")
                counts[name] = int(count)
            times: dict[str, list[float]] = {name: [] for name in workers}
            for _ in range(repeat):
                for name, worker in workers.items():  # taking turns, as median_each does
                    assert worker.stdin is not None and worker.stdout is not None
                    worker.stdin.write("load\n")
                    worker.stdin.flush()
                    times[name].append(float(worker.stdout.readline()))
        finally:
            for worker in workers.values():
                if worker.stdin is not None:
                    worker.stdin.close()
                worker.wait()
    return {name: (counts[name], statistics.median(times[name])) for name in trees}


def print_loading(trees: dict[str, Path], events: int, repeat: int) -> None:
    results = loading(trees, events, repeat)
    held = f", {events:,} events in memory" if events else ""
    for name, (count, seconds) in results.items():
        print(
            f"loading {count:,} rules (parse + check + compile{held}), {name}: "
            f"{count / seconds:,.0f} rules/s ({seconds * 1e3:.0f} ms)"
        )
    if "baseline" in results:
        ratio = results["this tree"][1] / results["baseline"][1]
        print(f"  this tree / baseline: {ratio:.2f}x the time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--baseline-src",
        type=Path,
        metavar="DIR",
        help="another source tree of alertd to measure loading against (a git worktree)",
    )
    args = parser.parse_args()

    # Loading twice: on a small heap, and with the events in memory, as a daemon that reloads
    # its rules holds its windows and queued events.
    trees = {"this tree": REPOSITORY}
    if args.baseline_src is not None:
        trees["baseline"] = args.baseline_src
    print_loading(trees, 0, args.repeat)
    print_loading(trees, args.events, args.repeat)
    events = generate_events(args.events)

    ruleset = RuleSet(load_rules([RULES_FILE]))
    assert [r.id for r in ruleset.rules] == [name for name, _ in LAMBDAS]
    matches = check_agreement(events, ruleset)
    print(f"{len(events):,} events, {len(ruleset)} rules, {matches:,} matches: both sides agree")

    compiled, written = per_condition(events, ruleset, args.repeat)
    print(
        f"per condition: compiled {compiled * 1e9:.1f} ns, lambda {written * 1e9:.1f} ns, "
        f"ratio {compiled / written:.2f}x"
    )
    by_rule = sorted(per_rule_ratios(events, ruleset, args.repeat))
    ratios = [ratio for ratio, _ in by_rule]
    print(
        f"per rule, compiled/lambda: median {statistics.median(ratios):.2f}x, "
        f"p90 {ratios[int(len(ratios) * 0.9)]:.2f}x, best {ratios[0]:.2f}x ({by_rule[0][1]}), "
        f"worst {ratios[-1]:.2f}x ({by_rule[-1][1]})"
    )

    timing = per_event(events, ruleset, args.repeat)
    print(
        f"per event: alertd RuleSet {timing['alertd'] * 1e6:.2f} us, "
        f"naive loop over 100 lambdas {timing['naive'] * 1e6:.2f} us "
        f"({timing['naive'] / timing['alertd']:.1f}x slower)"
    )
    print(
        f"per condition as RuleSet runs them: alertd {timing['alertd'] * 1e6:.2f} us vs the same "
        f"lambdas behind the same type index {timing['indexed'] * 1e6:.2f} us: "
        f"ratio {timing['alertd'] / timing['indexed']:.2f}x"
    )


if __name__ == "__main__":
    main()
