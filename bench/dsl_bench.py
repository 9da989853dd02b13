"""Rule language benchmark: 100 compiled rules against the same 100 hand-written lambdas.

In one process, on the same seeded events (bench/fleet_events.py):

1. per condition: every compiled condition vs its hand-written lambda, the same loop for both;
2. per event: alertd's RuleSet (type index + one generated function per event type) vs the
   naive hand-written loop over all 100 lambdas (and, for context, lambdas behind a type index);
3. loading: parse + check + compile of a 1,000-rule file, in rules per second.

First it checks that both sides match exactly the same (event, rule) pairs. Each figure is the
median of --repeat runs. Run from the repository root:

    .venv/bin/python -m bench.dsl_bench [--events 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alertd.dsl import compile_text, load_rules
from alertd.dsl.compiler import clear_caches
from alertd.engine.ruleset import RuleSet
from bench.fleet100_lambdas import LAMBDAS
from bench.fleet_events import generate_events

RULES_FILE = Path(__file__).with_name("fleet100.rules")
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


def loading(repeat: int) -> tuple[int, float, float]:
    text = thousand_rules()
    count = len(compile_text(text))

    def cold() -> None:
        clear_caches()
        compile_text(text)

    def warm() -> None:
        compile_text(text)

    return count, median_seconds(cold, repeat), median_seconds(warm, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    # Loading twice: on a small heap, and with 200,000 events in memory, as a daemon that
    # reloads its rules holds its windows and queued events.
    count, cold, warm = loading(args.repeat)
    print(
        f"loading {count:,} rules (parse + check + compile): {count / cold:,.0f} rules/s "
        f"({cold * 1e3:.0f} ms); again with compiled shapes cached: {count / warm:,.0f} rules/s"
    )
    events = generate_events(args.events)
    count, cold, warm = loading(args.repeat)
    print(
        f"the same with {len(events):,} events in memory: {count / cold:,.0f} rules/s "
        f"({cold * 1e3:.0f} ms); with compiled shapes cached: {count / warm:,.0f} rules/s"
    )

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
