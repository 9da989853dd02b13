"""Connections that never finish, against a real `alertd run`: hundreds of clients that connect
and say nothing, send their request a byte at a time, or stop reading their answer, while an
upstream goes on posting events. The daemon must go on answering it, and close the others."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from .conftest import CRITICAL, INGEST, Alertd, Receiver, write_setup

pytestmark = pytest.mark.e2e

SLOW_CLIENTS = 500  # held open together, a quarter of each kind
POSTS = 40
TIMEOUTS = 'header_timeout = "3s"\nbody_timeout = "3s"\nsend_timeout = "3s"\n'
DEADLINE = 10.0  # seconds one ordinary POST may take here before the test fails: generous


async def open_connection(
    port: int, receive_buffer: int = 0
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket()
    if receive_buffer:  # a small window, so that an answer not read fills the server's buffers
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


async def until_closed(reader: asyncio.StreamReader, bytes_per_read: int = 65536) -> None:
    try:
        while await reader.read(bytes_per_read):
            pass
    except ConnectionError:
        pass


async def silent(port: int) -> None:
    reader, writer = await open_connection(port)
    await until_closed(reader)
    writer.close()


async def slow_head(port: int) -> None:
    reader, writer = await open_connection(port)
    writer.write(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
    trickle = asyncio.create_task(dribble(writer, b"X-Padding: " + b"a" * 10_000))
    await until_closed(reader)
    trickle.cancel()
    writer.close()


async def slow_body(port: int) -> None:
    reader, writer = await open_connection(port)
    writer.write(
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-a-token\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    trickle = asyncio.create_task(dribble(writer, b"[" + b" " * 99_998 + b"]"))
    await until_closed(reader)
    trickle.cancel()
    writer.close()


async def slow_reader(port: int) -> None:
    """Asks for the API description (25 kB) and reads it a byte a second. What it has already
    received would take hours to read, so it learns that the daemon dropped it from the
    socket's error (a reset) rather than from reading."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        while not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            with contextlib.suppress(BlockingIOError):
                if sock.recv(1) == b"":
                    return
            await asyncio.sleep(1)
    finally:
        sock.close()


async def dribble(writer: asyncio.StreamWriter, data: bytes) -> None:
    for index in range(len(data)):
        writer.write(data[index : index + 1])
        await asyncio.sleep(0.5)


async def open_connections(daemon: Alertd, at_least: int) -> int:
    """How many connections the daemon has open, once it has `at_least` (20 s at most)."""
    deadline = time.monotonic() + 20
    count = 0
    async with httpx.AsyncClient(base_url=daemon.url) as client:
        while True:
            for line in (await client.get("/metrics")).text.splitlines():
                if line.startswith("alertd_http_connections_open "):
                    count = int(float(line.split()[1])) - 1  # less this very request's
                    if count >= at_least:
                        return count
            assert time.monotonic() < deadline, f"{count} of {at_least} slow clients connected"
            await asyncio.sleep(0.1)


async def again_and_again(
    kind: Callable[[int], Awaitable[None]], port: int, stop: asyncio.Event, closed: list[str]
) -> None:
    """One slow client that, each time the daemon closes it, comes back the same way."""
    while not stop.is_set():
        try:
            await kind(port)
        except OSError:
            await asyncio.sleep(0.1)  # refused or reset while connecting: try again
        else:
            closed.append(kind.__name__)


async def test_slow_clients_do_not_stop_ordinary_posts(tmp_path: Path, receiver: Receiver) -> None:
    write_setup(tmp_path, receiver.url, server=TIMEOUTS)  # max_connections: its default, 1000
    daemon = Alertd(tmp_path)
    await daemon.start()
    stop = asyncio.Event()
    closed: list[str] = []
    kinds = [silent, slow_head, slow_body, slow_reader]
    attackers = [
        asyncio.create_task(again_and_again(kinds[i % 4], daemon.port, stop, closed))
        for i in range(SLOW_CLIENTS)
    ]
    try:
        held = await open_connections(daemon, at_least=SLOW_CLIENTS)
        latencies: list[float] = []
        statuses: list[int] = []
        no_keep_alive = httpx.Limits(max_keepalive_connections=0)  # a new connection each time
        async with httpx.AsyncClient(
            base_url=daemon.url, timeout=DEADLINE, limits=no_keep_alive
        ) as client:
            for number in range(POSTS):
                event = {**CRITICAL, "vehicle_id": f"v-{number}"}
                started = time.monotonic()
                response = await client.post("/v1/events", json=event, headers=INGEST)
                latencies.append(time.monotonic() - started)
                statuses.append(response.status_code)
                await asyncio.sleep(0.1)
        assert statuses == [202] * POSTS
        # The defences acted: each kind of slow client is closed by the daemon (and comes back).
        deadline = time.monotonic() + 30
        while not {kind.__name__ for kind in kinds} <= set(closed):
            assert time.monotonic() < deadline, f"only these were closed: {sorted(set(closed))}"
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=daemon.url) as client:
            metrics = (await client.get("/metrics")).text
        print(
            f"\n{held} connections held open; {POSTS} POSTs: median "
            f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; "
            f"slow clients closed by the daemon: "
            + ", ".join(f"{k.__name__} {closed.count(k.__name__)}" for k in kinds)
        )
        print(
            "\n".join(
                line for line in metrics.splitlines() if line.startswith("alertd_http_connections")
            )
        )
    finally:
        stop.set()
        for attacker in attackers:
            attacker.cancel()
        await asyncio.gather(*attackers, return_exceptions=True)
        daemon.kill()


async def test_bodies_that_never_finish_do_not_stop_ordinary_posts(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A sender with a valid token whose connections stall mid-body (a middlebox, a client
    bug): past `max_inflight_requests` of them, every other sender's POST was answered 503
    until the body timeout closed them, because a body still being read counted as in flight."""
    write_setup(tmp_path, receiver.url, server='body_timeout = "60s"\n')
    daemon = Alertd(tmp_path)
    await daemon.start()
    token = INGEST["Authorization"].encode()
    writers = []
    try:
        for _ in range(300):  # above max_inflight_requests' default, 256
            _, writer = await open_connection(daemon.port)
            writer.write(
                b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: " + token + b"\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type": '
            )
            writers.append(writer)
        await open_connections(daemon, at_least=300)
        async with daemon.client() as client:
            response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        assert response.status_code == 202
    finally:
        for writer in writers:
            writer.close()
        daemon.kill()
