"""The HTTP client the webhook and push channels share: aiohttp, with its errors translated.

aiohttp rather than httpx: on this machine a bare aiohttp loop posts 5,500 (4 connections) to
8,200 (16) requests/s to a local receiver, a bare httpx loop 800 (4) and fewer with more
connections (bench/dispatch_bench.py), and delivery must keep up with ingestion for the
daemon's latency target. aiohttp is already a dependency (the Slack and Twilio SDKs' async
clients).

The only module of ours that imports aiohttp. Connection errors and timeouts become retryable
`DeliveryError`s; an invalid or non-http URL and an untrusted certificate are not retryable;
any answer, success or not, comes back as a plain `HttpResponse` for the channel to judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from alertd import jsonutil
from alertd.notify.errors import DeliveryError
from alertd.notify.retry import http_error


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


class HttpClient:
    """A pooled async HTTP client for one channel; its session is made on first use, inside
    the running event loop."""

    def __init__(self, timeout: float, *, max_connections: int = 64) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                connector=aiohttp.TCPConnector(limit=self.max_connections),
            )
        return self._session

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
        try:
            async with self._client().post(
                url,
                data=content if content is not None else data,
                headers=headers,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return HttpResponse(response.status, dict(response.headers), body)
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise DeliveryError(f"{provider}: not a valid http(s) URL", retryable=False) from exc
        except TimeoutError as exc:
            raise DeliveryError(f"{provider}: timed out", retryable=True) from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            raise DeliveryError(
                f"{provider}: untrusted certificate: {exc}", retryable=False
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise DeliveryError(f"{provider}: cannot connect: {exc}", retryable=True) from exc
        except aiohttp.ClientError as exc:
            text = str(exc) or type(exc).__name__
            raise DeliveryError(f"{provider}: {text}", retryable=True) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
