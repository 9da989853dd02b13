"""The HTTP client the webhook and push channels share: aiohttp, with its errors translated.

Why aiohttp: a well-kept client gives operators what they need and we would otherwise write by
hand (HTTP(S)_PROXY with NO_PROXY, CONNECT tunnels for https, keep-alive and chunked edge
cases, IDNA hosts), and it is already installed for the Slack and Twilio SDKs' async clients.
httpx costs ~500-1,700 us of CPU per request here, aiohttp ~65-70 us (bench/README.md
"Dispatch"); the hand-written HTTP/1.1 client this replaced took ~16-18 us.

Cheap per request: one ClientSession per client, its connector limited to the channel's
concurrency; each URL is parsed, checked and given its proxy once (`_Target`); no cookie jar.
The proxy comes from the environment as curl and aiohttp's `trust_env` read it (HTTP_PROXY,
HTTPS_PROXY, NO_PROXY; lower case wins), resolved once per URL: `trust_env=True` itself looks
the proxy up and reads ~/.netrc in a worker thread on every request, ~300 us of CPU each.
Redirects are not followed.

The only module of ours that imports aiohttp for webhook and push. Connection errors, resets,
malformed answers and timeouts become retryable `DeliveryError`s; an invalid or non-http URL,
a header with a control character (request splitting) and an untrusted certificate are not
retryable; a proxy refusing a CONNECT is judged by its status like any answer; any answer,
success or not, comes back as a plain `HttpResponse` for the channel to judge.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from alertd import jsonutil
from alertd.config import DispatchSettings
from alertd.notify.channels.base import Table
from alertd.notify.errors import DeliveryError
from alertd.notify.retry import http_error, is_retryable_status
from alertd.redact import public_url

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4  # connections in flight when the channel does not say


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive
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


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL checked and parsed once, with the proxy the environment names for it."""

    url: URL
    proxy: URL | None


class HttpClient:
    """A keep-alive HTTP client for one channel; its session is made on first use, inside the
    running event loop, with at most `concurrency` connections in use at once."""

    @classmethod
    def for_channel(cls, config: Table, dispatch: DispatchSettings) -> HttpClient:
        """The client of one channel: its table's `timeout` and `concurrency`, else
        `[dispatch]`'s."""
        return cls(config.timeout(dispatch), concurrency=config.concurrency(dispatch))

    def __init__(self, timeout: float, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.concurrency = max(1, concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._targets: dict[str, _Target] = {}

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
        status. A Host header replaces the URL's; Content-Length is always the body's; user
        and password in the URL become basic authentication. Raises DeliveryError."""
        target = self._targets.get(url) or self._target(url, provider)
        head: CIMultiDict[str] = CIMultiDict(headers or ())
        head.popall("Content-Length", None)
        if content is None:
            content = urlencode(data or {}).encode()
            head.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            async with self._client().post(
                target.url, data=content, headers=head, proxy=target.proxy, allow_redirects=False
            ) as response:
                body = await response.read()
                return HttpResponse(response.status, response.headers, body)
        except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors too
            raise DeliveryError(f"{provider}: timed out", retryable=True) from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            reason = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
            raise DeliveryError(
                f"{provider}: untrusted certificate: {reason}", retryable=False
            ) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS, TLS handshake
            raise DeliveryError(
                f"{provider}: cannot connect: {exc.os_error}", retryable=True
            ) from exc
        except aiohttp.ClientHttpProxyError as exc:  # the proxy refused the CONNECT tunnel
            raise DeliveryError(
                f"{provider}: the proxy answered HTTP {exc.status}: {exc.message}",
                retryable=is_retryable_status(exc.status),
                status=exc.status,
            ) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise DeliveryError(
                f"{provider}: the server closed the connection without answering", retryable=True
            ) from exc
        except aiohttp.ClientResponseError as exc:  # the answer could not be parsed
            raise DeliveryError(
                f"{provider}: malformed HTTP answer: {' '.join(exc.message.split())}",
                retryable=True,
            ) from exc
        except aiohttp.ClientError as exc:  # reset, a truncated body
            text = str(exc) or type(exc).__name__
            raise DeliveryError(f"{provider}: {text}", retryable=True) from exc
        except ValueError as exc:  # a header that would split the request, auth given twice
            raise DeliveryError(f"{provider}: cannot send: {exc}", retryable=False) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.concurrency),
                timeout=self.timeout,
                cookie_jar=aiohttp.DummyCookieJar(),  # providers' cookies are never sent back
            )
        return self._session

    def _target(self, text: str, provider: str) -> _Target:
        invalid = DeliveryError(f"{provider}: not a valid http(s) URL", retryable=False)
        try:
            url = URL(text)
            valid = url.scheme in ("http", "https") and bool(url.raw_host) and bool(url.port)
        except (ValueError, TypeError):
            raise invalid from None
        if not valid:
            raise invalid
        target = _Target(url, environment_proxy(url))
        if target.proxy is not None:
            log.info("%s: through the proxy %s", provider, public_url(str(target.proxy)))
        self._targets[text] = target
        return target


def environment_proxy(url: URL) -> URL | None:
    """The proxy HTTP_PROXY / HTTPS_PROXY name for this URL's scheme, unless NO_PROXY lists its
    host; a proxy written without a scheme (`proxy:3128`) is taken as http:// like curl does."""
    if url.raw_host and urllib.request.proxy_bypass(url.raw_host):
        return None
    proxy = urllib.request.getproxies().get(url.scheme)
    if not proxy:
        return None
    return URL(proxy if "://" in proxy else f"http://{proxy}")
