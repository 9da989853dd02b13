"""The HTTP client under webhook and push, against real local servers: aiohttp's, raw TCP
servers that answer in the ways real servers do (chunked, closing, dropping idle connections),
and raw servers playing a forward proxy (HTTP_PROXY, HTTPS_PROXY with CONNECT, NO_PROXY)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from alertd.notify.channels.http import HttpClient
from alertd.notify.errors import DeliveryError
from tests.notify.conftest import HttpServer, Request, self_signed_certificate
from tests.waiting import until


class RawServer:
    """A TCP server that reads each request head and body, then runs `answer(writer, n)`."""

    def __init__(self, answer: Callable[[asyncio.StreamWriter, int], object]) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed = 0  # connections the client closed (or that broke)
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"{self.origin}/hook"

    @property
    def origin(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                result = self.answer(writer, len(self.requests))
                if asyncio.iscoroutine(result):
                    await result
                await writer.drain()
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.closed += 1

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def ok(writer: asyncio.StreamWriter, n: int) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Sets proxy variables as an operator would, after clearing any the machine has."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)

    def set_env(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_env


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(timeout=2.0)
    yield http
    await http.aclose()


async def test_posts_the_body_and_headers_and_returns_the_answer(
    client: HttpClient, http_server: HttpServer
) -> None:
    response = await client.post(
        f"{http_server.url}/hook?tenant=a b",
        content=b'{"n": 1}',
        headers={"Content-Type": "application/json", "Idempotency-Key": "01X.1"},
        provider="test",
    )
    assert response.status == 200
    assert response.json() == {"ok": True}
    (request,) = http_server.requests
    assert (request.method, request.path, request.query) == ("POST", "/hook", {"tenant": "a b"})
    assert request.headers["Idempotency-Key"] == "01X.1"
    assert request.body == b'{"n": 1}'


async def test_a_form_is_url_encoded(client: HttpClient, http_server: HttpServer) -> None:
    await client.post(http_server.url, data={"grant_type": "a&b=c"}, provider="test")
    (request,) = http_server.requests
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == b"grant_type=a%26b%3Dc"


async def test_user_and_password_in_the_url_become_basic_authentication(
    client: HttpClient, http_server: HttpServer
) -> None:
    url = http_server.url.replace("http://", "http://hook%40user:s3cret@")
    await client.post(url, content=b"{}", provider="test")
    (request,) = http_server.requests
    assert request.headers["Authorization"] == "Basic aG9va0B1c2VyOnMzY3JldA=="  # hook@user:s3cret


async def test_a_host_header_from_the_caller_replaces_the_urls(client: HttpClient) -> None:
    server = RawServer(
        lambda writer, n: writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    )
    url = await server.start()
    headers = {"host": "hooks.example.com", "Content-Length": "999"}
    await client.post(url, content=b"abc", headers=headers, provider="test")
    (request,) = server.requests
    lines = request.lower().split(b"\r\n")
    assert [line for line in lines if line.startswith(b"host:")] == [b"host: hooks.example.com"]
    assert [line for line in lines if line.startswith(b"content-length:")] == [b"content-length: 3"]
    await server.stop()


async def test_an_interim_100_continue_is_skipped(client: HttpClient) -> None:
    server = RawServer(
        lambda writer, n: writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
        )
    )
    url = await server.start()
    response = await client.post(url, content=b"x", provider="test")
    assert (response.status, response.body) == (201, b"ok")
    await server.stop()


async def test_keeps_the_connection_alive_between_requests(client: HttpClient) -> None:
    server = RawServer(
        lambda writer, n: writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    )
    url = await server.start()
    for _ in range(5):
        response = await client.post(url, content=b"x", provider="test")
        assert (response.status, response.body) == (200, b"ok")
    assert server.connections == 1
    await server.stop()


async def test_reads_chunked_bodies_and_bodies_ended_by_closing(client: HttpClient) -> None:
    def answer(writer: asyncio.StreamWriter, n: int) -> None:
        if n == 1:
            writer.write(
                b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
                b"4\r\nbusy\r\n5\r\n now!\r\n0\r\n\r\n"
            )
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
            writer.close()

    server = RawServer(answer)
    url = await server.start()
    first = await client.post(url, content=b"x", provider="test")
    assert (first.status, first.body, first.headers["Retry-After"]) == (503, b"busy now!", "7")
    second = await client.post(url, content=b"x", provider="test")
    assert (second.status, second.text) == (200, "all of it")
    third = await client.post(url, content=b"x", provider="test")  # a new connection
    assert third.status == 200
    assert server.connections == 2
    await server.stop()


async def test_an_idle_connection_the_server_dropped_is_replaced_without_an_error(
    client: HttpClient,
) -> None:
    def answer(writer: asyncio.StreamWriter, n: int) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        writer.write_eof()  # keep-alive promised, then dropped: the client learns it on reuse

    server = RawServer(answer)
    url = await server.start()
    for n in range(1, 4):
        assert (await client.post(url, content=b"x", provider="test")).status == 200
        # The server closed its side; once the client has seen that, it closes its own.
        await until(lambda: server.closed == n, "the client to see the close")  # noqa: B023
    assert len(server.requests) == 3
    assert server.connections == 3
    await server.stop()


async def test_a_server_that_closes_without_answering_is_retryable(client: HttpClient) -> None:
    server = RawServer(lambda writer, n: writer.close())
    url = await server.start()
    with pytest.raises(DeliveryError) as info:
        await client.post(url, content=b"x", provider="test")
    assert info.value.retryable
    assert "closed the connection" in str(info.value)
    await server.stop()


async def test_a_malformed_answer_is_retryable(client: HttpClient) -> None:
    server = RawServer(lambda writer, n: writer.write(b"SMTP/9 hello\r\n\r\n"))
    url = await server.start()
    with pytest.raises(DeliveryError) as info:
        await client.post(url, content=b"x", provider="test")
    assert info.value.retryable
    assert "malformed HTTP answer" in str(info.value)
    await server.stop()


async def test_connection_refused_is_retryable(client: HttpClient) -> None:
    server = RawServer(lambda writer, n: None)
    url = await server.start()
    await server.stop()
    assert server.server is not None
    await server.server.wait_closed()
    with pytest.raises(DeliveryError) as info:
        await client.post(url, content=b"x", provider="webhook x")
    assert info.value.retryable
    assert str(info.value).startswith("webhook x: cannot connect:")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "http://", "http://host:99999/", "not a url", "http://[::1/"]
)
async def test_an_invalid_url_is_not_retryable(client: HttpClient, url: str) -> None:
    with pytest.raises(DeliveryError) as info:
        await client.post(url, content=b"x", provider="test")
    assert not info.value.retryable
    assert str(info.value) == "test: not a valid http(s) URL"


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(
    client: HttpClient, http_server: HttpServer
) -> None:
    with pytest.raises(DeliveryError) as info:
        await client.post(
            http_server.url, content=b"x", headers={"X-A": "1\r\nX-Injected: 1"}, provider="test"
        )
    assert not info.value.retryable
    assert http_server.requests == []


async def test_an_untrusted_certificate_is_not_retryable(
    client: HttpClient, tmp_path: Path
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(DeliveryError) as info:
        await client.post(f"https://127.0.0.1:{port}/", content=b"x", provider="test")
    assert not info.value.retryable
    assert "untrusted certificate" in str(info.value)
    server.close()


async def test_a_slow_server_times_out_and_the_connection_is_not_reused(
    http_server: HttpServer,
) -> None:
    answered = asyncio.Event()  # the first request is held until the client gave up on it

    async def handle(request: Request) -> web.StreamResponse:
        if not answered.is_set():
            await answered.wait()
        return web.json_response({"ok": True})

    http_server.handler = handle
    client = HttpClient(timeout=0.1)
    with pytest.raises(DeliveryError) as info:
        await client.post(http_server.url, content=b"x", provider="test")
    assert (str(info.value), info.value.retryable) == ("test: timed out", True)
    answered.set()
    assert (await client.post(http_server.url, content=b"x", provider="test")).status == 200
    await client.aclose()


async def test_a_redirect_is_returned_not_followed(client: HttpClient) -> None:
    server = RawServer(
        lambda writer, n: writer.write(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
            b"Content-Length: 0\r\n\r\n"
        )
    )
    url = await server.start()
    response = await client.post(url, content=b"x", provider="test")
    assert (response.status, response.headers["location"]) == (302, "http://127.0.0.1:1/elsewhere")
    assert len(server.requests) == 1
    await server.stop()


async def test_no_more_connections_than_the_channels_concurrency() -> None:
    in_flight, most = [0], [0]

    async def answer(writer: asyncio.StreamWriter, n: int) -> None:
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        # Hold the answers until the client has as many requests out as it may: one that sent
        # more would have them all here by then.
        await until(lambda: most[0] >= 2, "two requests in flight at once")
        in_flight[0] -= 1
        ok(writer, n)

    server = RawServer(answer)
    url = await server.start()
    client = HttpClient(timeout=5.0, concurrency=2)
    answers = await asyncio.gather(
        *(client.post(url, content=b"x", provider="test") for _ in range(6))
    )
    assert [a.status for a in answers] == [200] * 6
    assert (most[0], server.connections) == (2, 2)
    await client.aclose()
    await server.stop()


async def test_http_requests_go_through_the_proxy_named_by_http_proxy(
    client: HttpClient, proxy_env: Callable[..., None]
) -> None:
    proxy = RawServer(ok)  # plays a forward proxy: answers for the origin server
    await proxy.start()
    proxy_env(HTTP_PROXY=proxy.origin.replace("http://", "http://relay:pw@"))
    response = await client.post(
        "http://hooks.example.invalid/alerts?tenant=7", content=b"{}", provider="test"
    )
    assert (response.status, response.body) == (200, b"ok")
    (request,) = proxy.requests
    lines = request.split(b"\r\n")
    assert lines[0] == b"POST http://hooks.example.invalid/alerts?tenant=7 HTTP/1.1"
    assert b"Host: hooks.example.invalid" in lines
    assert b"Proxy-Authorization: Basic cmVsYXk6cHc=" in lines  # relay:pw
    assert request.endswith(b"\r\n\r\n{}")
    await proxy.stop()


async def test_hosts_in_no_proxy_are_reached_directly(
    client: HttpClient, http_server: HttpServer, proxy_env: Callable[..., None]
) -> None:
    proxy = RawServer(ok)
    await proxy.start()
    proxy_env(http_proxy=proxy.origin, no_proxy="localhost,127.0.0.1")
    response = await client.post(http_server.url, content=b"{}", provider="test")
    assert response.status == 200
    assert (len(http_server.requests), proxy.requests) == (1, [])
    await proxy.stop()


async def test_https_is_tunnelled_with_connect_and_a_refusal_is_judged_by_its_status(
    client: HttpClient, proxy_env: Callable[..., None]
) -> None:
    proxy = RawServer(
        lambda writer, n: writer.write(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
        )
    )
    await proxy.start()
    proxy_env(HTTPS_PROXY=proxy.origin)
    with pytest.raises(DeliveryError) as info:
        await client.post("https://hooks.example.invalid/alerts", content=b"{}", provider="test")
    assert (info.value.retryable, info.value.status) == (False, 407)
    assert str(info.value).startswith("test: the proxy answered HTTP 407")
    (request,) = proxy.requests
    assert request.startswith(b"CONNECT hooks.example.invalid:443 HTTP/1.1\r\n")
    await proxy.stop()
