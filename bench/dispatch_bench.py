"""Dispatch throughput: webhook notifications per second through the durable outbox.

    .venv/bin/python bench/dispatch_bench.py [--notifications 5000] [--runs 3] [--concurrency 4]

A local webhook receiver runs in its own process (a bare asyncio HTTP/1.1 server answering 200,
so it is never the bottleneck). Everything runs on uvloop, as the daemon does. Each run
measures, on the same machine and receiver:

  aiohttp    a bare aiohttp loop: the same number of POSTs of the same body with the same
             concurrency and no outbox (a default ClientSession);
  baseline   the same bare loop through alertd's HttpClient, the client the webhook and push
             channels use (aiohttp, with its errors translated; the transport's ceiling in
             this process);
  render     plan + render of every alert's webhook notification (what enqueue adds per alert);
  enqueue    plan + render + insert into the SQLite outbox, committed per batch of 500
             (what the daemon does inside each POST /v1/events transaction);
  dispatch   the Dispatcher delivering every pending row (signed POST, outcome recorded),
             from start to the last outcome committed; also its CPU per notification (the
             process's, threads included).

It prints the median of each over the runs and the ratios of dispatch to both bare loops.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import uvloop  # noqa: E402

from alertd.config import Settings, settings_from_dict  # noqa: E402
from alertd.model import Alert, NotifyTarget  # noqa: E402
from alertd.notify.channels.http import HttpClient  # noqa: E402
from alertd.notify.dispatcher import Dispatcher  # noqa: E402
from alertd.notify.outbox import Outbox, enqueue  # noqa: E402
from alertd.notify.plan import plan  # noqa: E402
from alertd.notify.render import Renderer  # noqa: E402

BATCH = 500


# -- the receiver (a separate process) ---------------------------------------------------------


class _Receiver(asyncio.Protocol):
    """Reads HTTP/1.1 requests with a Content-Length body; answers 200 to each (keep-alive)."""

    count: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower() + b"\r\n"
            start = head.find(b"content-length:")
            length = int(head[start + 15 : head.find(b"\r\n", start)]) if start >= 0 else 0
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            with self.count.get_lock():
                self.count.value += 1
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
            )


def _serve(port_queue: Any, count: Any) -> None:
    async def main() -> None:
        _Receiver.count = count
        server = await asyncio.get_running_loop().create_server(_Receiver, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the measured work -------------------------------------------------------------------------


def make_settings(url: str, db: Path, concurrency: int) -> Settings:
    raw = {
        "dispatch": {"dry_run": False, "concurrency": concurrency},
        "rules": {"templates": str(ROOT / "templates")},
        "state": {"path": str(db)},
        "channels": {"webhook": {"url": url, "secret": "bench-secret"}},
    }
    return settings_from_dict(raw, ROOT / "alertd.toml", {})


def alerts(n: int) -> list[Alert]:
    return [
        Alert(
            id=f"01BENCH{i:019d}",
            rule_id="critical_safety_event",
            rule_name="Critical Safety Event",
            priority="urgent",
            key=(f"V-{i}",),
            event={
                "type": "safety_event",
                "vehicle_id": f"V-{i}",
                "driver_id": f"D-{i % 97}",
                "severity": "critical",
                "kind": "harsh_braking",
                "speed_kmh": 87.5,
                "location": {"latitude": 52.52, "longitude": 13.405},
                "timestamp": "2026-01-01T00:00:00Z",
            },
            fired_at=1_767_225_600.0,
            received_at=1_767_225_600.0,
            notify=(NotifyTarget("webhook"),),
        )
        for i in range(n)
    ]


async def bare_aiohttp(url: str, body: bytes, n: int, concurrency: int) -> float:
    """Seconds for n POSTs with a bare aiohttp session, `concurrency` at a time."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        remaining = [n]

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    await response.read()
                    assert response.status == 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def bare_client(url: str, body: bytes, n: int, concurrency: int) -> float:
    """Seconds for n POSTs with alertd's HttpClient alone, `concurrency` at a time."""
    client = HttpClient(timeout=10.0, concurrency=concurrency)
    remaining = [n]

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            response = await client.post(
                url, content=body, headers={"Content-Type": "application/json"}, provider="bench"
            )
            assert response.status == 200

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await client.aclose()
    return elapsed


