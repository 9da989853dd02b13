"""Storm: urgent pages through a burst of medium alerts, alertd against Prometheus Alertmanager.

The workload of issue 12: 10,000 medium alerts POSTed in batches of 500 as fast as they are
accepted (one connection: the next batch goes when the last is answered), with 50 urgent events
spread evenly through the burst (inside the batches, at their place in the stream); every event
has its own key, so each is worth exactly one webhook notification. The notifications go to one
local receiver (its own process, bench/harness.py) that stamps each arrival and counts every
notification by its Idempotency-Key (alertd) or its group key (Alertmanager).

Measured per target: event-to-delivery latency (a notification's arrival minus the moment the
request carrying its event was sent), p50 / p99 / max, for the urgent and for the medium
notifications; how many arrived, and how many more than once; and the CPU time the target's
process used from the first request to the last arrival, per event (a figure the load of a
shared machine stretches less than latency). alertd runs two rules (`priority
medium` and `priority urgent`, `suppress 1h by key`, `notify webhook`) with durability on
(SQLite WAL, `synchronous = FULL`, a batch committed before its 202) and `[dispatch]
concurrency` as shipped (4). Alertmanager 0.25 gets the same alerts on `/api/v2/alerts`
(labels `alertname`, `key`, `priority`), `group_by: [key]` and the smallest waits it accepts
(`group_wait: 0s`; `group_interval` 1ms, its least, and 1s: it only spaces a group's later
notifications, none here, but at 1ms each of the 10,050 groups wakes every millisecond);
it has no priorities, so its figure is its p99 over everything.

    apt-get install -y prometheus-alertmanager       # 0.25.0 from Debian, once, as root
    .venv/bin/python bench/storm_bench.py --runs 5
    .venv/bin/python bench/storm_bench.py --runs 5 --baseline-src /tmp/base   # + another tree

Without the Alertmanager binary it says so and measures alertd alone. Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from harness import (
    ALERTMANAGER,
    ROOT,
    TOKEN,
    Load,
    Receiver,
    Sent,
    alertd_process,
    alertmanager_process,
    cpu_seconds_of,
    percentile,
    receiver,
)

RULES = """\
# One notification per distinct key: the storm never repeats a key.
rule storm_medium {
  name     "Storm (medium)"
  when     type == "storm" and level == "medium"
  priority medium
  suppress 1h by key
  notify   webhook
}

rule storm_urgent {
  name     "Storm (urgent)"
  when     type == "storm" and level == "urgent"
  priority urgent
  suppress 1h by key
  notify   webhook
}
"""

Batch = list[tuple[str, str]]  # (key, level) of each event, in order


def storm(tag: str, medium: int, urgent: int, batch: int) -> list[Batch]:
    """`medium` events in batches of `batch`, with `urgent` events spread evenly among them
    (urgent i goes just before medium event (i + 1/2) * medium / urgent): 20 batches of 502 or
    503 events for the issue's workload."""
    places = {round((i + 0.5) * medium / urgent): i for i in range(urgent)} if urgent else {}
    batches: list[Batch] = []
    for start in range(0, medium, batch):
        events: Batch = []
        for m in range(start, min(start + batch, medium)):
            if m in places:
                events.append((f"{tag}-u{places[m]}", "urgent"))
            events.append((f"{tag}-m{m}", "medium"))
        batches.append(events)
    return batches


@dataclass
class Target:
    name: str
    port: int
    pid: int

    def load(self, batches: list[Batch]) -> Load:
        if self.name.startswith("alertmanager"):
            payloads = [
                (orjson.dumps([am_alert(k, level) for k, level in b]), Sent([k for k, _ in b]))
                for b in batches
            ]
            return Load("127.0.0.1", self.port, "/api/v2/alerts", payloads, concurrency=1)
        payloads = [
            (b"\n".join(orjson.dumps(event(k, level)) for k, level in b), Sent([k for k, _ in b]))
            for b in batches
        ]
        return Load(
            "127.0.0.1",
            self.port,
            "/v1/events",
            payloads,
            content_type="application/x-ndjson",
            headers={"Authorization": f"Bearer {TOKEN}"},
            concurrency=1,
        )


def event(key: str, level: str) -> dict[str, object]:
    return {"type": "storm", "level": level, "key": key, "vehicle_id": f"v-{key}"}


def am_alert(key: str, level: str) -> dict[str, object]:
    return {
        "labels": {"alertname": "storm", "key": key, "priority": level},
        "annotations": {"vehicle_id": f"v-{key}"},
    }


@contextlib.contextmanager
def start(name: str, tmp: Path, receiver_url: str, args: argparse.Namespace) -> Iterator[Target]:
    if name.startswith("alertmanager"):
        interval = name.partition("/")[2]
        with alertmanager_process(tmp, receiver_url, group_interval=interval) as (
            port,
            process,
        ):
            yield Target(name, port, process.pid)
        return
    source = args.baseline_src.resolve() if name == "baseline" else ROOT
    with alertd_process(
        tmp, receiver_url, RULES, concurrency=args.dispatch_concurrency, source=source
    ) as (port, process):
        yield Target(name, port, process.pid)


