"""`alertd run --workers N` end to end: a real supervisor and its workers on one port, on a
PostgreSQL schema of the test's own; a worker killed is started again, SIGTERM drains them all,
and SQLite refuses more than one worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..waiting import until
from .conftest import CRITICAL, INGEST, Alertd, Receiver, write_setup

pytestmark = pytest.mark.e2e


def _run_two_workers(home: Path) -> subprocess.CompletedProcess[str]:
    """`alertd run --workers 2` in `home`, to its end (for a start that must fail)."""
    return subprocess.run(
        [sys.executable, "-m", "alertd", "run", "--workers", "2", "-c", "alertd.toml"],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _two_workers(home: Path, receiver: Receiver, postgres_url: str) -> Alertd:
    """`alertd run --workers 2` on the test's PostgreSQL schema, both workers listening."""
    write_setup(home, receiver.url, state=f'url = "{postgres_url}"')
    alertd = Alertd(home)
    alertd.args = ["--workers", "2"]
    await alertd.start()
    try:
        await until(lambda: len(_listening(alertd)) == 2, "both workers listening")
    except BaseException:
        alertd.kill()
        raise
    return alertd


def test_sqlite_refuses_more_than_one_worker(tmp_path: Path, receiver: Receiver) -> None:
    write_setup(tmp_path, receiver.url)
    done = _run_two_workers(tmp_path)
    assert done.returncode == 2
    assert "--workers 2 needs the state in PostgreSQL ([state] url" in done.stderr
    assert not (tmp_path / "var" / "alertd.db").exists()  # nothing was started


def _listening(alertd: Alertd) -> dict[int, int]:
    """Each worker's number and the port its latest "listening" line gave."""
    return {line["worker"]: line["port"] for line in alertd.log() if line.get("msg") == "listening"}


def _pids(alertd: Alertd) -> dict[int, int]:
    """Each worker's number and the pid it was last started with."""
    return {
        line["worker"]: line["pid"] for line in alertd.log() if line.get("msg") == "worker started"
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_workers_share_the_port_a_dead_one_is_restarted_and_sigterm_drains_all(
    tmp_path: Path, receiver: Receiver, postgres_url: str
) -> None:
    alertd = await _two_workers(tmp_path, receiver, postgres_url)
    try:
        assert set(_listening(alertd).values()) == {alertd.port}
        first = _pids(alertd)

        os.kill(first[1], signal.SIGKILL)
        restarted = await alertd.wait_for_log("a worker exited; starting it again")
        assert (restarted["worker"], restarted["exit_code"]) == (1, -signal.SIGKILL)
        await until(lambda: _pids(alertd)[1] != first[1], "worker 1 started again")
        await until(
            lambda: sum(1 for line in alertd.log() if line.get("msg") == "listening") == 3,
            "worker 1 listening again",
        )

        # A delivery in flight at SIGTERM is finished before the workers exit.
        receiver.gate = asyncio.Event()
        async with alertd.client() as client:
            accepted = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
            assert accepted.status_code == 202
            (alert_id,) = accepted.json()["alerts"]
            await until(lambda: receiver.arrivals == 1, "the send in flight")
        alertd.send_signal(signal.SIGTERM)
        await alertd.wait_for_log("draining notifications")
        receiver.gate.set()
        assert await alertd.wait() == 0
        stopped = [line for line in alertd.log() if line.get("msg") == "stopped"]
        assert sorted(line["worker"] for line in stopped) == [1, 2]
        assert all(line["pending"] == 0 for line in stopped)
        assert [n["body"]["alert_id"] for n in receiver.received] == [alert_id]
        assert not any(_alive(pid) for pid in _pids(alertd).values())
    finally:
        alertd.kill()


async def test_workers_stop_when_their_supervisor_is_killed(
    tmp_path: Path, receiver: Receiver, postgres_url: str
) -> None:
    alertd = await _two_workers(tmp_path, receiver, postgres_url)
    try:
        pids = _pids(alertd).values()
        alertd.kill()  # SIGKILL to the supervisor alone
        await until(lambda: not any(_alive(pid) for pid in pids), "the workers gone")
    finally:
        alertd.kill()


async def test_a_worker_that_cannot_start_stops_the_supervisor(
    tmp_path: Path, receiver: Receiver, postgres_url: str
) -> None:
    write_setup(tmp_path, receiver.url, state=f'url = "{postgres_url}"')
    (tmp_path / "rules" / "safety.rules").write_text("rule broken {\n")
    done = _run_two_workers(tmp_path)
    assert done.returncode == 1, done.stderr
    assert "a worker could not start; stopping the others" in done.stderr
    assert "a worker exited; starting it again" not in done.stderr
