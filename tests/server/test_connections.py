"""Connections that never finish: the guard around each of uvicorn's connections closes those
that send no whole request head in time or stop taking their answer, and keeps the number open
bounded, without ever counting the app's own time against a client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from alertd import metrics
from alertd.server.asgi import Receive, Scope, Send
from alertd.server.listener import ConnectionLimits, HttpServer, bind, bound_port

DEADLINE = 20.0  # seconds any expected outcome may take on a busy machine; never a measurement


@dataclass
class App:
    """Answers `/slow` once `release` is set, `/big` with 8 MiB, anything else at once."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started.append(scope["path"])
        try:
            if scope["path"] == "/slow":
                await self.release.wait()
            body = b"x" * (8 * 1024 * 1024) if scope["path"] == "/big" else b"ok"
            headers = [(b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.finished.append(scope["path"])


@asynccontextmanager
async def serving(app: App, **limits: float) -> AsyncIterator[str]:
    sock = bind("127.0.0.1", 0)
    server = HttpServer(app, sock, grace=1, limits=ConnectionLimits(**limits))  # type: ignore[arg-type]
    await server.start()
    try:
        yield f"127.0.0.1:{bound_port(sock)}"
    finally:
        app.release.set()
        await server.stop()


async def connect(
    address: str, receive_buffer: int = 0
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = address.split(":")
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await asyncio.open_connection(sock=sock)


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection (a reset counts as closed)."""
    received = b""
    try:
        async with asyncio.timeout(DEADLINE):
            while chunk := await reader.read(65536):
                received += chunk
    except ConnectionResetError:
        pass
    return received


def closed(reason: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value(
            "alertd_http_connections_closed_total", {"reason": reason}
        )
        or 0.0
    )


async def test_a_connection_without_a_whole_request_head_is_closed() -> None:
    async with serving(App(), header_timeout=0.3) as address:
        before = closed("header_timeout")
        silent, _ = await connect(address)
        trickling, writer = await connect(address)

        async def trickle() -> None:  # a byte at a time, never the blank line that ends a head
            for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

        trickler = asyncio.create_task(trickle())
        assert await closed_by_server(silent) == b""
        assert await closed_by_server(trickling) == b""
        trickler.cancel()
        assert closed("header_timeout") - before == 2


async def test_the_apps_time_is_not_the_clients_and_keep_alive_restarts_the_wait() -> None:
    app = App()
    async with serving(app, header_timeout=0.3) as address, httpx.AsyncClient() as client:
        slow = asyncio.create_task(client.get(f"http://{address}/slow"))
        await asyncio.sleep(0.6)  # the app works on, twice as long as the header timeout
        app.release.set()
        assert (await slow).text == "ok"
        again = await client.get(f"http://{address}/")  # the same connection, kept alive
        assert again.text == "ok"
        assert app.finished == ["/slow", "/"]


async def test_a_client_that_stops_taking_its_answer_is_dropped() -> None:
    async with serving(App(), send_timeout=0.3) as address:
        before = closed("send_timeout")
        reader, writer = await connect(address, receive_buffer=4096)
        writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")  # and then reads nothing
        async with asyncio.timeout(DEADLINE):
            while closed("send_timeout") == before:
                await asyncio.sleep(0.05)
        received = await closed_by_server(reader)  # what was on its way, then the end
        assert len(received) < 8 * 1024 * 1024
        assert closed("send_timeout") - before == 1


async def test_past_max_connections_the_longest_idle_one_makes_room() -> None:
    async with serving(App(), max_connections=3) as address:
        before = closed("max_connections")
        idle = [await connect(address) for _ in range(3)]
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://{address}/")
        assert response.text == "ok"
        assert await closed_by_server(idle[0][0]) == b""  # the first to go idle was closed
        assert closed("max_connections") - before == 1


async def test_past_max_connections_with_every_one_busy_a_new_one_is_closed() -> None:
    app = App()
    async with serving(app, max_connections=2) as address, httpx.AsyncClient() as client:
        busy = [asyncio.create_task(client.get(f"http://{address}/slow")) for _ in range(2)]
        async with asyncio.timeout(DEADLINE):
            while len(app.started) < 2:
                await asyncio.sleep(0.05)
        late, writer = await connect(address)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await closed_by_server(late) == b""
        app.release.set()
        assert [(await call).text for call in busy] == ["ok", "ok"]
