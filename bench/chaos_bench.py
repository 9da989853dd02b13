"""Chaos: kill -9 at random moments under load; count what was lost and what was sent twice.

A real `alertd run` (durability on, `[dispatch] concurrency` as shipped: 4) takes a steady load
of events, each with its own key and worth one webhook notification, from one keep-alive
connection; the local receiver (its own process, bench/harness.py) answers 20% of the
notifications, at random, with 500, so retries are always under way. Every few seconds (a
random moment, seeded) the daemon is killed with SIGKILL and started again on the same state;
a batch whose answer the kill cut off is sent again once the daemon is back (its events are
suppressed by key if they had been recorded, so each key still makes one alert). After the last
kill the load stops, and the bench waits until every accepted event's notification arrived.

Counted at the receiver, by Idempotency-Key: lost (accepted events whose notification never
arrived: must be 0) and repeats (a notification answered 200 more than once), each repeat put
down to the kill between its two arrivals. After a kill only the sends in flight at that moment
may go out again, so the repeats of one kill are at most the channel's concurrency.

    .venv/bin/python bench/chaos_bench.py --kills 30
    .venv/bin/python bench/chaos_bench.py --kills 30 --baseline-src /tmp/base   # + another tree

`--baseline-src` runs the same kills (same seed) against alertd from another source tree too,
in turn, so a change is measured against the code before it on the same machine.
Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import random
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from harness import (
    ROOT,
    TOKEN,
    Client,
    Receiver,
    receiver,
    spawn_alertd,
    stop_process,
    wait_ready,
    write_alertd_config,
)

RULES = """\
# One notification per distinct key; a batch sent again after a kill is suppressed by key.
rule chaos_event {
  name     "Chaos event"
  when     type == "chaos"
  priority high
  suppress 1h by key
  notify   webhook
}
"""

START_AFTER_KILL = 0.3
"""Seconds after a kill before which the next process cannot send (importing alertd alone takes
~1 s here), and within which a request the killed process sent reaches the receiver."""

DISPATCH = """\
backoff_initial = "100ms"
backoff_max = "1s"
max_attempts = 1000
"""


@dataclass
class Run:
    """One target's run: what was accepted, when each kill came."""

    name: str
    accepted: set[str] = field(default_factory=set)
    kills: list[float] = field(default_factory=list)  # time.monotonic() of each SIGKILL
    resent_batches: int = 0  # batches whose answer a kill cut off, sent again


class Daemon:
    """alertd in `home`, killed and started again on the same state."""

    def __init__(self, home: Path, port: int, source: Path) -> None:
        self.home, self.port, self.source = home, port, source
        self.process = spawn_alertd(home, source)
        self.up = False

    async def ready(self) -> None:
        await wait_ready(self.port, "/readyz", self.process)
        self.up = True

    async def kill_and_restart(self, run: Run) -> None:
        self.up = False
        run.kills.append(time.monotonic())
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = spawn_alertd(self.home, self.source)
        await self.ready()


class Target(Protocol):
    """A daemon the load goes to: its port, and whether it is up (killed: not yet ready)."""

    port: int
    up: bool


async def load(
    targets: Sequence[Target],
    run: Run,
    args: argparse.Namespace,
    stop: asyncio.Event,
    *,
    pause: float,
) -> None:
    """Batches of distinct keys at a steady rate, to the targets in turn; a batch is sent until
    a target answers 202: to the next one up after a failure, `pause` seconds after a 503."""
    clients = [Client("127.0.0.1", t.port, {"Authorization": f"Bearer {TOKEN}"}) for t in targets]
    interval = args.batch / args.rate
    number = 0
    turn = 0
    next_due = time.monotonic()
    while not stop.is_set():
        keys = [f"{run.name}-{number}-{i}" for i in range(args.batch)]
        number += 1
        body = b"\n".join(
            orjson.dumps({"type": "chaos", "key": k, "vehicle_id": f"v-{k}"}) for k in keys
        )
        tries = 0
        while True:
            turn = (turn + 1) % len(targets)
            if not targets[turn].up:
                await asyncio.sleep(0.001)
                continue
            tries += 1
            try:
                status, _ = await clients[turn].request(
                    "POST", "/v1/events", body, "application/x-ndjson"
                )
            except (OSError, asyncio.IncompleteReadError):
                await clients[turn].close()  # killed meanwhile: wait for it, or another takes it
                continue
            if status == 202:
                break
            await asyncio.sleep(pause)  # 503: starting, its outbox is full or database busy
        run.resent_batches += tries > 1
        run.accepted.update(keys)
        next_due += interval
        await asyncio.sleep(max(0.0, next_due - time.monotonic()))
    for client in clients:
        await client.close()


