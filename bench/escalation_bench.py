"""Escalation timers at scale: 100,000 open alerts with pending steps, against none.

    .venv/bin/python bench/escalation_bench.py      # --alerts 100000 --spread 3000 --rounds 31

Two of the daemon's stacks (alertd.pipeline on real SQLite files, `dry_run` delivery, the
collector tuned as `alertd run` tunes it), in one process and one event loop:

  none   the rules, and no alert with a pending step;
  open   the same rules, and `--alerts` open alerts of a rule that escalates by a policy of
         two steps an hour apart (`escalate ops`), each with its next step pending. Their
         steps fall due spread evenly over `--spread` seconds (with the defaults ~33 a
         second), each paging through the dry-run webhook and setting the timer of the next.

The alerts are fired through `Pipeline.ingest` on a clock set an hour back, so that their
steps come due while the bench runs; each stack's clock runs only while it is measured (it
stands still otherwise), so the open stack's steps come due at the same pace in each of its
turns and none pile up while the other stack is measured.

Measured, the timer machinery's time being the event loop's CPU time (thread time) in every
`next_due` and `run_due` call of the timer loop, per second of wall time (the issue's target:
<= 10 ms/s), with the longest single sweep:

0. `--quiet` seconds with every step pending and none due yet;
1. `--idle` seconds of the open stack's timers alone, steps falling due;
2. ingest in turns (`--rounds`, each stack taking `--events` per turn, the two taking turns
   first): the seeded fleet stream of bench/fleet_events.py through the starter rules
   (rules/*.rules, every `notify` pointed at the webhook, as the soak runs them), in batches
   of 100 from 4 concurrent senders, as the HTTP API calls `Pipeline.ingest`. Events per
   second of wall time and CPU time per event, per turn; the open stack's rate over the none
   stack's, per round, median (the target: >= 0.90). The timers' cost during the open stack's
   turns too;
3. a catch-up: the clock set `--catch-up` seconds on (as after the daemon was down that long),
   every step due by then run: how long, in how many sweeps, and the longest sweep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alertd.config import load_settings  # noqa: E402
from alertd.incidents import TimerRun, TimerSource  # noqa: E402
from alertd.pipeline import Pipeline  # noqa: E402
from bench.fleet_events import generate_events  # noqa: E402

STEP = 3600.0  # the policy's steps are an hour apart
PAGE_RULE = """rule page {
  name     "Page"
  when     type == "page"
  priority high
  notify   webhook
  escalate ops
}
"""
ONCALL = """[escalation.ops]
[[escalation.ops.steps]]
after = "1h"
notify = ["webhook"]
[[escalation.ops.steps]]
after = "1h"
notify = ["webhook"]
"""


class PausableClock:
    """The real clock shifted by an offset that only grows, and stopped while paused: wall
    and monotonic time move together, so SteadyClock and every delay agree with it."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self._paused_at: float | None = None

    def _real(self) -> float:
        return time.time() if self._paused_at is None else self._paused_at

    def now(self) -> float:
        return self._real() + self.offset

    def monotonic(self) -> float:
        return self._real() + self.offset

    def jump_to(self, wall: float) -> None:
        """Set the clock forward to `wall`."""
        assert wall >= self.now() - 1e-3, "the clock would go back"
        self.offset = max(self.offset, wall - self._real())

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.time()

    def resume(self) -> None:
        if self._paused_at is not None:
            self.offset += self._paused_at - time.time()
            self._paused_at = None

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass
class TimerCost:
    """On-loop CPU time of the timer machinery: every `next_due` and `run_due` call."""

    seconds: float = 0.0
    longest: float = 0.0
    steps: int = 0
    sweeps: int = 0

    def reset(self) -> None:
        self.seconds = self.longest = 0.0
        self.steps = self.sweeps = 0

    def describe(self, wall: float) -> str:
        return (
            f"{self.steps:,} steps run in {self.sweeps:,} sweeps; on-loop "
            f"{self.seconds * 1000 / wall:.2f} ms per second of wall time (target <= 10); "
            f"longest sweep {self.longest * 1000:.2f} ms"
        )


class Measured:
    """A timer source whose calls are timed (thread CPU time: the event loop's thread)."""

    def __init__(self, source: TimerSource, cost: TimerCost) -> None:
        self.source = source
        self.cost = cost

    def next_due(self) -> float | None:
        started = time.thread_time()
        try:
            return self.source.next_due()
        finally:
            self.cost.seconds += time.thread_time() - started

    def run_due(self, now: float, limit: int) -> TimerRun:
        started = time.thread_time()
        try:
            run = self.source.run_due(now, limit)
        finally:
            spent = time.thread_time() - started
            self.cost.seconds += spent
            self.cost.longest = max(self.cost.longest, spent)
            self.cost.sweeps += 1
        self.cost.steps += run.ran
        return run