async def measure(
    target: Target, sink: Receiver, tag: str, args: argparse.Namespace
) -> dict[str, Any]:
    warm = storm(f"warm-{tag}", 200, 0, 100)
    await target.load(warm).run()
    await sink.wait_for(200, timeout=30, prefix=f"warm-{tag}-")
    await sink.reset()

    batches = storm(tag, args.medium, args.urgent, args.batch)
    total = sum(len(b) for b in batches)
    cpu_before = cpu_seconds_of(target.pid)
    started = time.monotonic()
    sent = await target.load(batches).run()
    accepted = max(s.answered for s in sent)
    stats = await sink.wait_for(total, timeout=args.timeout, prefix=f"{tag}-")
    cpu = cpu_seconds_of(target.pid) - cpu_before
    arrivals: dict[str, float] = stats["arrivals"]
    latency: dict[str, list[float]] = {"urgent": [], "medium": []}
    answered: list[float] = []  # event to 202, for the urgent events
    for s in sent:
        for key in s.keys:
            level = "urgent" if key.startswith(f"{tag}-u") else "medium"
            if level == "urgent":
                answered.append(1000 * (s.answered - s.started))
            if key in arrivals:
                latency[level].append(1000 * (arrivals[key] - s.started))
    every = latency["urgent"] + latency["medium"]
    return {
        "target": target.name,
        "events": total,
        "accepted_per_s": total / (accepted - started),
        "delivered": len(arrivals),
        "notifications": len(stats["first"]),
        "duplicates": stats["duplicates"],
        "all_delivered_s": max(arrivals.values(), default=float("nan")) - started,
        "urgent_p50_ms": percentile(latency["urgent"], 0.50),
        "urgent_p99_ms": percentile(latency["urgent"], 0.99),
        "urgent_max_ms": max(latency["urgent"], default=float("nan")),
        "urgent_accepted_p50_ms": percentile(answered, 0.50),
        "urgent_accepted_p99_ms": percentile(answered, 0.99),
        "medium_p50_ms": percentile(latency["medium"], 0.50),
        "medium_p99_ms": percentile(latency["medium"], 0.99),
        "all_p50_ms": percentile(every, 0.50),
        "all_p99_ms": percentile(every, 0.99),
        "retries_503": sum(s.retries for s in sent),
        "cpu_us_per_event": 1e6 * cpu / total,
    }


COLUMNS = (
    ("urgent_p50_ms", "urgent p50"),
    ("urgent_p99_ms", "urgent p99"),
    ("urgent_max_ms", "urgent max"),
    ("medium_p50_ms", "medium p50"),
    ("medium_p99_ms", "medium p99"),
    ("all_p99_ms", "all p99"),
    ("all_delivered_s", "last at s"),
    ("cpu_us_per_event", "CPU us/ev"),
)


def report(results: list[dict[str, Any]], total: int) -> None:
    """Medians over runs, the urgent p99 of each run, and the ratio to Alertmanager's p99 over
    everything in the same run."""
    print(f"\nmedian of {len({r['run'] for r in results})} runs (ms, but 'last at' in s):")
    print(f"{'target':<18}" + "".join(f"{title:>12}" for _, title in COLUMNS) + "  exactly once")
    targets = list(dict.fromkeys(r["target"] for r in results))
    for name in targets:
        rows = [r for r in results if r["target"] == name]
        cells = "".join(
            f"{statistics.median(float(r[field]) for r in rows):>12.1f}" for field, _ in COLUMNS
        )
        once = sum(r["notifications"] == total and r["duplicates"] == 0 for r in rows)
        print(f"{name:<18}{cells}  {once} of {len(rows)} runs")
    for name in targets:
        rows = [r for r in results if r["target"] == name]
        per_run = ", ".join(f"{r['urgent_p99_ms']:.0f}" for r in rows)
        print(f"{name}: urgent p99 per run {per_run} ms")
    by_run: dict[int, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_run.setdefault(r["run"], {})[r["target"]] = r
    managers = [name for name in targets if name.startswith("alertmanager")]
    for name in targets:
        for manager in managers if not name.startswith("alertmanager") else []:
            ratios = [
                run[name]["urgent_p99_ms"] / run[manager]["all_p99_ms"]
                for run in by_run.values()
                if name in run and manager in run
            ]
            print(
                f"{name}: urgent p99 / {manager} p99 over all, in the same run: median "
                f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--medium", type=int, default=10_000)
    parser.add_argument("--urgent", type=int, default=50)
    parser.add_argument("--batch", type=int, default=500, help="medium events per request")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default="alertmanager,alertd")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also run alertd from this source tree in every run, as the target 'baseline'",
    )
    parser.add_argument(
        "--dispatch-concurrency", type=int, default=4, help="alertd [dispatch] concurrency"
    )
    parser.add_argument(
        "--am-group-intervals",
        default="1ms,1s",
        help="an Alertmanager target for each group_interval (each alert is a group of its "
        "own, notified once)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (the targets' logs)"
    )
    args = parser.parse_args()

    targets = args.targets.split(",") + (["baseline"] if args.baseline_src else [])
    if "alertmanager" in targets:
        at = targets.index("alertmanager")
        managers = [f"alertmanager/{i}" for i in args.am_group_intervals.split(",")]
        if ALERTMANAGER is None:
            print(
                "prometheus-alertmanager is not installed (apt-get install -y "
                "prometheus-alertmanager, as root): measuring alertd alone"
            )
            managers = []
        targets[at : at + 1] = managers
    total = args.medium + args.urgent
    results: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            scratch = str(args.keep)
        else:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="alertd-storm-"))
        sink = stack.enter_context(receiver(Path(scratch)))
        for run in range(args.runs):
            for name in targets:
                tag = f"{name.replace('/', '-')}{run}"
                tmp = Path(scratch) / tag
                tmp.mkdir()
                with start(name, tmp, sink.url, args) as target:
                    result = asyncio.run(measure(target, sink, tag, args))
                result["run"] = run
                results.append(result)
                print(orjson.dumps(result).decode(), flush=True)
    report(results, total)


if __name__ == "__main__":
    main()
