"""End to end, alertd against Prometheus Alertmanager, in the same run and the same harness.

N events with distinct keys go in over HTTP, each worth exactly one notification; N webhook
notifications come out to one local receiver (its own process). Measured per target and mode:

- ingest rate: events accepted per second, from the first request to the last answer;
- delivery: seconds from the first request until the N-th notification arrived;
- event-to-webhook latency (p50 / p99 / max): a notification's arrival minus the moment the
  request that carried its event was sent.

Modes: `batch` (alertd: NDJSON, Alertmanager: a JSON array, B events per request, over one
connection), `single` (one event per request, over four connections), and `pacedRATE` (a
steady RATE events/s for --duration seconds, in requests of --paced-batch events sent on a
fixed schedule over up to four connections; latency counts from each request's due time, so
falling behind shows). Alertmanager is
configured as the issue says: `group_by: [key]`, `group_wait: 0s`. alertd runs with durability
on: SQLite state (WAL) on disk, every batch's alerts and notifications committed before its 202.

    apt-get install -y prometheus-alertmanager     # once, as root
    .venv/bin/python bench/e2e_bench.py --runs 3
    .venv/bin/python bench/e2e_bench.py --runs 3 --modes paced2000,paced5000

`--baseline-src DIR` adds a third target in every run: alertd from another source tree (say
`git archive main | tar -x -C DIR`), run with the same Python and config, so that a change is
measured against the code before it, in turn, on the same machine.

Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from harness import (
    ROOT,
    TOKEN,
    Load,
    Receiver,
    Sent,
    alertd_process,
    alertmanager_process,
    percentile,
    receiver,
)

BENCH_RULE = """\
# One notification per distinct key: the benchmark's event stream never repeats a key.
rule bench_event {
  name     "Benchmark event"
  when     type == "bench"
  priority high
  suppress 1h by key
  notify   webhook
}
"""


@dataclass
class Target:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    def load(
        self,
        mode: str,
        keys: list[str],
        batch: int,
        concurrency: int,
        interval: float | None = None,
    ) -> Load:
        groups = (
            [keys[i : i + batch] for i in range(0, len(keys), batch)]
            if batch > 1
            else [[key] for key in keys]
        )
        if self.name == "alertmanager":
            payloads = [(orjson.dumps([am_alert(k) for k in g]), Sent(g)) for g in groups]
            return Load(
                "127.0.0.1",
                self.port,
                "/api/v2/alerts",
                payloads,
                concurrency=concurrency,
                interval=interval,
            )
        if batch > 1:
            payloads = [(b"\n".join(orjson.dumps(event(k)) for k in g), Sent(g)) for g in groups]
            content_type = "application/x-ndjson"
        else:
            payloads = [(orjson.dumps(event(g[0])), Sent(g)) for g in groups]
            content_type = "application/json"
        return Load(
            "127.0.0.1",
            self.port,
            "/v1/events",
            payloads,
            content_type=content_type,
            headers={"Authorization": f"Bearer {TOKEN}"},
            concurrency=concurrency,
            interval=interval,
        )


def event(key: str) -> dict[str, object]:
    return {"type": "bench", "key": key, "vehicle_id": f"v-{key}", "severity": "critical"}


def am_alert(key: str) -> dict[str, object]:
    return {
        "labels": {"alertname": "bench_event", "key": key, "severity": "critical"},
        "annotations": {"vehicle_id": f"v-{key}"},
    }


@contextlib.contextmanager
def alertmanager(tmp: Path, receiver_url: str) -> Iterator[Target]:
    with alertmanager_process(tmp, receiver_url) as (port, process):
        yield Target("alertmanager", port, process)


@contextlib.contextmanager
def alertd(
    tmp: Path, receiver_url: str, concurrency: int, name: str = "alertd", source: Path = ROOT
) -> Iterator[Target]:
    """alertd from `source` (this tree unless a baseline's), with durability on."""
    with alertd_process(tmp, receiver_url, BENCH_RULE, concurrency=concurrency, source=source) as (
        port,
        process,
    ):
        yield Target(name, port, process)


async def measure(
    target: Target,
    receiver: Receiver,
    *,
    mode: str,
    count: int,
    batch: int,
    concurrency: int,
    tag: str,
    interval: float | None = None,
) -> dict[str, object]:
    warm = [f"warm-{tag}-{i}" for i in range(200)]
    await target.load(mode, warm, batch, concurrency).run()
    await receiver.wait_for(len(warm), timeout=30, prefix=f"warm-{tag}-")
    await receiver.reset()

    keys = [f"{tag}-{i}" for i in range(count)]
    load = target.load(mode, keys, batch, concurrency, interval)
    started = time.monotonic()
    sent = await load.run()
    accepted = max(s.answered for s in sent)
    stats = await receiver.wait_for(count, timeout=120, prefix=f"{tag}-")
    arrivals: dict[str, float] = stats["arrivals"]
    latencies = [arrivals[k] - s.started for s in sent for k in s.keys if k in arrivals]
    delivered = max(arrivals.values(), default=float("nan"))
    return {
        "target": target.name,
        "mode": mode,
        "events": count,
        "ingest_per_s": count / (accepted - started),
        "delivered": len(arrivals),
        "duplicates": stats["duplicates"],
        "all_delivered_s": delivered - started,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * max(latencies, default=float("nan")),
        "retries_503": sum(s.retries for s in sent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--batch-concurrency",
        type=int,
        default=1,
        help="client connections in batch mode (1: as the issue measured Alertmanager)",
    )
    parser.add_argument(
        "--single-concurrency", type=int, default=4, help="client connections in single mode"
    )
    parser.add_argument(
        "--dispatch-concurrency",
        type=int,
        default=4,
        help="alertd [dispatch] concurrency (webhook sends in flight)",
    )
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds of load in the paced modes"
    )
    parser.add_argument(
        "--paced-batch", type=int, default=100, help="events per request in the paced modes"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default="alertmanager,alertd")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also run alertd from this source tree in every run, as the target 'baseline'",
    )
    parser.add_argument(
        "--modes",
        default="batch,single",
        help="batch, single, and pacedRATE: RATE events/s for --duration seconds (paced2000)",
    )
    args = parser.parse_args()

    targets = args.targets.split(",") + (["baseline"] if args.baseline_src else [])
    results: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(
            prefix="alertd-bench-", dir=ROOT / "var" if (ROOT / "var").is_dir() else None
        ) as scratch,
        receiver(Path(scratch)) as sink,
    ):
        for run in range(args.runs):
            for name in targets:
                for mode in args.modes.split(","):
                    tmp = Path(scratch) / f"{name}-{mode}-{run}"
                    tmp.mkdir()
                    if name == "alertmanager":
                        starter = alertmanager(tmp, sink.url)
                    elif name == "baseline":
                        source = args.baseline_src.resolve()
                        starter = alertd(tmp, sink.url, args.dispatch_concurrency, name, source)
                    else:
                        starter = alertd(tmp, sink.url, args.dispatch_concurrency)
                    with starter as target:
                        result = asyncio.run(
                            measure(target, sink, tag=f"{name}-{mode}-{run}", **shape(mode, args))
                        )
                    results.append(result)
                    print(orjson.dumps(result).decode(), flush=True)
    report(results)