async def chaos(name: str, home: Path, sink: Receiver, args: argparse.Namespace) -> dict[str, Any]:
    source = args.baseline_src.resolve() if name == "baseline" else ROOT
    port = write_alertd_config(
        home, sink.url, RULES, concurrency=args.concurrency, source=source, dispatch=DISPATCH
    )
    await sink.reset()
    await sink.fail_share(args.fail)
    daemon = Daemon(home, port, source)
    run = Run(name)
    rng = random.Random(args.seed)
    stop = asyncio.Event()
    try:
        await daemon.ready()
        loader = asyncio.create_task(load([daemon], run, args, stop, pause=0.05))
        for _ in range(args.kills):
            await asyncio.sleep(rng.uniform(args.min_gap, args.max_gap))
            await daemon.kill_and_restart(run)
        await asyncio.sleep(args.max_gap)
        stop.set()
        await loader
        await sink.fail_share(0)  # let the retries through, to count what arrives
        stats = await sink.wait_for(len(run.accepted), args.timeout, prefix=f"{name}-")
    finally:
        stop_process(daemon.process)
    result = tally(run, stats, args)
    result["logged_sent_twice"] = logged_sent_twice(home / "alertd.log")
    return result


def logged_sent_twice(log: Path) -> int:
    """Notifications whose send two log lines say was answered 2xx: a process that sent one
    twice logs both sends, where a copy sent again after a kill was never logged by the killed
    process (the bench's own attribution goes by when it saw each restart ready, which lags
    the new process's first sends by tens of milliseconds)."""
    sent: Counter[str] = Counter()
    with log.open("rb") as lines:
        for line in lines:
            if b'"outcome":"sent"' in line:
                sent[orjson.loads(line)["notification_id"]] += 1
    return sum(1 for count in sent.values() if count > 1)


def tally(run: Run, stats: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    arrived = set(stats["arrivals"])
    per_kill: Counter[int] = Counter()
    unexplained = 0
    # Which process sent a copy: the one running when it arrived, each taken to start
    # START_AFTER_KILL after the kill before it. Not the restart's readiness as the bench sees
    # it: a new process sends its first notifications tens of milliseconds before that.
    starts = [kill + START_AFTER_KILL for kill in run.kills]
    lags: list[float] = []  # of a repeat sent twice by one process: its first copy's arrival
    # after that process started
    twice: list[str] = []  # of those, the notifications' ids (to find in alertd.log)
    gaps: list[float] = []  # of those, seconds between the two copies' arrivals
    sent_late: list[float] = []  # of those, seconds from their first copy's send to arrival
    for identity, times in stats["repeats"].items():
        for before, after in itertools.pairwise(times):
            first, again = (bisect.bisect_right(starts, t) for t in (before, after))
            if first < again:
                per_kill[first] += 1  # the copy's process was killed by kill number `first`
            else:
                unexplained += 1  # sent twice by one process
                if first:
                    lags.append(round(before - starts[first - 1], 3))
                gaps.append(round(after - before, 3))
                twice.append(identity)
                if identity in stats.get("first_delay", {}):
                    sent_late.append(stats["first_delay"][identity])
    counts = [per_kill[k] for k in range(len(run.kills))]
    return {
        "target": run.name,
        "kills": len(run.kills),
        "accepted": len(run.accepted),
        "delivered": len(arrived & run.accepted),
        "lost": len(run.accepted - arrived),
        "repeats": sum(counts) + unexplained,
        "repeats_per_kill_mean": sum(counts) / max(1, len(counts)),
        "repeats_per_kill_max": max(counts, default=0),
        "repeats_per_kill": counts,
        "repeats_without_a_kill": unexplained,
        "their_first_copy_after_the_restart_s": sorted(lags),
        "their_first_copy_sent_s_before_it_arrived": sorted(sent_late),
        "seconds_between_their_copies": gaps,
        "their_ids": twice,
        "concurrency": args.concurrency,
        "failed_500": stats["failed"],
        "resent_batches": run.resent_batches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--rate", type=int, default=1000, help="events per second")
    parser.add_argument("--batch", type=int, default=50, help="events per request")
    parser.add_argument("--fail", type=float, default=0.2, help="share answered 500")
    parser.add_argument("--min-gap", type=float, default=1.0, help="seconds between kills")
    parser.add_argument("--max-gap", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=4, help="[dispatch] concurrency")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for all")
    parser.add_argument("--targets", default="alertd")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also run alertd from this source tree, as the target 'baseline'",
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (the logs)")
    args = parser.parse_args()

    targets = args.targets.split(",") + (["baseline"] if args.baseline_src else [])
    results = []
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            scratch = str(args.keep)
        else:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="alertd-chaos-"))
        sink = stack.enter_context(receiver(Path(scratch)))
        for name in targets:
            home = Path(scratch) / name
            home.mkdir()
            result = asyncio.run(chaos(name, home, sink, args))
            results.append(result)
            print(orjson.dumps(result).decode(), flush=True)
    print(
        f"\n{'target':<10}{'kills':>6}{'accepted':>10}{'lost':>6}{'repeats':>9}"
        f"{'per kill':>10}{'max':>5}  concurrency"
    )
    for r in results:
        print(
            f"{r['target']:<10}{r['kills']:>6}{r['accepted']:>10}{r['lost']:>6}{r['repeats']:>9}"
            f"{r['repeats_per_kill_mean']:>10.2f}{r['repeats_per_kill_max']:>5}  {r['concurrency']}"
        )


if __name__ == "__main__":
    main()
