"""The timer loop: it sleeps until the earliest due, runs it, is woken early by a nearer timer,
sweeps again at once while more is due, and backs off when a sweep fails. On a clock whose
sleep lasts until the test moves it on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from alertd.clock import FakeClock, SteadyClock
from alertd.incidents import TimerLoop
from alertd.incidents.loop import MAX_SLEEP
from tests.waiting import until


class ManualClock(FakeClock):
    """A fake clock whose `sleep` returns only once `advance` has moved it past the end."""

    def __init__(self) -> None:
        super().__init__()
        self._moved = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        end = self.monotonic() + seconds
        while self.monotonic() < end:
            self._moved.clear()
            await self._moved.wait()

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        self._moved.set()


@dataclass
class Source:
    """Timers due at `dues` (steady time); a sweep takes every due one, or `take` of them."""

    dues: list[float] = field(default_factory=list)
    swept: list[float] = field(default_factory=list)
    take: int = 1000
    fail: int = 0  # sweeps that fail first

    async def next_due(self) -> float | None:
        return min(self.dues, default=None)

    async def sweep(self, now: float) -> bool:
        if self.fail:
            self.fail -= 1
            raise OSError("disk I/O error")
        due = sorted(d for d in self.dues if d <= now)
        for taken in due[: self.take]:
            self.dues.remove(taken)
        self.swept.append(now)
        return len(due) > self.take


@asynccontextmanager
async def running(source: Source) -> AsyncIterator[tuple[TimerLoop, ManualClock, SteadyClock]]:
    clock = ManualClock()
    steady = SteadyClock(clock)
    loop = TimerLoop(clock, steady, source.next_due, source.sweep)
    task = asyncio.create_task(loop.run())
    try:
        yield loop, clock, steady
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_it_sleeps_until_the_earliest_due_then_runs_it() -> None:
    source = Source()
    async with running(source) as (_loop, clock, steady):
        source.dues = [steady.now() + 8, steady.now() + 6]
        await until(lambda: clock.sleeps[-1:] == [6], "a sleep until the earlier due")
        clock.advance(5)
        await asyncio.sleep(0)
        assert source.swept == []
        clock.advance(1)
        await until(lambda: source.swept, "the sweep")
        assert source.swept == [steady.now()]
        await until(lambda: clock.sleeps[-1:] == [2], "a sleep until the next due")


async def test_a_due_far_ahead_is_slept_for_in_sleeps_of_at_most_max_sleep() -> None:
    source = Source()
    async with running(source) as (_loop, clock, steady):
        source.dues = [steady.now() + MAX_SLEEP + 4]
        await until(lambda: clock.sleeps[-1:] == [MAX_SLEEP], "a sleep of MAX_SLEEP")
        clock.advance(MAX_SLEEP)
        await until(lambda: clock.sleeps[-1:] == [4], "a sleep until the due")
        assert source.swept == []


async def test_with_nothing_pending_it_sleeps_long_and_a_new_timer_wakes_it() -> None:
    source = Source()
    async with running(source) as (loop, clock, steady):
        await until(lambda: clock.sleeps == [MAX_SLEEP], "a long sleep")
        source.dues = [steady.now() + 5]
        loop.nearer(steady.now() + 5)
        await until(lambda: clock.sleeps[-1:] == [5], "a sleep until the new timer")


async def test_a_nearer_timer_wakes_it_and_a_later_one_does_not() -> None:
    source = Source()
    async with running(source) as (loop, clock, steady):
        source.dues = [steady.now() + 8]
        loop.nearer(steady.now() + 8)
        await until(lambda: clock.sleeps[-1:] == [8], "a sleep until the first timer")
        loop.nearer(steady.now() + 9)
        source.dues.append(steady.now() + 9)
        await asyncio.sleep(0.01)
        assert clock.sleeps[-1:] == [8]
        source.dues.append(steady.now() + 5)
        loop.nearer(steady.now() + 5)
        await until(lambda: clock.sleeps[-1:] == [5], "a sleep until the nearer timer")


async def test_while_more_is_due_than_a_sweep_takes_it_sweeps_again_at_once() -> None:
    source = Source(take=2)
    async with running(source) as (loop, clock, steady):
        source.dues = [steady.now() + 10 + n for n in range(5)]
        loop.nearer(steady.now() + 10)
        await until(lambda: clock.sleeps[-1:] == [10], "a sleep until the first")
        clock.advance(20)
        await until(lambda: not source.dues, "every timer swept")
        assert len(source.swept) == 3


async def test_a_failing_sweep_is_tried_again_after_a_growing_pause() -> None:
    source = Source(fail=3)
    async with running(source) as (loop, clock, steady):
        source.dues = [steady.now()]
        loop.nearer(steady.now())
        for pause in (1, 2, 4):
            await until(lambda pause=pause: clock.sleeps[-1:] == [pause], f"a pause of {pause}s")
            clock.advance(pause)
        await until(lambda: source.swept, "the sweep that works")
        assert source.dues == []
