"""The HTTP client the webhook and push channels share: HTTP/1.1 over asyncio, parsed by httptools.

Why not a general client library: delivery must keep pace with ingestion on a 2-core machine, and
the client's CPU per request decides that. POSTing to a local receiver with 4-16 requests in
flight (uvloop, bench/README.md "Dispatch"), the CPU per request was: aiohttp 65-75 us,
pyreqwest (Rust reqwest on tokio threads) 35-52 us, this client 16-18 us. What the channels need
is narrow (POST a body, read the status, headers and body; keep connections alive; TLS; a
timeout), and the hard part, parsing responses, is httptools (llhttp, the parser uvicorn
already brings us). Redirects are not followed, no proxy or cookie is used, HTTP/1.1 only.

The only module of ours that speaks HTTP to webhook and push providers. Connection errors,
resets and timeouts become retryable `DeliveryError`s; an invalid or non-http URL, a header
that would split the request, and an untrusted certificate are not retryable; any answer,
success or not, comes back as a plain `HttpResponse` for the channel to judge.
"""

from __future__ import annotations

import asyncio
import ssl
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, unquote, urlencode, urlsplit

import httptools

from alertd import jsonutil
from alertd.notify.errors import DeliveryError
from alertd.notify.retry import http_error

MAX_IDLE_PER_ORIGIN = 64  # keep-alive connections kept open per scheme://host:port
_URL_SAFE = "/%:@!$&'()*+,;=~-._?"  # left as they are in a path or query; the rest is %-quoted


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return jsonutil.loads(self.body)
        except jsonutil.JSONDecodeError:
            return None

    def raise_for_status(self, now: float, provider: str, detail: str | None = None) -> None:
        """Raise the retry policy's DeliveryError unless the status is 2xx."""
        if not 200 <= self.status < 300:
            text = self.text if detail is None else detail
            raise http_error(self.status, self.headers, text, now, provider=provider)


