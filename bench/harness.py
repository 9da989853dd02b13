"""Shared by the end-to-end benchmark and the soak: a webhook receiver that records when each
notification arrives, a lean keep-alive HTTP client for the load, and process helpers.

Times are `time.monotonic()`, which on Linux is one system-wide clock, so the load generator
and the receiver (separate processes) measure on the same clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent


# --- the webhook receiver (its own process) ------------------------------------------------------


class _Sink:
    """What the receiver has seen: the first arrival of each key, each notification's first
    arrival (by its Idempotency-Key, else its key) and the arrivals of those that came again."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # alert key -> first arrival
        self.first: dict[str, float] = {}  # notification -> first arrival
        self.repeats: dict[str, list[float]] = {}  # notification -> every arrival, if > 1
        # notification -> seconds from its first copy's X-Alertd-Timestamp (when it was sent,
        # whole seconds) to that copy's arrival: which process sent a repeat's first copy
        self.first_delay: dict[str, float] = {}
        self.notifications = 0
        self.duplicates = 0
        self.fail_status = 0  # answer this status instead of 200 (the soak's outage windows)
        self.fail_rate = 0.0  # answer this share of notifications with 500 (the chaos bench)
        self.failed = 0
        self.random = random.Random(17)

    def handle(
        self,
        method: bytes,
        path: bytes,
        body: bytes,
        idempotency_key: str | None = None,
        sent_at: str | None = None,
    ) -> tuple[int, bytes]:
        now = time.monotonic()
        if method == b"GET" and path == b"/stats":
            stats = {
                "notifications": self.notifications,
                "duplicates": self.duplicates,
                "failed": self.failed,
                "arrivals": self.arrivals,
                "first": self.first,
                "repeats": self.repeats,
                "first_delay": {
                    k: self.first_delay[k] for k in self.repeats if k in self.first_delay
                },
            }
            return 200, orjson.dumps(stats)
        if method == b"POST" and path == b"/reset":
            self.arrivals.clear()
            self.first.clear()
            self.repeats.clear()
            self.first_delay.clear()
            self.notifications = self.duplicates = self.failed = 0
            return 200, b"{}"
        if method == b"POST" and path == b"/fail":
            self.fail_status = int(body or b"0")
            return 200, b"{}"
        if method == b"POST" and path == b"/fail-rate":
            self.fail_rate = float(body or b"0")
            return 200, b"{}"
        if self.fail_status:
            return self.fail_status, b"{}"
        if self.fail_rate and self.random.random() < self.fail_rate:
            self.failed += 1
            return 500, b"{}"
        for key in _keys_of(path, orjson.loads(body)):
            self.notifications += 1
            self.arrivals.setdefault(key, now)
            identity = idempotency_key or key
            if identity in self.first:
                self.duplicates += 1
                self.repeats.setdefault(identity, [self.first[identity]]).append(now)
            else:
                self.first[identity] = now
                if sent_at is not None:
                    self.first_delay[identity] = round(time.time() - int(sent_at), 3)
        return 200, b"{}"


def _keys_of(path: bytes, body: Any) -> list[str]:
    if path == b"/alertmanager":  # one group per key: groupLabels.key
        return [body["groupLabels"]["key"]]
    key = body.get("key") or [body.get("event", {}).get("key")]
    return [str(key[0])]


class _ReceiverConnection(asyncio.Protocol):
    """HTTP/1.1 keep-alive, parsed by httptools: a receiver lean enough (~10-15 us a request)
    that it takes little of the 2 cores the targets are measured on. Same for both targets."""

    def __init__(self, sink: _Sink) -> None:
        import httptools

        self.sink = sink
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.idempotency_key: str | None = None
        self.sent_at: str | None = None
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"idempotency-key":
            self.idempotency_key = value.decode()
        elif name.lower() == b"x-alertd-timestamp":
            self.sent_at = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        path = self.url.partition(b"?")[0]
        method, body = self.parser.get_method(), b"".join(self.body)
        status, payload = self.sink.handle(method, path, body, self.idempotency_key, self.sent_at)
        self.url, self.body, self.idempotency_key, self.sent_at = b"", [], None, None
        self.transport.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (status, len(payload))
            + payload
        )