@dataclass
class Stack:
    name: str
    clock: PausableClock
    pipeline: Pipeline
    cost: TimerCost = field(default_factory=TimerCost)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    timers: asyncio.Task[None] | None = None

    def resume(self) -> None:
        self.clock.resume()
        if self.timers is None:
            self.timers = asyncio.create_task(self.pipeline.run_timers())

    async def pause(self) -> None:
        if self.timers is not None:
            self.timers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.timers
            self.timers = None
        self.clock.pause()

    async def close(self) -> None:
        await self.pause()
        await self.pipeline.drain(5)
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.pipeline.close()


def make_stack(name: str, home: Path, clock: PausableClock) -> Stack:
    folder = home / "rules"
    folder.mkdir(parents=True)
    for source in sorted((ROOT / "rules").glob("*.rules")):  # every `notify` to the webhook
        text = re.sub(r"(?m)^(\s*notify\s+).*$", r"\1webhook", source.read_text())
        (folder / source.name).write_text(text)
    (folder / "page.rules").write_text(PAGE_RULE)
    (home / "oncall.toml").write_text(ONCALL)
    (home / "alertd.toml").write_text(
        f"""[rules]
paths = ["rules"]
templates = "{ROOT / "templates"}"
[state]
path = "var/alertd.db"
[oncall]
path = "oncall.toml"
[dispatch]
dry_run = true
[engine]
max_past = 0  # the fleet stream is stamped in March 2026
"""
    )
    pipeline = Pipeline(load_settings(home / "alertd.toml"), clock)
    stack = Stack(name, clock, pipeline)
    pipeline.timer_sources = [Measured(source, stack.cost) for source in pipeline.timer_sources]
    stack.tasks.append(asyncio.create_task(pipeline.deliver()))
    return stack


async def settle(stack: Stack) -> None:
    """Until the stack has delivered everything it holds."""
    while stack.pipeline.outbox_depth():
        await asyncio.sleep(0.05)


async def open_alerts(stack: Stack, alerts: int, spread: float) -> float:
    """Fire `alerts` escalating alerts whose first steps fall due spread evenly over `spread`
    seconds from the time this returns, when the first is due. The stack's clock starts an
    hour back; batch N is fired at that clock plus its share of the spread; the caller sets
    the clock forward to the first due once it has measured the quiet time before it."""
    clock = stack.clock
    batch = max(1, round(alerts / spread))  # a second's worth of steps share one due time
    batches = -(-alerts // batch)
    started_real = time.time()
    base = clock.now()
    assert STEP - spread > 60, "the spread must leave filling a minute"
    for number in range(batches):
        clock.jump_to(base + (time.time() - started_real) + spread * number / batches)
        first = number * batch
        last = min(alerts, first + batch)
        events = [{"type": "page", "vehicle_id": f"p{n}"} for n in range(first, last)]
        await stack.pipeline.ingest(events, clock.now())
    filled = time.time() - started_real
    pending = stack.pipeline.store.connection.execute("SELECT count(*) FROM timers").fetchone()
    print(f"  {alerts:,} alerts opened in {filled:.1f} s; {pending[0]:,} steps pending")
    return base + STEP


async def ingest(
    stack: Stack, chunk: list[dict[str, Any]], senders: int = 4
) -> tuple[float, float]:
    """Send `chunk` in batches of 100 from `senders` concurrent callers; returns the wall
    seconds it took and the process's CPU seconds meanwhile."""
    batches = iter([chunk[i : i + 100] for i in range(0, len(chunk), 100)])

    async def sender() -> None:
        for batch in batches:
            await stack.pipeline.ingest(batch, stack.clock.now())

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(sender() for _ in range(senders)))
    return time.perf_counter() - started, time.process_time() - cpu


async def timers_alone(stack: Stack, seconds: float) -> float:
    """Run the stack's timers, and nothing else, for `seconds`; returns the wall time."""
    stack.cost.reset()
    stack.resume()
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    wall = time.perf_counter() - started
    await stack.pause()
    await settle(stack)
    return wall


async def catch_up(stack: Stack, behind: float) -> tuple[float, int]:
    """Set the stack's clock `behind` seconds on, as after a daemon was down that long, and
    run its timers until none is due; returns the wall time and the steps run."""
    stack.cost.reset()
    stack.clock.jump_to(stack.clock.now() + behind)
    target = stack.clock.now()
    stack.resume()
    started = time.perf_counter()
    while (due := stack.pipeline.store.next_timer_due()) is not None and due <= target:
        await asyncio.sleep(0.01)
    wall = time.perf_counter() - started
    await stack.pause()
    await settle(stack)
    return wall, stack.cost.steps


