"""Waiting in tests for something to become true, never for a fixed time.

Where the code under test offers no event to await, a test polls a condition, every few
milliseconds and with a deadline, so that it goes on as soon as the condition holds and fails
with what it was waiting for instead of hanging when it never does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

TIMEOUT = 10.0  # seconds: far above any wait in these tests, short enough to fail a hung one
INTERVAL = 0.005


async def until(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    """Return once `condition()` is true; fail the test, saying `what`, after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}")
        await asyncio.sleep(INTERVAL)


async def until_async(
    condition: Callable[[], Awaitable[object]], what: str, timeout: float = TIMEOUT
) -> None:
    """`until`, for a condition that has to await (an HTTP request)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}")
        await asyncio.sleep(INTERVAL)