def shape(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """The load of a mode: how many events, how many per request, connections, spacing."""
    if mode == "batch":
        return {
            "mode": mode,
            "count": args.events,
            "batch": args.batch,
            "concurrency": args.batch_concurrency,
        }
    if mode == "single":
        return {
            "mode": mode,
            "count": args.events,
            "batch": 1,
            "concurrency": args.single_concurrency,
        }
    if mode.startswith("paced"):
        rate = float(mode.removeprefix("paced"))
        return {
            "mode": mode,
            "count": int(rate * args.duration),
            "batch": args.paced_batch,
            "concurrency": 4,
            "interval": args.paced_batch / rate,
        }
    raise SystemExit(f"unknown mode {mode!r}")


def report(results: list[dict[str, object]]) -> None:
    """Medians over runs, and alertd's ratio to Alertmanager measured in the same run."""
    print("\nmedian of runs:")
    print(
        f"{'target':<13}{'mode':<11}{'ingest/s':>10}{'all delivered s':>17}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    medians: dict[tuple[str, str], dict[str, float]] = {}
    modes = list(dict.fromkeys(str(r["mode"]) for r in results))
    for mode in modes:
        for target in ("alertmanager", "alertd", "baseline"):
            rows = [r for r in results if r["target"] == target and r["mode"] == mode]
            if not rows:
                continue
            med = {
                field: statistics.median(float(r[field]) for r in rows)  # type: ignore[arg-type]
                for field in ("ingest_per_s", "all_delivered_s", "p50_ms", "p99_ms", "max_ms")
            }
            medians[(target, mode)] = med
            print(
                f"{target:<13}{mode:<11}{med['ingest_per_s']:>10.0f}"
                f"{med['all_delivered_s']:>17.2f}{med['p50_ms']:>9.1f}{med['p99_ms']:>9.1f}"
                f"{med['max_ms']:>9.1f}"
            )
    for mode in modes:
        for target in ("alertd", "baseline"):
            if (target, mode) in medians and ("alertmanager", mode) in medians:
                ours, theirs = medians[(target, mode)], medians[("alertmanager", mode)]
                print(
                    f"{mode}: {target} ingests "
                    f"{ours['ingest_per_s'] / theirs['ingest_per_s']:.2f}x Alertmanager's rate; "
                    f"p99 {ours['p99_ms']:.0f} ms vs {theirs['p99_ms']:.0f} ms"
                )


if __name__ == "__main__":
    main()
