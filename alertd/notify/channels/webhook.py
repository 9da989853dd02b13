"""The webhook channel: the rendered JSON body POSTed through the channels' shared HTTP client
(alertd.notify.channels.http), signed with HMAC-SHA256 by alertd.signing (the scheme signed
ingestion is checked with too).

Headers on every request:
    Content-Type: application/json
    Idempotency-Key: <notification id>       the same on every retry: receivers de-duplicate
    X-Alertd-Timestamp: <unix seconds>
    X-Alertd-Signature: sha256=<hex>         HMAC-SHA256(secret, "<timestamp>." + body)
plus the table's `headers`. A 2xx answer is success; anything else goes to the retry policy.
"""

from __future__ import annotations

from alertd import __version__
from alertd.clock import Clock
from alertd.config import DispatchSettings
from alertd.notify.channels.base import Table
from alertd.notify.channels.http import HttpClient
from alertd.notify.errors import DeliveryError
from alertd.notify.notification import Notification
from alertd.redact import public_recipient
from alertd.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


class WebhookChannel:
    """POSTs JSON to a URL (the recipient: `url`, `urgent_url` or a recipient group's URLs)."""

    def __init__(self, config: Table, dispatch: DispatchSettings, clock: Clock) -> None:
        self.name = config.name
        config.url("url", "")
        config.url("urgent_url", "")
        self.secret = config.string("secret", "")
        self.headers = {
            "User-Agent": f"alertd/{__version__}",
            **config.mapping("headers"),
            "Content-Type": "application/json",
        }
        self.clock = clock
        self.http = HttpClient.for_channel(config, dispatch)

    async def send(self, notification: Notification) -> str:
        url = notification.recipient
        if not url:
            raise DeliveryError(f"[channels.{self.name}] has no url", retryable=False)
        body = notification.content["body"].encode()
        timestamp = str(int(self.clock.now()))
        headers = {**self.headers, "Idempotency-Key": notification.id, TIMESTAMP_HEADER: timestamp}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        provider = f"webhook {public_recipient('webhook', url)}"  # cached per URL
        response = await self.http.post(url, content=body, headers=headers, provider=provider)
        response.raise_for_status(self.clock.now(), provider)
        return f"HTTP {response.status}"

    async def aclose(self) -> None:
        await self.http.aclose()
