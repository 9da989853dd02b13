"""A real `alertd run` process on a free port, with a config whose webhook channel points at a
local receiver that the test controls (answer 200, or fail with 500, or answer slowly)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from alertd.server.listener import HttpServer, bind, bound_port
from alertd.signing import sign

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
INGEST_TOKEN = "e2e-ingest-token-0123"
ADMIN_TOKEN = "e2e-admin-token-4567"
WEBHOOK_SECRET = "e2e-webhook-secret-89"
INGEST = {"Authorization": f"Bearer {INGEST_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

RULES = """\
rule critical_safety_event {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  suppress 5m by vehicle_id
  notify   webhook
}
"""


@dataclass
class Receiver:
    """A webhook receiver on a free port, in the test's own event loop."""

    status: int = 200
    gate: asyncio.Event | None = None  # when set up, answers wait until it is set
    arrivals: int = 0  # requests that have arrived, answered or not
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.arrivals += 1
        if self.gate is not None:
            await self.gate.wait()
        status = self.status
        if status == 200:
            stamp = headers.get("x-alertd-timestamp", "")
            assert headers.get("x-alertd-signature") == sign(WEBHOOK_SECRET, stamp, body)
            self.received.append({"body": orjson.loads(body), "headers": headers})
            self.arrived.set()
        else:
            self.refused += 1
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{len(self.received)} of {count} notifications arrived")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return self.received


@contextlib.asynccontextmanager
async def serving(app: Any, path: str = "") -> AsyncIterator[str]:
    """Serve the ASGI `app` on a free local port, in the test's event loop; yield its URL
    (ending in `path`)."""
    sock = bind("127.0.0.1", 0)
    server = HttpServer(app, sock, grace=1)
    await server.start()
    try:
        yield f"http://127.0.0.1:{bound_port(sock)}{path}"
    finally:
        await server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sink = Receiver()
    async with serving(sink, "/alerts") as sink.url:
        yield sink


@pytest.fixture
async def second() -> AsyncIterator[Receiver]:
    """Another webhook receiver: the `partner` channel's, see `add_oncall`."""
    sink = Receiver()
    async with serving(sink, "/second") as sink.url:
        yield sink


def two_steps(after: float) -> str:
    """An on-call file whose policy `ops` pages the webhook channel at once and the `partner`
    channel (see `add_oncall`) `after` seconds later."""
    return f"""\
[escalation.ops]

[[escalation.ops.steps]]
after = "0s"
notify = ["webhook"]

[[escalation.ops.steps]]
after = "{after:g}s"
notify = ["partner"]
"""


def add_oncall(home: Path, oncall: str, partner_url: str | None = None) -> None:
    """Give the daemon set up in `home` an on-call file and, with `partner_url`, a second
    webhook channel `partner` that posts there."""
    (home / "oncall.toml").write_text(oncall)
    extra = '\n[oncall]\npath = "oncall.toml"\n'
    if partner_url is not None:
        extra += '\n[channels.partner]\nkind = "webhook"\n'
        extra += f'url = "{partner_url}"\nsecret = "{WEBHOOK_SECRET}"\n'
    config = home / "alertd.toml"
    config.write_text(config.read_text() + extra)


def write_setup(
    home: Path,
    receiver_url: str,
    *,
    shutdown_grace: str = "5s",
    shutdown_delay: str = "0s",
    watch: bool = False,
    server: str = "",
    state: str = "",
) -> None:
    """rules/safety.rules and an alertd.toml whose webhook channel posts to `receiver_url`;
    `server` adds lines to its [server] table, `state` to its [state] table."""
    (home / "rules").mkdir(parents=True, exist_ok=True)
    (home / "rules" / "safety.rules").write_text(RULES)
    (home / "alertd.toml").write_text(
        f"""[server]
listen = "127.0.0.1:0"
ingest_tokens = ["{INGEST_TOKEN}"]
admin_tokens = ["{ADMIN_TOKEN}"]
max_body_bytes = 100000
shutdown_grace = "{shutdown_grace}"
shutdown_delay = "{shutdown_delay}"
{server}

[rules]
paths = ["rules"]
templates = "{REPO / "templates"}"
watch = {str(watch).lower()}

[state]
path = "var/alertd.db"
{state}

[dispatch]
dry_run = false
backoff_initial = 0.1
backoff_max = 0.5
max_attempts = 1000

[channels.webhook]
url = "{receiver_url}"
secret = "{WEBHOOK_SECRET}"
"""
    )


class Alertd:
    """One `alertd run -c HOME/alertd.toml` process in HOME; `start()` again after it stopped
    reuses the same state."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.rules_dir = home / "rules"
        self.config = home / "alertd.toml"
        self.log_path = home / "alertd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}  # more environment for the process (secrets for ${VAR})
        self.args: list[str] = []  # more arguments for `alertd run` (--workers N)
        self.port = 0
        self._log_offset = 0

    async def start(self, timeout: float = 20) -> None:
        """Start the process and wait until it listens; one that does not within `timeout`
        is killed (a fixture whose start fails never reaches its own cleanup)."""
        with self.log_path.open("ab") as log:  # the child keeps its own copy open
            self._log_offset = self.log_path.stat().st_size
            self.process = subprocess.Popen(
                [sys.executable, "-m", "alertd", "run", "-c", str(self.config), *self.args],
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listening = [line for line in self.log() if line.get("msg") == "listening"]
            if listening:
                self.port = listening[-1]["port"]
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"alertd exited with {self.process.returncode}:\n{self.log_text()}"
                )
            await asyncio.sleep(0.05)
        self.kill()
        raise AssertionError(f"alertd did not start within {timeout} s:\n{self.log_text()}")

    def log_text(self) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(self._log_offset)
            return handle.read().decode(errors="replace")

    def log(self) -> list[dict[str, Any]]:
        """The JSON log lines of the current run (other lines, such as banners, are skipped;
        so is a last line the daemon is still writing)."""
        lines = []
        complete, _, _partial = self.log_text().rpartition("\n")
        for text in complete.splitlines():
            if text.startswith("{"):
                lines.append(orjson.loads(text))
        return lines

    async def wait_for_log(self, msg: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log():
                if line.get("msg") == msg:
                    return line
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {msg!r} in the log:\n{self.log_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    def send_signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait(self, timeout: float = 20) -> int:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"alertd did not exit:\n{self.log_text()}")
            await asyncio.sleep(0.05)
        return self.process.returncode

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def recorded_sent(alertd: Alertd, alert_ids: Sequence[str]) -> list[dict[str, Any]] | None:
    """The alerts' details once every notification of each is recorded sent; None until then.
    A send still in flight at a kill -9 may go again after the restart (at-least-once, with the
    same Idempotency-Key); one recorded sent never does. A receiver has a page before the daemon
    has its answer, and the record follows a few milliseconds after that: a test that counts
    pages across a kill waits for this first."""
    async with alertd.client() as client:
        details = [
            (await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)).json()
            for alert_id in alert_ids
        ]
    states = [n["state"] for detail in details for n in detail["notifications"]]
    return details if states and all(state == "sent" for state in states) else None


@pytest.fixture
async def alertd(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Alertd]:
    write_setup(tmp_path, receiver.url)
    daemon = Alertd(tmp_path)
    await daemon.start()
    try:
        yield daemon
    finally:
        daemon.kill()


CRITICAL = {
    "type": "safety_event",
    "severity": "critical",
    "vehicle_id": "v-1042",
    "driver_id": "d-77",
    "location": {"latitude": 52.37, "longitude": 4.89},
}