class _Stale(Exception):
    """A kept-alive connection was closed by the server before it answered anything."""


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL split once into what a request needs (URLs repeat: they are cached)."""

    origin: tuple[str, str, int]  # scheme, host, port: the pool's key
    request_line: str  # "POST <path> HTTP/1.1\r\n", plus basic authentication if in the URL
    host: str  # the Host header's value, unless the caller gives one


class _Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, parses the answer with httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[HttpResponse] | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.received = False  # any byte of the current answer
        self.reusable = False

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ConnectionError("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"malformed HTTP answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self.waiter is None or self.waiter.done():
            return
        if not self.received:
            self._fail(_Stale())
        elif self.parser.get_status_code() and not self._framed():
            self._complete()  # a body delimited by the end of the connection
        else:
            self._fail(exc or ConnectionError("the server closed the connection mid-answer"))

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1")] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() < 200:  # 100 Continue and the like: the answer follows
            self.headers, self.chunks = {}, []
            return
        self.reusable = self.parser.should_keep_alive()
        self._complete()

    # -- the client's side

    async def request(self, data: bytes, deadline: float) -> HttpResponse:
        """Send one request and wait for its answer until `deadline` (the loop's clock).

        A timer on the connection rather than `asyncio.timeout()`: the same effect at a third
        of the cost, and the connection is closed when it fires (its state is unknown then).
        """
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.headers, self.chunks, self.received, self.reusable = {}, [], False, False
        self.transport.write(data)
        timer = loop.call_at(deadline, self._fail, TimeoutError())
        try:
            return await self.waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def _framed(self) -> bool:
        names = {name.lower() for name in self.headers}
        return "content-length" in names or "transfer-encoding" in names

    def _complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            response = HttpResponse(
                self.parser.get_status_code(), self.headers, b"".join(self.chunks)
            )
            self.waiter.set_result(response)

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)
        self.close()


class HttpClient:
    """Keep-alive connections per origin for one channel; made on first use, in the loop."""

    def __init__(self, timeout: float, *, max_idle: int = MAX_IDLE_PER_ORIGIN) -> None:
        self.timeout = timeout
        self.max_idle = max_idle
        self._targets: dict[str, _Target] = {}
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(
        self,
        url: str,
        *,
        provider: str,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """POST `content` (bytes) or `data` (a form) and return the answer, whatever its
        status. Raises DeliveryError."""
        target = self._targets.get(url) or self._target(url, provider)
        headers = dict(headers or {})
        if content is None:
            content = urlencode(data or {}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = _head(target, headers, len(content), provider) + content
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            return await self._exchange(target, request, provider, deadline)
        except TimeoutError as exc:
            raise DeliveryError(f"{provider}: timed out", retryable=True) from exc
        except _Stale as exc:
            raise DeliveryError(
                f"{provider}: the server closed the connection without answering", retryable=True
            ) from exc
        except OSError as exc:  # reset while sending or reading the answer, a malformed answer
            text = str(exc) or type(exc).__name__
            raise DeliveryError(f"{provider}: {text}", retryable=True) from exc

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _exchange(
        self, target: _Target, request: bytes, provider: str, deadline: float
    ) -> HttpResponse:
        """Send on a kept-alive connection; once more on a new one if that was stale."""
        idle = self._idle.setdefault(target.origin, [])
        while idle:
            connection = idle.pop()
            if connection.transport is None or connection.transport.is_closing():
                continue
            try:
                return await self._send(connection, idle, request, deadline)
            except _Stale:
                break  # the server dropped it while idle: the others may be stale too
        connection = await self._connect(target.origin, provider, deadline)
        return await self._send(connection, idle, request, deadline)

    async def _send(
        self, connection: _Connection, idle: list[_Connection], request: bytes, deadline: float
    ) -> HttpResponse:
        try:
            response = await connection.request(request, deadline)
        except BaseException:
            connection.close()  # in an unknown state (cancelled, timed out, broken)
            raise
        if connection.reusable and len(idle) < self.max_idle:
            idle.append(connection)
        else:
            connection.close()
        return response

    async def _connect(
        self, origin: tuple[str, str, int], provider: str, deadline: float
    ) -> _Connection:
        scheme, host, port = origin
        tls = self._tls_context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                _transport, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{provider}: untrusted certificate: {exc.verify_message}", retryable=False
            ) from exc
        except TimeoutError:
            raise
        except OSError as exc:  # refused, unreachable, unknown host, a failed TLS handshake
            raise DeliveryError(f"{provider}: cannot connect: {exc}", retryable=True) from exc
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _target(self, url: str, provider: str) -> _Target:
        invalid = DeliveryError(f"{provider}: not a valid http(s) URL", retryable=False)
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise invalid from None
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host or not _safe(url):
            raise invalid
        path = quote(parts.path or "/", safe=_URL_SAFE)
        if parts.query:
            path = f"{path}?{quote(parts.query, safe=_URL_SAFE)}"
        host_header = parts.netloc.rpartition("@")[2]  # as written, with its port if any
        if not host_header.isascii():  # IDNA is not supported
            raise invalid
        request_line = f"POST {path} HTTP/1.1\r\n"
        if parts.username is not None:  # https://user:password@host/: basic authentication
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            request_line += f"Authorization: Basic {b64encode(credentials.encode()).decode()}\r\n"
        target = _Target((parts.scheme, host, port), request_line, host_header)
        self._targets[url] = target
        return target


def _head(target: _Target, headers: Mapping[str, str], length: int, provider: str) -> bytes:
    """The request line and headers. A caller's Host replaces the URL's; Content-Length is
    always the body's."""
    host = target.host
    lines = []
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "host":
            host = value
        elif lowered != "content-length":
            lines.append(f"{name}: {value}\r\n")
    text = "".join(lines)
    if not _safe(text, allow_crlf_count=len(lines)) or not _safe(host):
        raise DeliveryError(f"{provider}: a header holds a line break", retryable=False)
    head = f"{target.request_line}Host: {host}\r\n{text}Content-Length: {length}\r\n\r\n"
    return head.encode()


def _safe(text: str, allow_crlf_count: int = 0) -> bool:
    """No CR, LF or NUL beyond the line ends we wrote ourselves: no request splitting."""
    return (
        text.count("\r") == allow_crlf_count
        and text.count("\n") == allow_crlf_count
        and "\0" not in text
    )
