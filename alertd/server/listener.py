"""Serving the API over HTTP with uvicorn (httptools parser): the one module that imports uvicorn.

The daemon binds the socket itself (so `listen = "127.0.0.1:0"` works and the real port is known
before anything is served) and owns the signals, because SIGTERM must first turn /readyz to 503
and SIGHUP reloads rules: the server below is uvicorn's own, run through its public
`serve(sockets=...)`, with only its signal capture left out.

Connections that never finish are this module's job too. uvicorn closes a connection that sits
idle after an answer (keep-alive, 5 s), but not one that sends nothing, or a request head a byte
at a time, or that stops reading its answer: a few hundred of those would hold a file
descriptor each for ever. So every connection is watched by a `_Guard` wrapped around uvicorn's
protocol (passed to uvicorn as its `http` protocol class): it closes a connection that has not
sent a whole request head within `header_timeout` of opening or of its last answer, or that
has not taken any of its answer for `send_timeout`, and keeps at most `max_connections` open by
closing the longest-idle one. The guard learns when a request is in progress from the ASGI
calls themselves (`_Tracked`, matching the scope's client address to the connection). A body
that arrives too slowly is the API's to refuse (`body_timeout`, a 408 it can still answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from alertd import metrics
from alertd.config import ServerSettings
from alertd.server.asgi import Receive, Scope, Send

log = logging.getLogger("alertd.server")


class App(Protocol):
    """Anything callable as an ASGI app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one. Raises OSError (address in use, ...).
    With `reuse_port`, other sockets of this user with it too may listen on the same port (the
    workers of `alertd run --workers`), and the kernel spreads connections over them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048, reuse_port=reuse_port)
    sock.set_inheritable(True)
    return sock


def bound_port(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


NO_LINGER = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: closing sends a reset, keeps nothing
FILES_BESIDES_CONNECTIONS = 256  # the database, the channels' connections, logs, watched rules


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one connection may hold the server to; 0 switches a bound off (the default, for the
    test receivers; the daemon passes its `[server]` settings)."""

    header_timeout: float = 0.0  # from opening, or from the last answer, to a whole request head
    send_timeout: float = 0.0  # an answer the client takes none of for this long is dropped
    max_connections: int = 0  # open at once; a new one past it closes the longest-idle one


def connection_limits(settings: ServerSettings) -> ConnectionLimits:
    """The `[server]` bounds on connections."""
    return ConnectionLimits(
        header_timeout=settings.header_timeout,
        send_timeout=settings.send_timeout,
        max_connections=settings.max_connections,
    )


def _make_room_for(connections: int) -> None:
    """Raise the open-file limit so that `connections` fit beside the daemon's other files.

    A process usually starts allowed 1,024 open files (its soft limit) and may raise that up to
    its hard limit: without it, connections past the soft limit would fail to be accepted, and
    the state database and the channels' own connections with them.
    """
    wanted = connections + FILES_BESIDES_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    if raised < wanted:
        log.warning(
            "the open-file limit leaves room for fewer connections than max_connections",
            extra={"max_connections": connections, "open_file_limit": raised},
        )


class _Guard(asyncio.Protocol):
    """One connection: uvicorn's protocol inside, and the timers that end it if it stalls."""

    def __init__(self, inner: asyncio.Protocol, connections: _Connections) -> None:
        self.inner = inner
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] | None = None
        self.requests = 0  # in progress: the app has been called and has not returned
        self._idle_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol: everything goes on to uvicorn -------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        peer = self.transport.get_extra_info("peername")
        if isinstance(peer, tuple):  # the address uvicorn puts in the scope as `client`
            self.peer = (str(peer[0]), int(peer[1]))
        self.inner.connection_made(self.transport)
        if self.connections.admit(self):
            self._wait_for_request()

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        limit = self.connections.limits.send_timeout
        if limit and self._send_timer is None:
            self._send_timer = asyncio.get_running_loop().call_later(
                limit, self.close, "send_timeout"
            )
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._idle_timer, self._send_timer):
            if timer is not None:
                timer.cancel()
        self.connections.forget(self)
        self.inner.connection_lost(exc)

    # --- what the app's calls tell -----------------------------------------------------------

    def request_started(self) -> None:
        self.requests += 1
        self.connections.idle.pop(self, None)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def request_finished(self) -> None:
        self.requests -= 1
        if self.requests == 0 and self.transport is not None and not self.transport.is_closing():
            self._wait_for_request()

    def _wait_for_request(self) -> None:
        self.connections.idle[self] = None  # the end: the longest idle come first
        limit = self.connections.limits.header_timeout
        if limit:
            self._idle_timer = asyncio.get_running_loop().call_later(
                limit, self.close, "header_timeout"
            )

    def close(self, reason: str) -> None:
        """End the connection now with a reset, dropping whatever it had not sent or taken.

        Not a plain close: that waits to flush the answer to a reader that has stopped, and the
        kernel would go on holding (and trickling) what is in its buffers after the socket is
        gone. A zero linger time makes the close a reset that frees both at once.
        """
        if self.transport is None or self.transport.is_closing():
            return
        metrics.HTTP_CONNECTIONS_CLOSED.labels(reason).inc()
        log.debug("connection closed", extra={"reason": reason, "client": self.peer})
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, NO_LINGER)
        self.transport.abort()


