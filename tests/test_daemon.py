"""The daemon's lifecycle and policies, in-process, over a fake evaluation stack.

The real stack is exercised end to end in tests/e2e/, against a real `alertd run` process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertd import metrics
from alertd.clock import Clock
from alertd.config import ServerSettings, Settings, StateSettings
from alertd.core import Acted, AlertDetail, RuleProblem, RulesInvalid
from alertd.daemon import Daemon, api_server_settings
from alertd.engine.errors import InvalidEvent, StateStoreError
from alertd.engine.state import AlertPage, AlertQuery
from alertd.incidents import Action
from alertd.model import Rule
from alertd.server.views import problem_view
from alertd.state_health import StateProblem
from tests.waiting import until

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RULE_PROBLEM = RuleProblem("rules/x.rules", 2, 7, "unknown macro 'safty'")
RULE_ERROR = {  # as the API shows it
    "path": "rules/x.rules",
    "line": 2,
    "column": 7,
    "message": "unknown macro 'safty'",
    "text": "rules/x.rules:2:7: error: unknown macro 'safty'",
}


@dataclass
class FakeCore:
    """Counts what the daemon asks of it; `drain` records the order of shutdown steps."""

    depth: int = 0
    rule_count: int = 3
    broken_rules: bool = False
    reload_error: Exception | None = None  # raised by reload_rules, as a loader bug would
    steps: list[str] = field(default_factory=list)
    ingested: list[list[dict[str, Any]]] = field(default_factory=list)
    delivering: asyncio.Event = field(default_factory=asyncio.Event)
    depth_asked: asyncio.Event = field(default_factory=asyncio.Event)  # set by outbox_depth
    problem: StateProblem | None = None  # an outage of the state
    state_refuses: StateStoreError | None = None  # what check_state raises

    async def ingest(self, events: list[dict[str, Any]], received_at: float) -> list[str]:
        self.ingested.append(events)
        return []

    def invalid_events(
        self, events: Sequence[dict[str, Any]], received_at: float
    ) -> Sequence[tuple[int, InvalidEvent]]:
        return ()

    async def alerts(self, query: AlertQuery) -> AlertPage:
        return AlertPage([], None)

    async def alert(self, alert_id: str) -> AlertDetail | None:
        return None

    async def act(self, alert_id: str, action: Action, by: str, via: str) -> Acted | None:
        return None

    def rules(self) -> Sequence[Rule]:
        return [Rule(f"r{i}", f"Rule {i}", lambda event: True) for i in range(self.rule_count)]

    async def reload_rules(self) -> int:
        if self.reload_error is not None:
            raise self.reload_error
        if self.broken_rules:
            raise RulesInvalid([RULE_PROBLEM])
        self.rule_count += 1
        return self.rule_count

    def outbox_depth(self) -> int:
        self.depth_asked.set()
        return self.depth

    def state_problem(self) -> StateProblem | None:
        return self.problem

    async def check_state(self) -> None:
        self.steps.append("check_state")
        if self.state_refuses is not None:
            raise self.state_refuses
        self.problem = None

    async def sweep(self) -> None:
        self.steps.append("sweep")

    async def deliver(self) -> None:
        self.steps.append("deliver")
        await self.delivering.wait()

    async def drain(self, grace: float) -> None:
        self.steps.append(f"drain {grace:g}")
        self.delivering.set()

    async def run_timers(self) -> None:
        await asyncio.Event().wait()  # until cancelled, as the daemon's timer loop runs

    def close(self) -> None:
        self.steps.append("close")


def settings_for(tmp_path: Path, **server: Any) -> Settings:
    return Settings(
        source=tmp_path / "alertd.toml",
        server=replace(
            ServerSettings(listen="127.0.0.1:0", ingest_tokens=(TOKEN,), admin_tokens=(TOKEN,)),
            **server,
        ),
        state=StateSettings(path=tmp_path / "var" / "alertd.db", sweep_interval=0),
    )


@dataclass
class Running:
    daemon: Daemon
    core: FakeCore
    client: httpx.AsyncClient
    task: asyncio.Task[int]


@asynccontextmanager
async def running(settings: Settings, core: FakeCore | None = None) -> AsyncIterator[Running]:
    fake = core or FakeCore()

    def factory(_settings: Settings, _clock: Clock) -> FakeCore:
        return fake

    daemon = Daemon(settings, factory)
    task = asyncio.create_task(daemon.run())
    await until(lambda: daemon.state == "ready" or task.done(), "the daemon to start")
    assert not task.done(), "the daemon stopped while starting"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.port}") as client:
        try:
            yield Running(daemon, fake, client, task)
        finally:
            daemon.request_stop()
            await task


async def test_shutdown_stops_intake_then_drains_then_closes(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path, shutdown_grace=7)) as run:
        assert (await run.client.get("/readyz")).status_code == 200
        assert (await run.client.post("/v1/events", json={}, headers=AUTH)).status_code == 202
        run.daemon.request_stop()
        assert await run.task == 0
        assert run.daemon.state == "draining"
        assert run.core.steps == ["deliver", "drain 7", "close"]
        with pytest.raises(httpx.ConnectError):
            await run.client.get("/healthz")


async def test_during_the_shutdown_delay_readyz_is_503_and_events_are_taken(
    tmp_path: Path,
) -> None:
    async with running(settings_for(tmp_path, shutdown_delay=600)) as run:
        run.daemon.request_stop()
        await until(lambda: run.daemon.state == "draining", "the shutdown to begin")
        ready = await run.client.get("/readyz")
        assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
        assert (await run.client.post("/v1/events", json={}, headers=AUTH)).status_code == 202
        assert run.core.steps == ["deliver"]  # not draining yet
        run.daemon.request_stop()  # a second request does not wait out the delay
        assert await run.task == 0
        assert run.core.steps == ["deliver", "drain 0", "close"]


async def test_while_the_state_refuses_writes_one_is_tried_every_second_until_it_succeeds(
    tmp_path: Path,
) -> None:
    """A node that is not ready gets no events from its load balancer: the daemon itself must
    find out that the state takes writes again."""
    core = FakeCore(
        problem=StateProblem("full", "var/alertd.db: database or disk is full", 0.0),
        state_refuses=StateStoreError("var/alertd.db: database or disk is full", "full"),
    )
    async with running(settings_for(tmp_path), core) as run:
        unready = await run.client.get("/readyz")
        assert unready.status_code == 503
        assert unready.json()["status"] == "unavailable"
        assert unready.json()["state"]["reason"] == "full"
        await until(lambda: core.steps.count("check_state") >= 2, "a second try", timeout=20)
        assert (await run.client.get("/readyz")).status_code == 503
        assert run.task.done() is False  # a refused try is no reason to stop

        core.state_refuses = None  # space was freed
        await until(lambda: core.problem is None, "a try that succeeds", timeout=20)
        ready = await run.client.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_a_second_stop_request_skips_the_drain(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path, shutdown_grace=7)) as run:
        run.daemon.request_stop()
        run.daemon.request_stop()
        await run.task
        assert "drain 0" in run.core.steps


async def test_a_second_stop_request_during_the_drain_ends_it_at_once(tmp_path: Path) -> None:
    class SlowDrain(FakeCore):
        async def drain(self, grace: float) -> None:
            self.steps.append(f"drain {grace:g}")
            if grace:
                await asyncio.Event().wait()  # a retry due within the grace period, say
            self.delivering.set()

    async with running(settings_for(tmp_path, shutdown_grace=600), SlowDrain()) as run:
        run.daemon.request_stop()
        await until(lambda: "drain 600" in run.core.steps, "the drain to begin")
        run.daemon.request_stop()
        assert await asyncio.wait_for(run.task, 10) == 0
        assert run.core.steps == ["deliver", "drain 600", "drain 0", "close"]


async def test_intake_sheds_load_once_the_outbox_backlog_reaches_its_bound(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path, max_outbox_backlog=100)) as run:
        run.core.depth = 100
        response = await run.client.post("/v1/events", json={}, headers=AUTH)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        run.core.depth = 99
        assert (await run.client.post("/v1/events", json={}, headers=AUTH)).status_code == 202
        assert len(run.core.ingested) == 1


async def test_a_failed_reload_keeps_the_old_rules_and_is_counted(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path)) as run:
        run.core.broken_rules = True
        response = await run.client.post("/v1/reload", headers=AUTH)
        assert response.status_code == 422
        assert response.json()["details"] == [RULE_ERROR]
        assert metrics.LAST_RELOAD_SUCCESS._value.get() == 0
        assert len((await run.client.get("/v1/rules", headers=AUTH)).json()["rules"]) == 3

        run.core.broken_rules = False
        response = await run.client.post("/v1/reload", headers=AUTH)
        assert response.json() == {"status": "reloaded", "rules": 4}
        assert metrics.LAST_RELOAD_SUCCESS._value.get() == 1


async def test_any_error_while_loading_new_rules_is_a_failed_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(settings_for(tmp_path)) as run:
        run.core.reload_error = RecursionError("maximum recursion depth exceeded")
        failures = metrics.RELOADS.labels("failure")._value.get()
        metrics.LAST_RELOAD_SUCCESS.set(1)
        with caplog.at_level(logging.ERROR, logger="alertd.daemon"):
            response = await run.client.post("/v1/reload", headers=AUTH)
            outcome = await run.daemon.reload(reason="SIGHUP")  # what SIGHUP runs
        assert response.status_code == 422
        message = "the rules could not be loaded: RecursionError: maximum recursion depth exceeded"
        assert response.json()["details"] == [
            {"path": "", "line": 0, "column": 0, "message": message, "text": f"error: {message}"}
        ]
        assert [problem_view(p) for p in outcome.problems] == response.json()["details"]
        assert metrics.RELOADS.labels("failure")._value.get() == failures + 2
        assert metrics.LAST_RELOAD_SUCCESS._value.get() == 0
        failed = [r for r in caplog.records if r.getMessage().startswith("reload failed")]
        assert [r.__dict__["trigger"] for r in failed] == ["api", "SIGHUP"]
        assert all(r.exc_info is not None for r in failed)  # the loader's bug, with its traceback
        assert len((await run.client.get("/v1/rules", headers=AUTH)).json()["rules"]) == 3


async def test_without_tokens_on_loopback_a_development_token_is_made_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, ingest_tokens=(), admin_tokens=())
    async with running(settings) as run:
        token = (tmp_path / "var" / "dev-token").read_text().strip()
        assert f"development token (ingest and admin): {token}" in capsys.readouterr().err
        auth = {"Authorization": f"Bearer {token}"}
        assert (await run.client.post("/v1/events", json={}, headers=auth)).status_code == 202
        assert (await run.client.get("/v1/rules", headers=auth)).status_code == 200
    assert (tmp_path / "var" / "dev-token").stat().st_mode & 0o077 == 0
    async with running(settings):
        assert token in capsys.readouterr().err  # the same token after a restart


@pytest.mark.parametrize("kept", ["dev-0123456789abcdef\n", ""])
def test_a_dev_token_file_left_readable_by_others_is_made_private(
    tmp_path: Path, kept: str
) -> None:
    """A file from an older alertd, a copy or a restored backup may be 0644: the token in it
    (kept, or a new one when it is empty) must be readable by its owner alone."""
    path = tmp_path / "var" / "dev-token"
    path.parent.mkdir()
    path.write_text(kept)
    path.chmod(0o644)
    settings = settings_for(tmp_path, ingest_tokens=(), admin_tokens=())
    token = api_server_settings(settings).ingest_tokens[0]
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().strip() == token
    if kept:
        assert token == kept.strip()


async def test_without_tokens_off_loopback_it_refuses_to_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, listen="0.0.0.0:0", ingest_tokens=(), admin_tokens=())
    assert await Daemon(settings, lambda s, c: FakeCore()).run() == 2


async def test_broken_rules_at_start_exit_1_with_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def factory(settings: Settings, clock: Clock) -> FakeCore:
        raise RulesInvalid([RULE_PROBLEM])

    assert await Daemon(settings_for(tmp_path), factory).run() == 1
    assert RULE_ERROR["text"] in capsys.readouterr().err


async def test_an_address_in_use_exits_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        core = FakeCore()
        settings = settings_for(tmp_path, listen=f"127.0.0.1:{port}")
        assert await Daemon(settings, lambda s, c: core).run() == 2
        assert core.steps == ["close"]


async def test_a_request_in_flight_at_shutdown_is_finished_and_answered(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path)) as run:
        release = asyncio.Event()
        first_part_sent = asyncio.Event()

        async def slow_body() -> AsyncIterator[bytes]:
            yield b'{"type": '
            first_part_sent.set()  # asked for more: the headers and the first part are written
            await release.wait()
            yield b'"late"}'

        run.core.depth_asked.clear()
        in_flight = asyncio.create_task(
            run.client.post(
                "/v1/events",
                content=slow_body(),
                headers={**AUTH, "Content-Type": "application/json"},
            )
        )
        await asyncio.wait_for(first_part_sent.wait(), 10)
        # The API asks whether to shed load before it reads a body: the request is in flight.
        await asyncio.wait_for(run.core.depth_asked.wait(), 10)
        run.daemon.request_stop()
        await until(lambda: run.daemon.state == "draining", "the shutdown to begin")
        release.set()
        response = await in_flight
        assert response.status_code == 202
        assert run.core.ingested == [[{"type": "late"}]]
        assert await run.task == 0


async def test_a_dispatcher_that_dies_stops_the_daemon_with_exit_1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class DyingCore(FakeCore):
        async def deliver(self) -> None:
            raise RuntimeError("channel exploded")

    core = DyingCore()
    assert await Daemon(settings_for(tmp_path), lambda s, c: core).run() == 1
    assert "channel exploded" in caplog.text
    assert core.steps[-1] == "close"


async def test_finished_background_tasks_are_forgotten(tmp_path: Path) -> None:
    """Every SIGHUP starts a reload task: a long-running daemon must not keep them all."""
    async with running(settings_for(tmp_path)) as run:
        for _ in range(3):
            os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: run.core.rule_count == 6, "three reloads")
        lasting = {"timers", "state-check"}  # these run as long as the daemon does
        await until(
            lambda: {task.get_name() for task in run.daemon._tasks} == lasting,
            "the finished tasks to be let go",
        )


async def test_a_sighup_while_the_state_refuses_writes_reloads_once_it_can(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A reload no caller waits for (SIGHUP, a changed rule file) that the state refuses is
    neither lost nor logged as a failed reload with a traceback (the outage is logged once,
    by the core): it is tried again until the state takes it."""
    core = FakeCore(reload_error=StateStoreError("var/alertd.db: database or disk is full", "full"))
    async with running(settings_for(tmp_path), core) as run:
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: "waits" in caplog.text, "the reload to wait for the state")
        assert run.core.rule_count == 3
        run.core.reload_error = None  # space was freed
        await until(lambda: run.core.rule_count == 4, "the reload, once the state takes it")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert not [r for r in caplog.records if r.exc_info]
