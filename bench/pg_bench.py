"""Ingest with durable 202s and delivery: one node on SQLite, one on PostgreSQL, and 1, 2 and 4
worker processes (`alertd run --workers N`) on PostgreSQL, in the same run.

Each target takes N events with distinct keys (NDJSON batches of B events over C keep-alive
connections, so that the kernel can spread the connections over the workers), each worth one
webhook notification to the local receiver (bench/harness.py, its own process). Measured per
target: events accepted per second (first request to last 202; every 202 means the batch's
alerts and notifications are committed) and seconds until the last notification arrived; and
where the time went: CPU seconds of the alertd processes and of PostgreSQL's (its backends and
what the server reaped of them) over the measured load. Ratios against the SQLite node and
against one PostgreSQL worker come from the same run.

    flock /work/bench.lock .venv/bin/python bench/pg_bench.py --runs 3

Needs the PostgreSQL server of ALERTD_BENCH_POSTGRES_URL (default the local one), where it may
CREATE DATABASE (one fresh database per target). Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from e2e_bench import BENCH_RULE, Target
from harness import (
    ROOT,
    Receiver,
    cpu_seconds_of,
    receiver,
    stop_process,
    wait_ready,
    write_alertd_config,
)
from nodes_chaos_bench import fresh_database

TARGETS = ("sqlite", "pg", "pg-2w", "pg-4w")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (a supervisor's workers)."""
    total = cpu_seconds_of(pid)
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError):
                total += cpu_seconds_of(int(child))
    return total


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process, and of the backends its server reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (proc / "cmdline").read_bytes()
            if not command.startswith(b"postgres") and b"/bin/postgres" not in command[:80]:
                continue
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
            total += sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    return total


def own_cpu() -> float:
    """CPU seconds of this process: the load generator's."""
    times = os.times()
    return times.user + times.system


def sink_cpu(sink: Receiver) -> float:
    return cpu_seconds_of(sink.process.pid)


