"""`alertd run` and its state file: a write lock held elsewhere; a second daemon on it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ..openapi_contract import assert_answer_documented
from .conftest import CRITICAL, INGEST, Alertd, Receiver, write_setup

pytestmark = pytest.mark.e2e


def set_config(home: Path, section: str, line: str) -> None:
    """Add `line` to the `[section]` table of HOME/alertd.toml."""
    config = home / "alertd.toml"
    config.write_text(config.read_text().replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1))


async def test_a_write_lock_held_elsewhere_is_a_503_then_events_are_taken_again(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The group that cannot get the lock is answered (503, Retry-After) within the busy
    timeout rather than left waiting, and gives its request slot back: with one slot, the
    next request is taken as soon as the lock is free."""
    write_setup(tmp_path, receiver.url)
    set_config(tmp_path, "state", 'busy_timeout = "200ms"')
    set_config(tmp_path, "server", "max_inflight_requests = 1")
    daemon = Alertd(tmp_path)
    await daemon.start()
    other = sqlite3.connect(tmp_path / "var" / "alertd.db", isolation_level=None)
    try:
        async with daemon.client() as client:
            other.execute("BEGIN IMMEDIATE")  # a backup tool, say, or a disk that stalls
            refused = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert "retry later" in refused.json()["error"]
            assert_answer_documented("POST", "/v1/events", refused)
            other.execute("ROLLBACK")

            taken = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
            assert taken.status_code == 202
            (alert_id,) = taken.json()["alerts"]
        (notification,) = await receiver.wait_for(1)
        assert notification["body"]["alert_id"] == alert_id  # one page: the refused one left none
        state = tmp_path / "var" / "alertd.db"
        began, ended = [line for line in daemon.log() if line["msg"].startswith("the state store")]
        assert (began["reason"], began["error"]) == ("busy", f"{state}: database is locked")
        assert ended["refused_requests"] == 1
    finally:
        other.close()
        daemon.kill()


def run_second(home: Path) -> subprocess.CompletedProcess[str]:
    """`alertd run` on HOME's config in the foreground, as an operator would start it."""
    return subprocess.run(
        [sys.executable, "-m", "alertd", "run", "-c", str(home / "alertd.toml")],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_second_daemon_on_the_same_state_exits_2_naming_the_file_and_the_first(
    alertd: Alertd,
) -> None:
    assert alertd.process is not None
    second = run_second(alertd.home)
    assert second.returncode == 2
    state = alertd.home / "var" / "alertd.db"
    assert f"{state}: the state is in use by another alertd (pid {alertd.process.pid})" in (
        second.stderr
    )
    async with alertd.client() as client:  # the first goes on serving
        assert (await client.post("/v1/events", json=CRITICAL, headers=INGEST)).status_code == 202
    alertd.kill()  # kill -9: the kernel drops the lock with the process
    await alertd.start()
    async with alertd.client() as client:
        assert (await client.get("/readyz")).status_code == 200
