"""Alert changes as Server-Sent Events: `GET /v1/alerts/stream`, and the console's live pages.

    retry: 2000
    event: ready                     first, at once: where the stream starts
    id: 41
    data: {"cursor": 41, "complete": true}

    event: alert                     then one per alert change, oldest first
    id: 42
    data: {"cursor": 42, "change": "fired", "at": "2026-...Z", "alert": {...}}

    : keepalive                      after 15 s of silence, so proxies keep the connection

`id:` is the feed's cursor (alertd.feed). A client that reconnects with `Last-Event-ID` (browsers'
EventSource do it by themselves) or `?after=CURSOR` gets every change past it, so it misses
nothing; without either it starts from now. `ready` carries an id too, so a client that saw no
change yet still resumes from where it started. `complete: false` says that changes past the
given cursor were pruned by retention before the client read them: it should reload what it
shows.

A stream ends when the client goes, or when the daemon shuts down (`Streams.close`): clients
reconnect, to this daemon once it is back or to another one. At most `MAX_STREAMS` are open at
once; past that the answer is 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any

from alertd import jsonutil
from alertd.clock import Clock
from alertd.core import AlertChange, Core
from alertd.engine.errors import StateStoreError
from alertd.server.asgi import HttpError, Receive, Response, Send
from alertd.server.views import alert_view, iso

log = logging.getLogger("alertd.server")

KEEPALIVE = 15.0  # seconds of silence before a comment line
BATCH = 100  # changes read at a time
RETRY_MS = 2000  # how long a browser waits before it reconnects
MAX_STREAMS = 100
CURSOR = re.compile(r"[0-9]{1,18}")
CONTENT_TYPE = "text/event-stream; charset=utf-8"


class Streams:
    """The open streams of one process: counted, and closed together at shutdown."""

    def __init__(self, core: Core, clock: Clock, limit: int = MAX_STREAMS) -> None:
        self.core = core
        self.clock = clock
        self.limit = limit
        self.open = 0
        self._closing = asyncio.Event()

    def answer(self, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> EventStream:
        """The stream a request asks for (`Last-Event-ID`, else `?after=`). HttpError 400 for
        a cursor that is not one, 503 when too many streams are open or the daemon stops."""
        if self._closing.is_set():
            raise HttpError(503, "alertd is shutting down", headers=[("Retry-After", "1")])
        if self.open >= self.limit:
            raise HttpError(
                503, f"{self.limit} streams are open already", headers=[("Retry-After", "5")]
            )
        return EventStream(self, start_cursor(headers, query))

    def close(self) -> None:
        """End every stream now, and refuse new ones."""
        self._closing.set()

    async def closing(self) -> None:
        await self._closing.wait()


def start_cursor(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> int | None:
    """The cursor to resume after: the `Last-Event-ID` header, else the `after` parameter,
    else None (from now). HttpError 400 when either one given is not a cursor."""
    unknown = [name for name in query if name != "after"]
    if unknown:
        raise HttpError(400, f"unknown query parameter {unknown[0]!r}; known: after")
    values = query.get("after", [])
    if len(values) > 1:
        raise HttpError(400, "query parameter 'after': expected one value, given once")
    after = _cursor("query parameter 'after'", values[0] if values else None)
    header = _cursor("Last-Event-ID header", headers.get("last-event-id"))
    return header if header is not None else after


def _cursor(name: str, given: str | None) -> int | None:
    if given is None:
        return None
    if not CURSOR.fullmatch(given):
        raise HttpError(400, f"{name}: expected a cursor (the id of an event of this stream)")
    return int(given)


class EventStream(Response):
    """A 200 whose body is the stream; `send` runs it until the client or the daemon stops."""

    def __init__(self, streams: Streams, after: int | None) -> None:
        super().__init__(200, b"", CONTENT_TYPE, (("Cache-Control", "no-store"),))
        self.streams = streams
        self.after = after
        self.receive: Receive | None = None  # set by whoever answers: to hear the client go

    async def send(self, send: Send) -> None:
        headers = [(b"content-type", self.content_type.encode())]
        headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers)
        headers.append((b"x-accel-buffering", b"no"))  # nginx: pass events on at once
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        streams = self.streams
        streams.open += 1
        ends = [asyncio.ensure_future(streams.closing())]
        if self.receive is not None:
            ends.append(asyncio.ensure_future(_disconnect(self.receive)))
        try:
            await _first(self._run(send), *ends)
        except StateStoreError as error:  # the client reconnects, and resumes where it was
            log.warning(
                "an alert stream ended: the state cannot be read", extra={"error": str(error)}
            )
        finally:
            streams.open -= 1
            for end in ends:
                end.cancel()
        with contextlib.suppress(Exception):  # the client may be gone: nothing to tell it
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _run(self, send: Send) -> None:
        core, clock = self.streams.core, self.streams.clock

        async def emit(text: str) -> None:
            await send({"type": "http.response.body", "body": text.encode(), "more_body": True})

        start = await core.alert_changes(self.after, 0)
        cursor = start.cursor
        ready = {"cursor": cursor, "complete": start.complete}
        await emit(f"retry: {RETRY_MS}\n" + event("ready", cursor, ready))
        while True:
            page = await core.alert_changes(cursor, BATCH)
            if page.changes:
                await emit("".join(event("alert", c.cursor, change_view(c)) for c in page.changes))
            if page.cursor != cursor:  # read something: there may be more
                cursor = page.cursor
                continue
            woken = await _first(core.wait_for_changes(cursor), clock.sleep(KEEPALIVE))
            if not woken:
                await emit(": keepalive\n\n")


def event(name: str, cursor: int, data: Any) -> str:
    """One event in the text/event-stream format (the JSON has no line breaks)."""
    return f"event: {name}\nid: {cursor}\ndata: {jsonutil.dumps(data).decode()}\n\n"


def change_view(change: AlertChange) -> dict[str, Any]:
    return {
        "cursor": change.cursor,
        "change": change.change,
        "at": iso(change.at),
        "alert": alert_view(change.record),
    }


async def _disconnect(receive: Receive) -> None:
    """Return when the client has gone (the body of a GET is read already)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _first(first: Awaitable[Any], *others: Awaitable[Any]) -> bool:
    """Run them together until one ends; True when it was `first`. The others are cancelled;
    an exception of the one that ended is raised."""
    tasks = [asyncio.ensure_future(first), *map(asyncio.ensure_future, others)]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finished = done.pop()
    finished.result()
    return finished is tasks[0]
