"""The one place alertd reads the time.

Everything that waits or stamps takes a `Clock`, so window, retry and backoff tests drive a
`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall time for stamps, monotonic time for intervals, and a sleep that obeys both."""

    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this long (a fake clock advances instead)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told to; `sleep` advances it at once and records the wait."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._monotonic = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._monotonic += seconds

    def step_wall(self, seconds: float) -> None:
        """Step the wall clock alone, as an operator or a bad NTP server would: monotonic
        time does not move."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


class SteadyClock:
    """Wall time that moves only as monotonic time does: `now()` is the wall time at start
    (plus `ahead`) plus the monotonic time since.

    Delays (escalation steps, and every timer of alertd.incidents.timers) are measured on it
    and stored as its times: if the wall clock is stepped an hour while the daemon runs, no
    timer fires an hour early or late. It reads as the wall clock until the wall clock is
    stepped; from then on it is that far from it (`ahead()`), which the daemon records in the
    state, and the next run starts at the same distance (`ahead` at start), so the times stored
    before keep their meaning. It is also the daemon's "now" for event time: absent rules'
    deadlines are held to it, and an event without a timestamp is stamped with it
    (`from_wall` of its arrival), so that a step of the wall clock neither makes every
    vehicle's newest report look an hour old nor stamps reports an hour off. (Who is on call,
    quiet hours, and anything shown to people, follow the wall clock: `to_wall`.)
    """

    def __init__(self, clock: Clock, ahead: float = 0.0) -> None:
        self.clock = clock
        self._wall_at_start = clock.now() + ahead
        self._monotonic_at_start = clock.monotonic()

    def now(self) -> float:
        return self._wall_at_start + (self.clock.monotonic() - self._monotonic_at_start)

    def ahead(self) -> float:
        """How far this clock is ahead of the wall clock now (behind, when negative): minus
        the sum of the wall clock's steps, if any, since this timeline began."""
        return self.now() - self.clock.now()

    def to_wall(self, steady: float) -> float:
        """A time of this clock as the wall clock reads it."""
        return steady - self.ahead()

    def from_wall(self, wall: float) -> float:
        """A reading of the wall clock, taken since its last step, as this clock reads it:
        what an arrival stamped by the wall clock is on the daemon's timeline."""
        return wall + self.ahead()


SYSTEM_CLOCK = SystemClock()
