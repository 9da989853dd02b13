"""The HTTP server: uvicorn on the daemon's socket, leaving the daemon's signal handlers alone."""

from __future__ import annotations

import signal
from types import FrameType

import httpx
import pytest

from alertd.server.asgi import Receive, Scope, Send
from alertd.server.listener import HttpServer, bind, bound_port


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def daemon_handler(signum: int, frame: FrameType | None) -> None:
    """Stands in for the daemon's own handler; never called."""


async def test_serving_keeps_the_daemons_signal_handlers() -> None:
    before = {sig: signal.signal(sig, daemon_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sock = bind("127.0.0.1", 0)
        server = HttpServer(hello, sock, grace=1)
        await server.start()
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{bound_port(sock)}/")
            assert response.text == "hello"
            assert signal.getsignal(signal.SIGINT) is daemon_handler
            assert signal.getsignal(signal.SIGTERM) is daemon_handler
        finally:
            await server.stop()
        assert signal.getsignal(signal.SIGTERM) is daemon_handler
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


async def test_start_raises_when_uvicorn_cannot_serve_rather_than_waiting_forever() -> None:
    sock = bind("127.0.0.1", 0)
    sock.close()
    server = HttpServer(hello, sock, grace=1)
    with pytest.raises(OSError):
        await server.start()
