"""The daemon's one timer loop: it sleeps until the earliest due of every timer source, runs
what is due, and sleeps again; setting a nearer timer wakes it early. It never polls fast.

A timer source is anything with timers due at steady-clock times (alertd.clock.SteadyClock):
the timer table (alertd.incidents.timers.Timers), and the engine's deadlines (`resolve after`,
`absent`). The loop itself knows no source: the core gives it two calls,

    next_due()   -> the earliest due of all sources (None: nothing pending)
    sweep(now)   -> run what is due at `now` in one transaction and hand its notifications on;
                    True when more was due than one sweep takes (the loop sweeps again at once,
                    after letting the event loop serve what waits)

and `nearer(due)` wakes it when something sets a timer earlier than the one it sleeps for.
A sweep that fails is tried again after a pause that grows to `MAX_BACKOFF`; timers are never
lost to it, only late. It is logged, unless the state cannot be written (StateStoreError): the
core reports that outage once, not once per try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from alertd.clock import Clock, SteadyClock
from alertd.engine.errors import StateStoreError
from alertd.incidents.timers import TimerRun

log = logging.getLogger("alertd.timers")

MAX_SLEEP = 10.0
"""Seconds: a bound on every sleep, so that a wake ever missed, and a step of the wall clock
(which `next_due` records, alertd.pipeline), are seen within it."""
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0


class TimerSource(Protocol):
    """Timers due at steady-clock times. Both calls run in the core's store transaction (or,
    for `next_due`, under its lock)."""

    def next_due(self) -> float | None:
        """The earliest due of this source's timers; None when it has none."""
        ...

    def run_due(self, now: float, limit: int, budget: float | None = None) -> TimerRun:
        """Run up to `limit` of the timers due at `now`, earliest first, and none more once
        `budget` seconds went by."""
        ...


class TimerLoop:
    """Sleeps until the next due, sweeps, repeats. `run()` runs until cancelled."""

    def __init__(
        self,
        clock: Clock,
        steady: SteadyClock,
        next_due: Callable[[], Awaitable[float | None]],
        sweep: Callable[[float], Awaitable[bool]],
    ) -> None:
        self.clock = clock
        self.steady = steady
        self._next_due = next_due
        self._sweep = sweep
        self._target: float | None = None  # the due it sleeps until; None: none, or awake
        self._sleeping = False
        self._woken = asyncio.Event()

    def nearer(self, due: float) -> None:
        """A timer was set due at `due`: wake the loop if it sleeps for a later one."""
        if self._sleeping and (self._target is None or due < self._target):
            self._woken.set()

    async def run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            try:
                due = await self._next_due()
                now = self.steady.now()
                if due is not None and due <= now:
                    if await self._sweep(now):
                        await asyncio.sleep(0)  # more is due: let requests in between sweeps
                    backoff = FIRST_BACKOFF
                    continue
            except Exception as error:
                if not isinstance(error, StateStoreError):  # those, the core logs once
                    log.exception("timers could not run; trying again", extra={"in": backoff})
                await self.clock.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            backoff = FIRST_BACKOFF
            await self._sleep_until(due, now)

    async def _sleep_until(self, due: float | None, now: float) -> None:
        wait = MAX_SLEEP if due is None else min(MAX_SLEEP, due - now)
        self._target = due
        self._woken.clear()
        self._sleeping = True
        sleeping = asyncio.ensure_future(self.clock.sleep(wait))
        woken = asyncio.ensure_future(self._woken.wait())
        try:
            await asyncio.wait([sleeping, woken], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._sleeping = False
            self._target = None
            for waiting in (sleeping, woken):
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