def render_only(settings: Settings, batch: list[Alert]) -> float:
    renderer = Renderer.load(settings.rules.templates, settings.notify)
    start = time.perf_counter()
    for alert in batch:
        plan(alert, settings, renderer, alert.received_at)
    return time.perf_counter() - start


def enqueue_all(settings: Settings, outbox: Outbox, batch: list[Alert]) -> float:
    renderer = Renderer.load(settings.rules.templates, settings.notify)
    connection = outbox.connection
    start = time.perf_counter()
    for offset in range(0, len(batch), BATCH):
        connection.execute("BEGIN IMMEDIATE")
        for alert in batch[offset : offset + BATCH]:
            enqueue(connection, plan(alert, settings, renderer, time.time()))
        connection.execute("COMMIT")
    return time.perf_counter() - start


async def dispatch_all(settings: Settings, outbox: Outbox) -> tuple[float, float]:
    """Seconds to deliver every pending row, and the CPU seconds the process spent on it."""
    start, cpu = time.perf_counter(), time.process_time()
    await Dispatcher(settings, outbox).run(burst=True)
    return time.perf_counter() - start, time.process_time() - cpu


def one_run(url: str, n: int, concurrency: int, received: Any) -> dict[str, float]:
    batch = alerts(n)
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(url, Path(folder) / "alertd.db", concurrency)
        outbox = Outbox(settings.state.path)
        renderer = Renderer.load(settings.rules.templates, settings.notify)
        body = plan(batch[0], settings, renderer, 0)[0].content["body"].encode()
        figures = {
            "aiohttp": uvloop.run(bare_aiohttp(url, body, n, concurrency)),
            "baseline": uvloop.run(bare_client(url, body, n, concurrency)),
        }
        figures["render"] = render_only(settings, batch)
        figures["enqueue"] = enqueue_all(settings, outbox, batch)
        before = received.value
        figures["dispatch"], figures["dispatch_cpu"] = uvloop.run(dispatch_all(settings, outbox))
        delivered = received.value - before
        pending = outbox.pending_count()
        outbox.close()
    if delivered != n or pending:
        raise SystemExit(f"lost notifications: delivered {delivered} of {n}, {pending} pending")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    ports: Any = multiprocessing.Queue()
    received: Any = multiprocessing.Value("q", 0)
    receiver = multiprocessing.Process(target=_serve, args=(ports, received), daemon=True)
    receiver.start()
    url = f"http://127.0.0.1:{ports.get(timeout=10)}/hook"
    try:
        runs = [
            one_run(url, args.notifications, args.concurrency, received) for _ in range(args.runs)
        ]
    finally:
        receiver.terminate()
    n = args.notifications
    median = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    print(f"{n} webhook notifications, concurrency {args.concurrency}, median of {args.runs} runs")
    print(f"  bare aiohttp loop, no outbox         : {n / median['aiohttp']:9,.0f} /s")
    print(f"  bare HttpClient loop, no outbox      : {n / median['baseline']:9,.0f} /s")
    print(f"  render   (plan + Jinja, per alert)   : {n / median['render']:9,.0f} /s")
    print(f"  enqueue  (render + outbox insert)    : {n / median['enqueue']:9,.0f} /s")
    print(f"  dispatch (outbox -> signed POST)     : {n / median['dispatch']:9,.0f} /s")
    cpu = median["dispatch_cpu"] / n * 1e6
    print(f"  dispatch CPU per notification        : {cpu:9.1f} µs")
    print(
        f"  dispatch / bare HttpClient           : {median['baseline'] / median['dispatch']:9.2f}"
    )
    print(f"  dispatch / bare aiohttp              : {median['aiohttp'] / median['dispatch']:9.2f}")
    print(
        "  enqueue cost per alert               : "
        f"{median['enqueue'] / n * 1e6:9.1f} µs (render {median['render'] / n * 1e6:.1f} µs)"
    )


if __name__ == "__main__":
    main()
