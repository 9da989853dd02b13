"""The end-to-end harness itself: a daemon that does not start in time is not left running
(it would hold its port and state, and outlive the test run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Alertd, write_setup

pytestmark = pytest.mark.e2e


async def test_a_start_that_times_out_kills_the_process(tmp_path: Path) -> None:
    write_setup(tmp_path, "http://127.0.0.1:9/unused")
    daemon = Alertd(tmp_path)
    with pytest.raises(AssertionError, match="did not start within 0 s"):
        await daemon.start(timeout=0)
    assert daemon.process is not None
    assert daemon.process.poll() is not None  # killed and reaped, not left running