class _Connections:
    """The open connections: by peer address, to find one from an ASGI scope, and those with
    no request in progress, longest idle first."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open = 0
        self.by_peer: dict[tuple[str, int], _Guard] = {}
        self.idle: dict[_Guard, None] = {}  # an ordered set
        self._at_limit = False

    def admit(self, guard: _Guard) -> bool:
        """Count a new connection in; at the limit, make room or close it. False if closed."""
        self.open += 1
        metrics.HTTP_CONNECTIONS_OPEN.inc()
        if guard.peer is not None:
            self.by_peer[guard.peer] = guard
        limit = self.limits.max_connections
        if not limit or self.open <= limit:
            self._at_limit = False
            return True
        if not self._at_limit:
            self._at_limit = True
            log.warning(
                "open connections at [server] max_connections: closing the longest idle ones",
                extra={"max_connections": limit},
            )
        if self.idle:
            next(iter(self.idle)).close("max_connections")
            return True
        guard.close("max_connections")  # every other connection has a request in progress
        return False

    def forget(self, guard: _Guard) -> None:
        self.open -= 1
        metrics.HTTP_CONNECTIONS_OPEN.dec()
        self.idle.pop(guard, None)
        if guard.peer is not None and self.by_peer.get(guard.peer) is guard:
            del self.by_peer[guard.peer]


def _guarded_protocol(connections: _Connections) -> type[asyncio.Protocol]:
    """The protocol class to hand uvicorn: its own, built from the arguments it passes, inside
    a guard."""

    class Guarded(_Guard):
        def __init__(self, **uvicorn_arguments: Any) -> None:
            super().__init__(HttpToolsProtocol(**uvicorn_arguments), connections)

    return Guarded


class _Tracked:
    """The ASGI app as uvicorn calls it: tells each connection's guard when a request is in
    progress, so that the time the app takes is never counted against the client."""

    def __init__(self, app: App, connections: _Connections) -> None:
        self.app = app
        self.connections = connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")  # (host, port), as the guard took it from the socket
        guard = self.connections.by_peer.get(tuple(client)) if client else None
        if guard is None:
            await self.app(scope, receive, send)
            return
        guard.request_started()
        try:
            await self.app(scope, receive, send)
        finally:
            guard.request_finished()


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers, saying when it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would replace SIGINT/SIGTERM for the whole serve() and raise them again after;
        # the daemon's own handlers must stay in place.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


class HttpServer:
    """uvicorn on a bound socket: `start()` returns once connections are accepted; `stop()` stops
    accepting, lets in-flight requests finish within `grace` seconds, then closes connections."""

    def __init__(
        self,
        app: App,
        sock: socket.socket,
        grace: float,
        limits: ConnectionLimits = ConnectionLimits(),
    ) -> None:
        self._limits = limits
        connections = _Connections(limits)
        config = uvicorn.Config(
            _Tracked(app, connections),
            http=_guarded_protocol(connections),
            ws="none",  # no WebSockets: an upgrade would take the connection from its guard
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=max(1, round(grace)),
        )
        self._server = _Server(config)
        self._sock = sock
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._limits.max_connections:
            _make_room_for(self._limits.max_connections)
        serving = asyncio.create_task(self._server.serve(sockets=[self._sock]), name="http")
        listening = asyncio.create_task(self._server.listening.wait())
        await asyncio.wait([serving, listening], return_when=asyncio.FIRST_COMPLETED)
        if not listening.done():  # serve() ended before listening: its error says why
            listening.cancel()
            serving.result()
            raise RuntimeError("the HTTP server stopped before it started listening")
        self._serving = serving

    async def stop(self) -> None:
        if self._serving is None:
            return
        serving, self._serving = self._serving, None
        self._server.should_exit = True  # serve() sees it within its 0.1 s tick, then shuts down
        await serving