def run_receiver(port_file: Path) -> None:
    import uvloop

    async def serve() -> None:
        sink = _Sink()
        sock = socket.create_server(("127.0.0.1", 0), backlog=4096)
        server = await asyncio.get_running_loop().create_server(
            lambda: _ReceiverConnection(sink), sock=sock
        )
        port_file.write_text(str(sock.getsockname()[1]))
        await server.serve_forever()

    uvloop.run(serve())


@dataclass
class Receiver:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stats(self) -> dict[str, Any]:
        async with Client("127.0.0.1", self.port) as client:
            _status, body = await client.request("GET", "/stats")
        result: dict[str, Any] = orjson.loads(body)
        return result

    async def reset(self) -> None:
        async with Client("127.0.0.1", self.port) as client:
            await client.request("POST", "/reset")

    async def fail_with(self, status: int) -> None:
        """Answer every notification with `status` (0: accept again)."""
        async with Client("127.0.0.1", self.port) as client:
            await client.request("POST", "/fail", str(status).encode())

    async def fail_share(self, rate: float) -> None:
        """Answer this share of notifications, at random, with 500 (0: none)."""
        async with Client("127.0.0.1", self.port) as client:
            await client.request("POST", "/fail-rate", str(rate).encode())

    async def wait_for(self, count: int, timeout: float, prefix: str = "") -> dict[str, Any]:
        """Stats once `count` distinct keys starting with `prefix` have arrived (only those are
        in the answer's `arrivals`), or when `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            stats = await self.stats()
            stats["arrivals"] = {k: t for k, t in stats["arrivals"].items() if k.startswith(prefix)}
            if len(stats["arrivals"]) >= count or time.monotonic() > deadline:
                return stats
            await asyncio.sleep(0.05)


@contextlib.contextmanager
def receiver(tmp: Path) -> Iterator[Receiver]:
    port_file = tmp / "receiver.port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "receiver", str(port_file)]
    )
    try:
        wait_until(lambda: port_file.exists() and port_file.read_text() != "", 10, process)
        yield Receiver(process, int(port_file.read_text()))
    finally:
        stop_process(process)


# --- a lean HTTP/1.1 keep-alive client ----------------------------------------------------------


class Client:
    """One keep-alive connection; just enough HTTP/1.1 to load a server without the client's
    own overhead dominating on a 2-core machine."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        base = {"Host": f"{host}:{port}", **(headers or {})}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in base.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        reused = self._writer is not None
        try:
            return await self._request(method, path, body, content_type)
        except (ConnectionError, asyncio.IncompleteReadError):
            if not reused:
                raise
            await self.close()  # the server closed an idle keep-alive connection: once more
            return await self._request(method, path, body, content_type)

    async def _request(
        self, method: str, path: str, body: bytes, content_type: str
    ) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\n{self._head}Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode() + body)
        status_line = await self._reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while (size := int((await self._reader.readline()).strip(), 16)) > 0:
                parts.append(await self._reader.readexactly(size + 2))
            await self._reader.readline()
            payload = b"".join(p[:-2] for p in parts)
        else:
            payload = await self._reader.readexactly(length)
        if close:
            await self.close()
        return status, payload


@dataclass
class Sent:
    """One request of the load: when it was sent and answered, and the keys it carried."""

    keys: Sequence[str]
    started: float = 0.0
    answered: float = 0.0
    retries: int = 0


@dataclass
class Load:
    """Requests to send over `concurrency` connections, each payload exactly once.

    Without `interval`, each connection sends its next request as soon as the previous one is
    answered (a burst). With `interval`, request i is due at start + i * interval (a steady
    rate, open loop): a connection that is free waits for the next due time, and `started` is
    the due time, so a request held up behind slow answers counts its wait as latency.
    """

    host: str
    port: int
    path: str
    payloads: list[tuple[bytes, Sent]]
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 4
    ok: tuple[int, ...] = (200, 202)
    interval: float | None = None

    async def run(self) -> list[Sent]:
        queue = iter(enumerate(self.payloads))
        start = time.monotonic()

        async def worker() -> None:
            async with Client(self.host, self.port, self.headers) as client:
                for i, (body, sent) in queue:
                    if self.interval is None:
                        sent.started = time.monotonic()
                    else:
                        sent.started = start + i * self.interval
                        await asyncio.sleep(max(0.0, sent.started - time.monotonic()))
                    while True:
                        status, answer = await client.request(
                            "POST", self.path, body, self.content_type
                        )
                        if status in self.ok:
                            break
                        if status != 503:
                            raise RuntimeError(f"{self.path}: {status} {answer[:200]!r}")
                        sent.retries += 1
                        await asyncio.sleep(0.05)
                    sent.answered = time.monotonic()

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return [sent for _body, sent in self.payloads]


