"""The few ASGI pieces the API needs: a request view, a response, and errors that become answers.

alertd speaks bare ASGI rather than through a framework so that POST /v1/events pays for nothing
but its own work. This module is the only one that knows the shape of ASGI messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from alertd import jsonutil
from alertd.metrics import Rejection

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = "application/json"


class HttpError(Exception):
    """An answer other than success, rendered as `{"error": message, "details": [...]}`: every
    error answer has both, `details` empty unless there are items or rule errors to list."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: Sequence[Any] | None = None,
        headers: Sequence[tuple[str, str]] = (),
        reason: Rejection | None = None,
        events: int = 0,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = tuple(headers)
        self.reason = reason  # why POST /v1/events was refused: its metric label
        self.events = events  # events in a refused batch, when known

    def response(self) -> Response:
        payload = {"error": self.message, "details": list(self.details or ())}
        return json_response(self.status, payload, self.headers)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()

    async def send(self, send: Send) -> None:
        raw_headers = [
            (b"content-type", self.content_type.encode()),
            (b"content-length", str(len(self.body)).encode()),
        ]
        raw_headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers)
        await send({"type": "http.response.start", "status": self.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def json_response(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Response:
    return Response(status, jsonutil.dumps(payload), JSON, tuple(headers))


# An error answer is sent only once the request's body is in, so that a client that sends its
# whole body before reading (urllib, anything with `Connection: close`) hears it: closing with
# unread data makes the kernel reset the connection, and the answer is lost. Past this many
# unread bytes the body is not worth reading: the answer closes the connection instead.
DISCARD_LIMIT = 64 * 1024 * 1024


class BodyBudget:
    """Bytes of request bodies being read, on all connections together, at most `limit`.

    A body still arriving holds no in-flight slot (a stalled sender would otherwise take them
    all, and every other sender would be shed): what it costs is its connection, its
    `body_timeout` and the bytes it has sent so far, which this bounds (0: no bound)."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> None:
        """Count `size` more bytes held; HttpError 503 (nothing taken) past the limit."""
        if self.limit and self.used + size > self.limit:
            raise HttpError(
                503,
                "alertd is receiving too many request bodies at once; retry later",
                headers=[("Retry-After", "1")],
                reason="overloaded",
            )
        self.used += size

    def give(self, size: int) -> None:
        self.used -= size


@dataclass(slots=True)
class Request:
    """One HTTP request: method, path, lower-cased headers, query, and a bounded body reader."""

    method: str
    path: str
    headers: dict[str, str]
    query_string: bytes
    receive: Receive
    path_params: dict[str, str] = field(default_factory=dict)
    body_timeout: float = 0.0  # seconds from the request's start to its whole body; 0: none
    body_deadline: float = 0.0  # the same, in event-loop time
    body_started: bool = False  # receive() was called: a `100 Continue` has gone out
    body_done: bool = False  # the last part of the body has arrived
    timed_out: bool = False  # the body did not arrive in time; the rest is not waited for

    @classmethod
    def from_scope(cls, scope: Scope, receive: Receive, body_timeout: float = 0.0) -> Request:
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        request = cls(
            scope["method"], scope["path"], headers, scope.get("query_string", b""), receive
        )
        if body_timeout:
            request.body_timeout = body_timeout
            request.body_deadline = asyncio.get_running_loop().time() + body_timeout
        return request

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string.decode("latin-1"), keep_blank_values=True)

    def declared_length(self) -> int | None:
        """The Content-Length header's value; HttpError 400 when it is not a number."""
        declared = self.headers.get("content-length")
        if declared is None:
            return None
        if not (declared.isascii() and declared.isdigit()):
            raise HttpError(400, "invalid Content-Length header", reason="malformed")
        return int(declared)

    async def read_body(self, limit: int, budget: BodyBudget | None = None) -> bytes:
        """The whole body; HttpError 413 as soon as it is known to exceed `limit` bytes, 503
        when the bodies being read on every connection together would exceed `budget`
        (whose bytes this one gives back once it is read, or refused)."""
        declared = self.declared_length()
        if declared is not None and declared > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        try:
            while not self.body_done:
                chunk = await self._next_part()
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                if budget is not None:
                    budget.take(len(chunk))
                chunks.append(chunk)
        finally:
            if budget is not None:
                budget.give(sum(map(len, chunks)))
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def discard_rest(self) -> bool:
        """Read and drop what is left of the body, before an answer that did not need it.

        False when the answer had better close the connection instead: more than
        DISCARD_LIMIT bytes are left, or the client waits for `100 Continue` before sending a
        body it is now told not to send.
        """
        if self.timed_out or (not self.body_started and not self._worth_reading()):
            return False
        dropped = 0
        while not self.body_done:
            try:
                dropped += len(await self._next_part())
            except HttpError:  # too slow: not worth waiting for
                return False
            if dropped > DISCARD_LIMIT:
                return False
        return True

    def _worth_reading(self) -> bool:
        if "100-continue" in self.headers.get("expect", "").lower():
            return False  # nothing is sent until we ask; better not to ask
        try:
            declared = self.declared_length()
        except HttpError:
            return False
        return declared is None or declared <= DISCARD_LIMIT

    async def _next_part(self) -> bytes:
        """The next part of the body; HttpError 408 past the body's deadline."""
        self.body_started = True
        if not self.body_deadline:
            message = await self.receive()
        else:
            try:
                async with asyncio.timeout_at(self.body_deadline):
                    message = await self.receive()
            except TimeoutError:
                self.timed_out = True
                raise HttpError(
                    408,
                    f"the request body did not arrive within {self.body_timeout:g} s "
                    "([server] body_timeout)",
                    headers=[("Connection", "close")],
                    reason="timeout",
                ) from None
        if message["type"] == "http.disconnect":
            raise ClientGone
        if not message.get("more_body", False):
            self.body_done = True
        chunk: bytes = message.get("body", b"")
        return chunk


class ClientGone(Exception):
    """The client disconnected before sending its whole body: there is no one to answer."""


def _too_large(limit: int) -> HttpError:
    return HttpError(413, f"request body exceeds {limit} bytes", reason="too_large")
