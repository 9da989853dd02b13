"""Serving the API over HTTP with uvicorn (httptools parser): the one module that imports uvicorn.

The daemon binds the socket itself (so `listen = "127.0.0.1:0"` works and the real port is known
before anything is served) and owns the signals, because SIGTERM must first turn /readyz to 503
and SIGHUP reloads rules: uvicorn's own signal capture is switched off.
"""

from __future__ import annotations

import asyncio
import logging
import socket
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


class HttpServer:
    """uvicorn on a bound socket: `start()` returns once connections are accepted; `stop()` stops
    accepting, lets in-flight requests finish within `grace` seconds, then closes connections."""

    def __init__(self, app: App, sock: socket.socket, grace: float) -> None:
        self._config = uvicorn.Config(
            app,
            http="httptools",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=max(1, round(grace)),
        )
        self._server = uvicorn.Server(self._config)
        self._sock = sock
        self._ticking: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Server.serve() would also install signal handlers: the daemon owns the signals, so
        # this runs serve()'s three steps (startup, main loop, shutdown) itself.
        self._config.load()
        self._server.lifespan = self._config.lifespan_class(self._config)
        await self._server.startup(sockets=[self._sock])
        self._ticking = asyncio.create_task(self._server.main_loop())

    async def stop(self) -> None:
        if self._ticking is None:
            return
        self._server.should_exit = True
        self._ticking.cancel()  # the loop only refreshes the Date header; no need to await a tick
        self._ticking = None
        await self._server.shutdown(sockets=[self._sock])
