"""Priority lanes: each channel sends urgent first, then high, medium and low, the oldest first
within one priority, retries included; on the fake clock, with a channel that records the order
of its sends and holds the first one until told."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.model import Priority
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.errors import DeliveryError
from alertd.notify.notification import Notification
from alertd.notify.outbox import Outbox
from tests.notify.conftest import make_settings
from tests.waiting import until


class GatedChannel:
    """Records every attempt in order; holds the send of `hold` (the first send, by default)
    until `release()`; fails the ids in `fail_once` on their first attempt (retryable, 60 s)."""

    def __init__(self, hold: str | None = None, fail_once: tuple[str, ...] = ()) -> None:
        self.name = "webhook"
        self.attempts: list[str] = []
        self.hold = hold
        self.gate = asyncio.Event()
        self.fail_once = set(fail_once)

    async def send(self, notification: Notification) -> str:
        self.attempts.append(notification.id)
        if notification.id in self.fail_once:
            self.fail_once.discard(notification.id)
            raise DeliveryError("try later", retryable=True, retry_after=60)
        if notification.id == (self.hold or self.attempts[0]):
            await self.gate.wait()
        return "ok"

    def release(self) -> None:
        self.gate.set()

    async def aclose(self) -> None:
        return None


def note(name: str, priority: Priority, created_at: float, **fields: float) -> Notification:
    return Notification(
        id=f"{name}.1",
        alert_id=name,
        rule_id="storm",
        channel="webhook",
        kind="webhook",
        recipient="http://127.0.0.1:9/hook",
        priority=priority,
        content={"body": "{}"},
        created_at=created_at,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def lane_of_one(tmp_path: Path, channel: GatedChannel, clock: FakeClock) -> Dispatcher:
    settings = make_settings(
        tmp_path,
        dispatch={"concurrency": 1},
        channels={"webhook": {"url": "http://127.0.0.1:9/hook"}},
    )
    return Dispatcher(
        settings, Outbox(tmp_path / "alertd.db"), clock, channels={"webhook": channel}
    )


async def test_an_urgent_page_submitted_behind_1000_medium_is_the_next_one_sent(
    tmp_path: Path, clock: FakeClock
) -> None:
    channel = GatedChannel()
    dispatcher = lane_of_one(tmp_path, channel, clock)
    storm = [note(f"m{i:04d}", "medium", clock.now() + i * 0.001) for i in range(1000)]
    dispatcher.outbox.add(storm)
    running = asyncio.create_task(dispatcher.run())
    await until(lambda: channel.attempts == ["m0000.1"], "the first medium is in flight")

    urgent = note("urgent", "urgent", clock.now() + 5)  # the newest of all
    dispatcher.outbox.add([urgent])
    dispatcher.submit([urgent])
    await until(lambda: dispatcher.depth == 1001, "the urgent page is queued")
    channel.release()
    await until(lambda: len(channel.attempts) == 1001, "everything is sent")
    await dispatcher.drain(grace=5)
    await running

    assert channel.attempts[:3] == ["m0000.1", "urgent.1", "m0001.1"]
    assert channel.attempts[2:] == [n.id for n in storm[1:]]  # the storm itself stays in order
    assert dispatcher.outbox.pending_count() == 0


async def test_priority_first_then_age_and_a_retry_falling_due_takes_its_place(
    tmp_path: Path, clock: FakeClock
) -> None:
    channel = GatedChannel(hold="young.1", fail_once=("retried.1",))
    dispatcher = lane_of_one(tmp_path, channel, clock)
    t = clock.now()
    dispatcher.outbox.add(
        [
            note("low", "low", t - 60),  # the oldest of all, but low
            note("retried", "medium", t),  # fails once, then waits 60 s
            note("young", "medium", t + 2),  # held in flight while the retry falls due
            note("younger", "medium", t + 3),
            note("high", "high", t + 4),
        ]
    )
    running = asyncio.create_task(dispatcher.run())
    await until(lambda: channel.attempts[-1:] == ["young.1"], "young is in flight")
    await until(lambda: clock.now() >= t + 60, "the retry is due")  # the fake clock jumps
    urgent = note("urgent", "urgent", clock.now())
    dispatcher.outbox.add([urgent])
    dispatcher.submit([urgent])
    await until(lambda: dispatcher.depth == 5, "the urgent page is queued")
    channel.release()
    await until(lambda: len(channel.attempts) == 7, "everything is sent")
    await dispatcher.drain(grace=5)
    await running

    assert channel.attempts == [
        "high.1",
        "retried.1",  # fails
        "young.1",  # held until the retry is due and an urgent page has come
        "urgent.1",
        "retried.1",  # the oldest medium: ahead of a younger one that never failed
        "younger.1",
        "low.1",
    ]
    assert dispatcher.outbox.pending_count() == 0
