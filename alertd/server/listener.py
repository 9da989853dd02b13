"""Serving the API over HTTP with uvicorn (httptools parser): the one module that imports uvicorn.

The daemon binds the socket itself (so `listen = "127.0.0.1:0"` works and the real port is known
before anything is served) and owns the signals, because SIGTERM must first turn /readyz to 503
and SIGHUP reloads rules: the server below is uvicorn's own, run through its public
`serve(sockets=...)`, with only its signal capture left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Protocol

import uvicorn

from alertd.server.asgi import Receive, Scope, Send

log = logging.getLogger("alertd.server")


class App(Protocol):
    """Anything callable as an ASGI app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one. Raises OSError (address in use, ...)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.set_inheritable(True)
    return sock


def bound_port(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


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

    def __init__(self, app: App, sock: socket.socket, grace: float) -> None:
        config = uvicorn.Config(
            app,
            http="httptools",
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