def chunks(events: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


async def bench(args: argparse.Namespace, folder: Path) -> None:
    total = args.events * (args.rounds + 1)
    events = generate_events(total, seed=7)
    none = make_stack("none", folder / "none", PausableClock())
    opened = make_stack("open", folder / "open", PausableClock(-STEP))  # see open_alerts
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000)
    try:
        print(f"load average at start: {os.getloadavg()}")
        stream = chunks(events, args.events)
        warm = next(stream)
        for stack in (none, opened):  # both stacks' windows warmed with the same events
            await ingest(stack, warm)
            await settle(stack)
            stack.clock.pause()
        opened.clock.resume()
        first_due = await open_alerts(opened, args.alerts, args.spread)
        await settle(opened)
        opened.clock.pause()

        # 0. Steps pending, none due yet.
        wall = await timers_alone(opened, args.quiet)
        print(f"steps pending, none due, {wall:.1f} s: {opened.cost.describe(wall)}")

        # 1. Timers alone.
        opened.clock.jump_to(first_due)
        wall = await timers_alone(opened, args.idle)
        print(f"timers alone, steps due, {wall:.1f} s: {opened.cost.describe(wall)}")

        # 2. Ingest in turns.
        rates: dict[str, list[float]] = {"none": [], "open": []}
        cpu: dict[str, list[float]] = {"none": [], "open": []}  # seconds per event
        during = TimerCost()
        open_wall = 0.0
        for round_number, chunk in zip(range(args.rounds), stream, strict=False):
            for stack in (none, opened) if round_number % 2 == 0 else (opened, none):
                stack.cost.reset()
                stack.resume()
                seconds, cpu_seconds = await ingest(stack, chunk)
                await settle(stack)
                await stack.pause()
                rates[stack.name].append(len(chunk) / seconds)
                cpu[stack.name].append(cpu_seconds / len(chunk))
                if stack is opened:
                    open_wall += seconds
                    during.seconds += stack.cost.seconds
                    during.steps += stack.cost.steps
                    during.longest = max(during.longest, stack.cost.longest)
            print(
                f"  round {round_number + 1}: none {rates['none'][-1]:,.0f} events/s "
                f"({cpu['none'][-1] * 1e6:.1f} us CPU each), open {rates['open'][-1]:,.0f} "
                f"events/s ({cpu['open'][-1] * 1e6:.1f} us), load {os.getloadavg()[0]:.2f}"
            )
        ratios = [o / n for o, n in zip(rates["open"], rates["none"], strict=True)]
        cpu_ratios = [n / o for o, n in zip(cpu["open"], cpu["none"], strict=True)]
        print(
            f"ingest, {args.rounds} rounds of {args.events:,} events: none "
            f"{statistics.median(rates['none']):,.0f}/s, open "
            f"{statistics.median(rates['open']):,.0f}/s; open / none per round, median "
            f"{statistics.median(ratios):.3f} (target >= 0.90): "
            + ", ".join(f"{r:.3f}" for r in ratios)
        )
        print(
            f"ingest CPU per event: none {statistics.median(cpu['none']) * 1e6:.1f} us, open "
            f"{statistics.median(cpu['open']) * 1e6:.1f} us; as a rate, open / none per round, "
            f"median {statistics.median(cpu_ratios):.3f}: "
            + ", ".join(f"{r:.3f}" for r in cpu_ratios)
        )
        print(
            f"timers during the open stack's ingest: {during.steps:,} steps, on-loop "
            f"{during.seconds * 1000 / open_wall:.2f} ms per second; longest sweep "
            f"{during.longest * 1000:.2f} ms"
        )

        # 3. A catch-up: the steps of `--catch-up` seconds due at once.
        wall, steps = await catch_up(opened, args.catch_up)
        print(
            f"catch-up of {args.catch_up:.0f} s: {steps:,} steps in {wall:.2f} s wall, "
            f"{opened.cost.sweeps} sweeps; longest sweep {opened.cost.longest * 1000:.2f} ms"
        )
        print(f"load average at end: {os.getloadavg()}")
    finally:
        for stack in (none, opened):
            await stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--spread", type=float, default=3000.0, help="seconds the steps span")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds with none due")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of timers alone")
    parser.add_argument("--catch-up", type=float, default=120.0, help="seconds of steps at once")
    parser.add_argument("--events", type=int, default=5_000, help="events per turn")
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the dry run logs every notification
    with tempfile.TemporaryDirectory(prefix="alertd-escalation-") as folder:
        asyncio.run(bench(args, Path(folder)))


if __name__ == "__main__":
    main()
