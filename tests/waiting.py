"""Waiting in tests for something to become true, never for a fixed time.

Where the code under test offers no event to await, a test polls a condition, every few
milliseconds and with a deadline, so that it goes on as soon as the condition holds and fails
with what it was waiting for instead of hanging when it never does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 10.0  # seconds: far above any wait in these tests, short enough to fail a hung one
INTERVAL = 0.005


async def until(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    """Return once `condition()` is true; fail the test, saying `what`, after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}")
        await asyncio.sleep(INTERVAL)


async def eventually(
    look: Callable[[], Awaitable[T | None]], what: str, timeout: float = TIMEOUT
) -> T:
    """The first value `look()` answers other than None (an HTTP call, say), looking again
    every few milliseconds; fail the test, saying `what`, after `timeout`."""
    deadline = time.monotonic() + timeout
    while (found := await look()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}")
        await asyncio.sleep(INTERVAL * 10)
    return found