# --- the targets: alertd and Prometheus Alertmanager -------------------------------------------

TOKEN = "bench-token"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def write_alertd_config(
    tmp: Path,
    receiver_url: str,
    rules: str,
    *,
    concurrency: int = 4,
    source: Path = ROOT,
    dispatch: str = "",
    state: str = "",
) -> int:
    """alertd.toml and bench.rules in `tmp`: these rules, durability on, the webhook channel
    posting to `receiver_url/alertd`, `dispatch` added to the [dispatch] table, `state` to the
    [state] table (`url = "postgresql://..."`). Its port."""
    (tmp / "bench.rules").write_text(rules)
    port = free_port()
    (tmp / "alertd.toml").write_text(
        f"""[server]
listen = "127.0.0.1:{port}"
ingest_tokens = ["{TOKEN}"]
admin_tokens = ["{TOKEN}"]
max_outbox_backlog = 1000000

[rules]
paths = ["bench.rules"]
templates = "{source / "templates"}"

[state]
path = "state/alertd.db"
{state}

[dispatch]
dry_run = false
concurrency = {concurrency}
{dispatch}
[channels.webhook]
url = "{receiver_url}/alertd"
"""
    )
    return port


def spawn_alertd(tmp: Path, source: Path = ROOT) -> subprocess.Popen[bytes]:
    """`alertd run` on `tmp/alertd.toml`, from `source`, its log appended to `tmp/alertd.log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "alertd", "run", "-c", str(tmp / "alertd.toml")],
        cwd=tmp,
        env={**os.environ, "PYTHONPATH": str(source)},
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "alertd.log").open("ab"),
    )


@contextlib.contextmanager
def alertd_process(
    tmp: Path, receiver_url: str, rules: str, *, concurrency: int = 4, source: Path = ROOT
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`alertd run` from `source` (this tree unless a baseline's) in `tmp` with these rules and
    durability on; (port, process) once it is ready."""
    port = write_alertd_config(tmp, receiver_url, rules, concurrency=concurrency, source=source)
    process = spawn_alertd(tmp, source)
    try:
        asyncio.run(wait_ready(port, "/readyz", process))
        yield port, process
    finally:
        stop_process(process)


@contextlib.contextmanager
def alertmanager_process(
    tmp: Path, receiver_url: str, *, group_wait: str = "0s", group_interval: str = "5m"
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Alertmanager grouping by the label `key` (one group per alert of the benchmarks), its
    webhook receiver posting to `receiver_url/alertmanager`; (port, process) once ready."""
    if ALERTMANAGER is None:
        raise SystemExit(
            "prometheus-alertmanager is not installed: apt-get install -y prometheus-alertmanager"
        )
    config = tmp / "alertmanager.yml"
    config.write_text(
        f"""route:
  receiver: bench
  group_by: [key]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: 4h
receivers:
  - name: bench
    webhook_configs:
      - url: {receiver_url}/alertmanager
        send_resolved: false
"""
    )
    port = free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "alertmanager.log").open("wb"),
    )
    try:
        asyncio.run(wait_ready(port, "/-/ready", process))
        yield port, process
    finally:
        stop_process(process)


async def wait_ready(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            async with Client("127.0.0.1", port) as client:
                status, _ = await client.request("GET", path)
                if status == 200:
                    return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"port {port} never became ready")


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    condition: Callable[[], bool], timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


if __name__ == "__main__" and sys.argv[1:2] == ["receiver"]:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    run_receiver(Path(sys.argv[2]))