def busy_cpu() -> float:
    """CPU seconds the whole machine has been busy (every core, every process) since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def started(name: str, tmp: Path, sink: Receiver, concurrency: int) -> Iterator[Target]:
    home = tmp / name
    home.mkdir()
    with contextlib.ExitStack() as stack:
        state = ""
        if name != "sqlite":
            state = f'url = "{stack.enter_context(fresh_database())}"'
        port = write_alertd_config(home, sink.url, BENCH_RULE, concurrency=concurrency, state=state)
        workers = name.partition("-")[2].rstrip("w") or "1"
        process = subprocess.Popen(
            [sys.executable, "-m", "alertd", "run", "-c", "alertd.toml", "--workers", workers],
            cwd=home,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=(home / "alertd.log").open("ab"),
        )
        try:
            asyncio.run(wait_ready(port, "/readyz", process))
            if workers != "1":  # every worker up, not only the first
                asyncio.run(_all_listening(home, int(workers)))
            yield Target(name, port, process)
        finally:
            stop_process(process)


async def _all_listening(home: Path, workers: int) -> None:
    deadline = time.monotonic() + 60
    while (home / "alertd.log").read_text().count('"msg":"listening"') < workers:
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not all start")
        await asyncio.sleep(0.1)


async def measure(
    target: Target, sink: Receiver, args: argparse.Namespace, tag: str
) -> dict[str, Any]:
    warm = [f"warm-{tag}-{i}" for i in range(500)]
    await target.load("batch", warm, args.batch, args.connections).run()
    await sink.wait_for(len(warm), timeout=60, prefix=f"warm-{tag}-")
    await sink.reset()
    keys = [f"{tag}-{i}" for i in range(args.events)]
    load = target.load("batch", keys, args.batch, args.connections)
    before = cpu_now(target, sink)
    began = time.monotonic()
    sent = await load.run()
    accepted = max(s.answered for s in sent)
    ingested = cpu_now(target, sink)  # when the last 202 came (deliveries go on)
    stats = await sink.wait_for(args.events, timeout=300, prefix=f"{tag}-")
    ended = time.monotonic()
    after = cpu_now(target, sink)
    delivered = max(stats["arrivals"].values(), default=float("nan"))
    result: dict[str, Any] = {
        "target": target.name,
        "events": args.events,
        "ingest_per_s": args.events / (accepted - began),
        "all_delivered_s": delivered - began,
        "delivered": len(stats["arrivals"]),
        "duplicates": stats["duplicates"],
        "retries_503": sum(s.retries for s in sent),
        "cores": os.cpu_count(),
        "wall_s": ended - began,
        "ingest_wall_s": accepted - began,
    }
    # CPU seconds of each over the whole load (first request to last delivery) and over the
    # ingest alone (to the last 202): alertd's processes, PostgreSQL's, this process (the
    # load generator, and its polls of the receiver), the receiver's, and the whole machine's
    # (every process's, the other helpers' too).
    for at, name in enumerate(CPU):
        result[f"cpu_{name}_s"] = after[at] - before[at]
        result[f"cpu_{name}_ingest_s"] = ingested[at] - before[at]
    return result


CPU = ("alertd", "postgres", "load", "receiver", "machine")


def cpu_now(target: Target, sink: Receiver) -> tuple[float, ...]:
    """CPU seconds so far of each of CPU."""
    return tree_cpu(target.process.pid), postgres_cpu(), own_cpu(), sink_cpu(sink), busy_cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50, help="events per request")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4, help="[dispatch] concurrency")
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    targets = args.targets.split(",")
    results: list[dict[str, Any]] = []
    print(f"loadavg before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="alertd-pgb-")))
        sink = stack.enter_context(receiver(scratch))
        for run in range(args.runs):
            for name in targets:  # in turn, each run: drift hits every target alike
                tmp = scratch / f"{run}"
                tmp.mkdir(exist_ok=True)
                with started(name, tmp, sink, args.concurrency) as target:
                    result = asyncio.run(measure(target, sink, args, f"{name}-{run}"))
                results.append(result)
                print(orjson.dumps(result).decode(), flush=True)
    print(f"loadavg after: {Path('/proc/loadavg').read_text().strip()}")
    report(results, targets)


def report(results: list[dict[str, Any]], targets: list[str]) -> None:
    keys = (
        "ingest_per_s",
        "all_delivered_s",
        "cpu_alertd_s",
        "cpu_postgres_s",
        "cpu_load_s",
        "cpu_receiver_s",
        "cpu_machine_s",
        "wall_s",
        "ingest_wall_s",
        "cpu_alertd_ingest_s",
        "cpu_machine_ingest_s",
    )
    median = {
        name: {
            key: statistics.median(r[key] for r in results if r["target"] == name) for key in keys
        }
        for name in targets
    }
    base = median.get("sqlite", {}).get("ingest_per_s")
    one = median.get("pg", {}).get("ingest_per_s")
    print(
        f"\n{'target':<8}{'ingest/s':>10}{'delivered s':>13}{'cpu alertd':>12}"
        f"{'cpu pg':>8}{'x sqlite':>10}{'x pg 1':>8}   (medians)"
    )
    for name in targets:
        m = median[name]
        print(
            f"{name:<8}{m['ingest_per_s']:>10.0f}{m['all_delivered_s']:>13.2f}"
            f"{m['cpu_alertd_s']:>12.2f}{m['cpu_postgres_s']:>8.2f}"
            f"{m['ingest_per_s'] / base if base else float('nan'):>10.2f}"
            f"{m['ingest_per_s'] / one if one else float('nan'):>8.2f}"
        )
    # Where the CPU went, per event, from the first request to the last delivery: the bound
    # it sets on two cores (or `cores`) is cores / (CPU seconds an event) events a second.
    cores = os.cpu_count() or 1
    print(
        f"\n{'target':<8}{'us/event: alertd':>17}{'pg':>6}{'load':>6}{'recv':>6}{'sum':>6}"
        f"{'machine':>9}{'busy %':>8}{'bound/s':>9}   (CPU per event; busy: of {cores} cores)"
    )
    for name in targets:
        m = median[name]
        per = {key: 1e6 * m[key] / results[0]["events"] for key in keys[2:7]}
        ours = sum(per[key] for key in keys[2:6])
        busy = 100 * m["cpu_machine_s"] / (cores * m["wall_s"])
        print(
            f"{name:<8}{per['cpu_alertd_s']:>17.0f}{per['cpu_postgres_s']:>6.0f}"
            f"{per['cpu_load_s']:>6.0f}{per['cpu_receiver_s']:>6.0f}{ours:>6.0f}"
            f"{per['cpu_machine_s']:>9.0f}{busy:>8.0f}{cores * 1e6 / ours:>9.0f}"
        )
    # While the 202s come: how busy the machine's cores were, and alertd's processes (one
    # worker can use one core at most: its event loop evaluates, renders and delivers).
    print(f"\n{'target':<8}{'ingest: busy %':>15}{'alertd cores':>14}   (of {cores} cores)")
    for name in targets:
        m = median[name]
        wall = m["ingest_wall_s"]
        print(
            f"{name:<8}{100 * m['cpu_machine_ingest_s'] / (cores * wall):>15.0f}"
            f"{m['cpu_alertd_ingest_s'] / wall:>14.2f}"
        )


if __name__ == "__main__":
    main()
