"""Chaos across nodes: three alertd on one PostgreSQL, kill -9 of a random node at random moments.

Three real `alertd run` nodes share a fresh PostgreSQL database (made for the run, dropped
after). A steady load of events, each with its own key and worth one webhook notification, goes
to the nodes in turn, as a load balancer would send it: a batch whose node is down, or whose
answer a kill cut off, is sent to the next node that is up (its events are suppressed by key if
they had been recorded, so each key still makes one alert). The local receiver (bench/harness.py)
answers 20% of the notifications, at random, with 500, so retries are always under way. Every
few seconds (a random moment, seeded) a random node that is up is killed with SIGKILL, and
started again after a random pause (0 to --max-down seconds): meanwhile its claimed sends wait
for it or for their lease to run out (30 s), and the other nodes take the load. After the last
kill the load stops, and the bench waits until every accepted event's notification arrived.

Counted at the receiver, by Idempotency-Key: lost (accepted events whose notification never
arrived: must be 0) and repeats (a notification answered 200 more than once). Only a send in
flight at a kill may go out again (at least once, same Idempotency-Key), so repeats per kill are
at most the channel's concurrency.

    flock /work/bench.lock .venv/bin/python bench/nodes_chaos_bench.py --kills 24

Needs the PostgreSQL server of ALERTD_BENCH_POSTGRES_URL (default the local one: trust
authentication, user postgres), where it may CREATE DATABASE. Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
from chaos_bench import DISPATCH, RULES, Run, load, tally
from harness import (
    Receiver,
    receiver,
    spawn_alertd,
    stop_process,
    wait_ready,
    write_alertd_config,
)

SERVER = os.environ.get("ALERTD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on the server, dropped afterwards; its URL."""
    name = f"alertd_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


class Node:
    """One alertd node in `home`, killed and started again on the same config."""

    def __init__(self, number: int, home: Path, port: int) -> None:
        self.number, self.home, self.port = number, home, port
        self.process = spawn_alertd(home)
        self.up = False

    async def ready(self) -> None:
        await wait_ready(self.port, "/readyz", self.process)
        self.up = True

    def kill(self) -> None:
        self.up = False
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    async def restart(self) -> None:
        self.process = spawn_alertd(self.home)
        await self.ready()


async def chaos(
    scratch: Path, sink: Receiver, url: str, args: argparse.Namespace
) -> dict[str, Any]:
    nodes = []
    for number in range(1, args.nodes + 1):
        home = scratch / f"node{number}"
        home.mkdir()
        port = write_alertd_config(
            home,
            sink.url,
            RULES,
            concurrency=args.concurrency,
            dispatch=DISPATCH,
            state=f'url = "{url}"',
        )
        nodes.append(Node(number, home, port))
    await sink.reset()
    await sink.fail_share(args.fail)
    run = Run("nodes")
    rng = random.Random(args.seed)
    stop = asyncio.Event()
    restarts: set[asyncio.Task[None]] = set()

    async def down_then_up(node: Node) -> None:
        await asyncio.sleep(rng.uniform(0, args.max_down))
        await node.restart()
        run.restarts.append(time.monotonic())

    try:
        await asyncio.gather(*(node.ready() for node in nodes))
        loader = asyncio.create_task(load(nodes, run, args, stop, pause=0.01))
        for _ in range(args.kills):
            await asyncio.sleep(rng.uniform(args.min_gap, args.max_gap))
            up = [node for node in nodes if node.up]
            if not up:
                continue
            victim = rng.choice(up)
            run.kills.append(time.monotonic())
            victim.kill()
            task = asyncio.create_task(down_then_up(victim))
            restarts.add(task)
            task.add_done_callback(restarts.discard)
        await asyncio.gather(*restarts)
        await asyncio.sleep(args.max_gap)
        stop.set()
        await loader
        await sink.fail_share(0)  # let the retries through, to count what arrives
        stats = await sink.wait_for(len(run.accepted), args.timeout, prefix="nodes-")
    finally:
        for node in nodes:
            stop_process(node.process)
    result = tally(run, stats, args)
    result["nodes"] = args.nodes
    result["target"] = f"{args.nodes} nodes"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--rate", type=int, default=300, help="events per second, all nodes")
    parser.add_argument("--batch", type=int, default=20, help="events per request")
    parser.add_argument("--fail", type=float, default=0.2, help="share answered 500")
    parser.add_argument("--min-gap", type=float, default=1.0, help="seconds between kills")
    parser.add_argument("--max-gap", type=float, default=3.0)
    parser.add_argument("--max-down", type=float, default=5.0, help="seconds a node stays down")
    parser.add_argument("--concurrency", type=int, default=4, help="[dispatch] concurrency")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for all")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (the logs)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            scratch = args.keep
        else:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="alertd-n-")))
        sink = stack.enter_context(receiver(scratch))
        url = stack.enter_context(fresh_database())
        result = asyncio.run(chaos(scratch, sink, url, args))
    print(orjson.dumps(result).decode(), flush=True)
    print(
        f"\n{'target':<10}{'kills':>6}{'accepted':>10}{'lost':>6}{'repeats':>9}"
        f"{'per kill':>10}{'max':>5}  concurrency"
    )
    r = result
    print(
        f"{r['target']:<10}{r['kills']:>6}{r['accepted']:>10}{r['lost']:>6}{r['repeats']:>9}"
        f"{r['repeats_per_kill_mean']:>10.2f}{r['repeats_per_kill_max']:>5}  {r['concurrency']}"
    )


if __name__ == "__main__":
    main()
