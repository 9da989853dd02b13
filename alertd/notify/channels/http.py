"""The HTTP client the webhook and push channels share: httpx, with its errors translated.

The only module that imports httpx. Connection errors and timeouts become retryable
`DeliveryError`s; a URL that is not http(s) is not retryable; any answer, success or not, comes
back as a plain `HttpResponse` for the channel to judge (with `raise_for_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

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
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def raise_for_status(self, now: float, provider: str, detail: str | None = None) -> None:
        """Raise the retry policy's DeliveryError unless the status is 2xx."""
        if not 200 <= self.status < 300:
            text = self.text if detail is None else detail
            raise http_error(self.status, self.headers, text, now, provider=provider)


class HttpClient:
    """A pooled async HTTP client for one channel."""

    def __init__(self, timeout: float, *, max_connections: int = 64) -> None:
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    async def post(
        self,
        url: str,
        *,
        provider: str,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """POST and return the answer, whatever its status. Raises DeliveryError."""
        try:
            response = await self._client.post(url, content=content, data=data, headers=headers)
        except httpx.UnsupportedProtocol as exc:
            raise DeliveryError(f"{provider}: not an http(s) URL", retryable=False) from exc
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{provider}: timed out", retryable=True) from exc
        except httpx.ConnectError as exc:
            raise DeliveryError(f"{provider}: cannot connect: {exc}", retryable=True) from exc
        except httpx.HTTPError as exc:
            text = str(exc) or type(exc).__name__
            raise DeliveryError(f"{provider}: {text}", retryable=True) from exc
        except httpx.InvalidURL as exc:
            raise DeliveryError(f"{provider}: invalid URL: {exc}", retryable=False) from exc
        return HttpResponse(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self._client.aclose()
