"""alertd.server.stream on its own, with a core that holds changes in memory and a fake clock:
keepalives in silence, the stream limit, and closing every stream at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alertd.clock import FakeClock
from alertd.core import ChangePage
from alertd.engine.errors import StateStoreError
from alertd.server.asgi import HttpError, Message
from alertd.server.stream import KEEPALIVE, EventStream, Streams


class Changes:
    """The two calls of the core a stream makes; no change ever comes."""

    async def alert_changes(self, after: int | None, limit: int) -> ChangePage:
        return ChangePage((), 7 if after is None else after)

    async def wait_for_changes(self, after: int) -> None:
        await asyncio.Event().wait()  # never


def streams(clock: FakeClock, limit: int = 2) -> Streams:
    return Streams(Changes(), clock, limit)  # type: ignore[arg-type]


async def run(stream: EventStream, until: int) -> list[Message]:
    """Run a stream until it has sent `until` body parts, then return what it sent."""
    sent: list[Message] = []
    enough = asyncio.Event()

    async def send(message: Message) -> None:
        sent.append(message)
        if len(sent) > until:
            enough.set()
            await asyncio.Event().wait()  # a client that reads no more

    task = asyncio.create_task(stream.send(send))
    await asyncio.wait_for(enough.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return sent


async def test_a_silent_stream_says_ready_then_sends_keepalives() -> None:
    clock = FakeClock()
    sent = await run(streams(clock).answer({}, {}), until=3)
    assert sent[0]["type"] == "http.response.start"
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    bodies = [m["body"].decode() for m in sent[1:]]
    assert bodies[0] == 'retry: 2000\nevent: ready\nid: 7\ndata: {"cursor":7,"complete":true}\n\n'
    assert bodies[1:] == [": keepalive\n\n", ": keepalive\n\n"]
    assert clock.sleeps[:2] == [KEEPALIVE, KEEPALIVE]


async def test_past_the_limit_a_stream_is_refused_and_closing_ends_them_all() -> None:
    hub = streams(FakeClock(), limit=1)
    first = hub.answer({}, {"after": ["3"]})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    running = asyncio.create_task(first.send(send))
    while hub.open == 0:
        await asyncio.sleep(0)
    with pytest.raises(HttpError) as refused:
        hub.answer({}, {})
    assert refused.value.status == 503
    hub.close()
    await asyncio.wait_for(running, 5)
    assert hub.open == 0
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    with pytest.raises(HttpError) as closing:
        hub.answer({}, {})
    assert "shutting down" in closing.value.message


async def test_a_client_that_goes_ends_its_stream() -> None:
    stream = streams(FakeClock()).answer({"last-event-id": "5"}, {})
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    stream.receive = receive
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        await asyncio.sleep(0)

    running = asyncio.create_task(stream.send(send))
    while len(sent) < 2:
        await asyncio.sleep(0)
    assert b"id: 5\n" in sent[1]["body"]
    gone.set()
    await asyncio.wait_for(running, 5)
    assert stream.streams.open == 0


class Broken(Changes):
    async def alert_changes(self, after: int | None, limit: int) -> ChangePage:
        if after is not None:
            raise StateStoreError("disk I/O error")
        return await super().alert_changes(after, limit)


async def test_a_state_that_cannot_be_read_ends_the_stream_cleanly() -> None:
    hub = Streams(Broken(), FakeClock())  # type: ignore[arg-type]
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(hub.answer({}, {}).send(send), 5)
    assert b"event: ready" in sent[1]["body"]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert hub.open == 0
