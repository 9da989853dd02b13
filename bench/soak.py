"""Soak: ten minutes of steady fleet traffic through a real `alertd run`, sampling its memory (RSS)
and outbox depth, to show both stay flat.

The daemon runs the starter rules (rules/*.rules) with every `notify` pointed at the webhook
channel, which posts to a local receiver; durability on (SQLite on disk). The load is a seeded
mix of fleet events (location updates 70%, safety events 15%, trip updates 10%, geofence events
5%) over a few thousand vehicles, sent in NDJSON batches at a steady rate. For one minute in the
middle the receiver answers 503, so retries pile up in the outbox and must drain again.

    .venv/bin/python bench/soak.py                    # 600 s at 1,000 events/s
    .venv/bin/python bench/soak.py --duration 60      # a quick look

Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from harness import ROOT, Client, free_port, receiver, rss_kib, stop_process, wait_until

TOKEN = "soak-token"
SAMPLE_EVERY = 10.0


def fleet_events(rng: random.Random, count: int, vehicles: int) -> list[dict[str, object]]:
    now = datetime.now(UTC).isoformat()
    events: list[dict[str, object]] = []
    for _ in range(count):
        vehicle = rng.randrange(vehicles)
        base = {
            "vehicle_id": f"v-{vehicle}",
            "driver_id": f"d-{vehicle % 3000}",
            "timestamp": now,
            "location": {
                "latitude": round(52 + rng.random(), 5),
                "longitude": round(4 + rng.random(), 5),
            },
        }
        roll = rng.random()
        if roll < 0.70:
            speed = rng.choice([0, rng.uniform(10, 110), rng.uniform(10, 110), 125])
            events.append(
                {
                    **base,
                    "type": "location_update",
                    "speed_kmh": speed,
                    "engine_on": speed > 0 or rng.random() < 0.9,
                }
            )
        elif roll < 0.85:
            severity = "critical" if rng.random() < 0.05 else "minor"
            kind = rng.choice(["harsh_braking", "harsh_acceleration", "harsh_cornering"])
            events.append({**base, "type": "safety_event", "severity": severity, "kind": kind})
        elif roll < 0.95:
            events.append({**base, "type": "trip_update", "status": "in_progress"})
        else:
            events.append(
                {
                    **base,
                    "type": "geofence_event",
                    "geofence_id": f"g-{vehicle % 50}",
                    "transition": "exit",
                    "authorized": rng.random() < 0.8,
                }
            )
    return events


def write_setup(home: Path, receiver_url: str, port: int) -> Path:
    rules = home / "rules"
    rules.mkdir()
    for source in sorted((ROOT / "rules").glob("*.rules")):
        text = re.sub(r"(?m)^(\s*notify\s+).*$", r"\1webhook", source.read_text())
        (rules / source.name).write_text(text)
    config = home / "alertd.toml"
    config.write_text(f"""[server]
listen = "127.0.0.1:{port}"
ingest_tokens = ["{TOKEN}"]
admin_tokens = ["{TOKEN}"]

[rules]
paths = ["rules"]
templates = "{ROOT / "templates"}"

[state]
path = "var/alertd.db"
sweep_interval = "30s"

[dispatch]
dry_run = false
backoff_initial = "1s"
backoff_max = "10s"

[channels.webhook]
url = "{receiver_url}/alertd"
""")
    return config


async def metric(client: Client, name: str) -> float:
    _status, body = await client.request("GET", "/metrics")
    match = re.search(rf"(?m)^{name} (\S+)$", body.decode())
    return float(match.group(1)) if match else float("nan")


async def soak(args: argparse.Namespace, home: Path) -> list[dict[str, float]]:
    rng = random.Random(7)
    with receiver(home) as sink:
        port = free_port()
        config = write_setup(home, sink.url, port)
        process = subprocess.Popen(
            [sys.executable, "-m", "alertd", "run", "-c", str(config)],
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=(home / "alertd.log").open("wb"),
        )
        try:
            wait_until((home / "var" / "alertd.db").exists, 30, process)
            time.sleep(1)
            return await drive(args, rng, sink, port=port, process=process, home=home)
        finally:
            stop_process(process)


async def drive(
    args: argparse.Namespace,
    rng: random.Random,
    sink: object,
    *,
    port: int,
    process: subprocess.Popen[bytes],
    home: Path,
) -> list[dict[str, float]]:
    from harness import Receiver

    assert isinstance(sink, Receiver)
    batch = max(1, args.rate // 10)
    sender = Client("127.0.0.1", port, {"Authorization": f"Bearer {TOKEN}"})
    probe = Client("127.0.0.1", port)
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    next_sample = started
    sent = 0
    outage = (args.duration * 0.4, args.duration * 0.4 + 60) if args.duration >= 180 else None
    failing = False
    while (elapsed := time.monotonic() - started) < args.duration:
        if outage is not None and failing != (outage[0] <= elapsed < outage[1]):
            failing = not failing
            await sink.fail_with(503 if failing else 0)
        body = b"\n".join(orjson.dumps(e) for e in fleet_events(rng, batch, args.vehicles))
        status, answer = await sender.request("POST", "/v1/events", body, "application/x-ndjson")
        if status != 202:
            raise RuntimeError(f"{status}: {answer[:200]!r}")
        sent += batch
        if time.monotonic() >= next_sample:
            stats = await sink.stats()
            sample = {
                "t": round(elapsed),
                "rss_mib": rss_kib(process.pid) / 1024,
                "outbox": await metric(probe, "alertd_outbox_pending"),
                "events": sent,
                "delivered": stats["notifications"],
                "db_mib": sum(p.stat().st_size for p in (home / "var").glob("alertd.db*")) / 2**20,
                "receiver_failing": float(failing),
            }
            samples.append(sample)
            print(orjson.dumps(sample).decode(), flush=True)
            next_sample += SAMPLE_EVERY
        delay = started + sent / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    await sender.close()
    await probe.close()
    return samples


def report(samples: list[dict[str, float]], duration: float) -> None:
    def window(lo: float, hi: float, field: str) -> list[float]:
        return [s[field] for s in samples if lo <= s["t"] < hi]

    first = window(60, 120, "rss_mib") or [samples[0]["rss_mib"]]
    last = window(duration - 60, duration + 1, "rss_mib") or [samples[-1]["rss_mib"]]
    print(
        f"\nRSS: {statistics.median(first):.1f} MiB in minute 2, "
        f"{statistics.median(last):.1f} MiB in the last minute "
        f"({100 * (statistics.median(last) / statistics.median(first) - 1):+.1f}%), "
        f"max {max(s['rss_mib'] for s in samples):.1f} MiB"
    )
    outbox = [s["outbox"] for s in samples]
    print(
        f"outbox: max {max(outbox):.0f} pending (during the receiver outage), "
        f"{samples[-1]['outbox']:.0f} at the end; median outside the outage "
        f"{statistics.median([s['outbox'] for s in samples if not s['receiver_failing']]):.0f}"
    )
    print(
        f"events sent: {samples[-1]['events']:.0f}; notifications delivered: "
        f"{samples[-1]['delivered']:.0f}; database {samples[-1]['db_mib']:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds")
    parser.add_argument("--rate", type=int, default=1000, help="events per second")
    parser.add_argument("--vehicles", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alertd-soak-") as home:
        samples = asyncio.run(soak(args, Path(home)))
    report(samples, args.duration)


if __name__ == "__main__":
    main()
