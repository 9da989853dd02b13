"""The Slack channel: `chat.postMessage` and `chat.update` with slack-sdk's async Web API
client, and the check of Slack's signature on the clicks of its buttons (alertd.respond).

The message is an attachment coloured by priority holding Block Kit blocks (title and text in
a section, then buttons: Acknowledge and Resolve on a page when the table has a
`signing_secret` (so that Slack can bring the clicks back), and one to the alert when a
dashboard URL is configured); the plain `text` is the title, which is what phones show in
notifications. Event text was Slack-escaped when rendered, and `link_names` is off, so nothing
in an event can mention `@channel` or forge a link.

A status update (acked, resolved) edits the alert's pages to the same channel in place
(`chat.update`): the dispatcher hands it their receipts (`Notification.earlier`), which say
each message's channel id and ts (`Slack message ts=... in C...`). While a page it would edit
is still in the dispatcher's hands (queued, in flight, retrying, or sent with its receipt not
yet written), the update waits for it; with no page sent to edit (it failed, or another node
holds it), the update is posted as a message of its own.

Slack answers HTTP 200 with `{"ok": false, "error": ...}` for most failures: `ratelimited`
(HTTP 429 with Retry-After) and Slack's own server errors are retried; `channel_not_found`,
`invalid_auth`, `not_in_channel` and the like fail at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from alertd.clock import Clock
from alertd.config import DispatchSettings
from alertd.notify.channels.base import Table
from alertd.notify.errors import DeliveryError
from alertd.notify.notification import Notification
from alertd.notify.retry import http_error
from alertd.redact import public_url

COLORS = {"low": "#9e9e9e", "medium": "#2196f3", "high": "#ff9800", "urgent": "#d32f2f"}

RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

ACK_ACTION = "alertd_ack"
RESOLVE_ACTION = "alertd_resolve"
"""The `action_id`s of the buttons; a button's `value` is its alert's id."""

BUTTONS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "fired": ((ACK_ACTION, "Acknowledge", "primary"), (RESOLVE_ACTION, "Resolve", None)),
    "escalated": ((ACK_ACTION, "Acknowledge", "primary"), (RESOLVE_ACTION, "Resolve", None)),
    "acked": ((RESOLVE_ACTION, "Resolve", None),),
    "resolved": (),
}
"""The answers a message offers, by its notice: (action_id, label, style)."""

_RECEIPT = re.compile(r"Slack message ts=(\S+) in (\S+?)(?: updated)?")


def message(notification: Notification, *, buttons: bool = False) -> dict[str, Any]:
    """The `chat.postMessage` arguments for one notification (without the channel); with
    `buttons`, the answers its notice offers."""
    content = notification.content
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{content['title']}*\n{content['text']}".strip()},
        }
    ]
    elements: list[dict[str, Any]] = []
    if buttons and not notification.alerts:  # one message for several alerts: no one to ack
        for action_id, label, style in BUTTONS.get(notification.notice, ()):
            button = {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": label},
                "value": notification.alert_id,
            }
            elements.append({**button, "style": style} if style else button)
    if content.get("url"):
        elements.append(
            {
                "type": "button",
                "text": {
                    "type": "plain_text",
                    "text": "Open alerts" if notification.alerts else "Open alert",
                },
                "url": content["url"],
            }
        )
    if elements:
        blocks.append({"type": "actions", "elements": elements})
    return {
        "text": content["title"],
        "attachments": [{"color": COLORS.get(notification.priority, "#9e9e9e"), "blocks": blocks}],
        "link_names": False,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def message_ref(receipt: str) -> tuple[str, str] | None:
    """The (channel id, ts) of the message a receipt of this channel names; None for another
    kind of receipt."""
    found = _RECEIPT.fullmatch(receipt)
    return None if found is None else (found[2], found[1])


def signed_by_slack(
    signing_secret: str, body: bytes, timestamp: str, signature: str, now: float
) -> bool:
    """Whether `signature` (`X-Slack-Signature`) is Slack's, with the app's signing secret, for
    this body sent at `timestamp` (`X-Slack-Request-Timestamp`), no more than five minutes
    from `now`: slack-sdk's own verifier, which compares in constant time."""
    verifier = SignatureVerifier(signing_secret, clock=_At(now))
    try:
        return verifier.is_valid(body, timestamp, signature)
    except (TypeError, ValueError, UnicodeError):  # a timestamp or signature no signer made
        return False


class _At(SlackClock):
    """The verifier's clock, stopped at alertd's now."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


class SlackChannel:
    """Posts each notification to a Slack channel (the recipient: `#name` or an id)."""

    def __init__(self, config: Table, dispatch: DispatchSettings, clock: Clock) -> None:
        self.name = config.name
        self.clock = clock
        self.base_url = config.url("base_url", "https://slack.com/api/")
        self.buttons = bool(config.string("signing_secret", ""))
        self.client = AsyncWebClient(
            token=config.string("token"),
            base_url=self.base_url,
            timeout=max(1, round(config.timeout(dispatch))),
            retry_handlers=[],  # retries are the dispatcher's, on the durable outbox
        )

    async def send(self, notification: Notification) -> str:
        if not notification.recipient:
            raise DeliveryError(f"[channels.{self.name}] has no channel", retryable=False)
        pages = [ref for receipt in notification.earlier if (ref := message_ref(receipt))]
        if pages:
            return await self._update(notification, pages)
        try:
            response = await self.client.chat_postMessage(
                channel=notification.recipient, **message(notification, buttons=self.buttons)
            )
        except SlackApiError as exc:
            raise _api_error(exc, self.clock.now()) from exc
        except SlackClientError as exc:
            raise DeliveryError(f"Slack: {exc}", retryable=True) from exc
        except Exception as exc:  # aiohttp's connection errors and timeouts
            text = str(exc) or type(exc).__name__
            raise DeliveryError(
                f"Slack {public_url(self.base_url)}: cannot reach the API: {text}", retryable=True
            ) from exc
        ts, channel = response.get("ts"), response.get("channel")
        if not ts:
            return "Slack answered ok but without the message's ts"
        return f"Slack message ts={ts} in {channel}" if channel else f"Slack message ts={ts}"

    async def _update(self, notification: Notification, pages: list[tuple[str, str]]) -> str:
        """Edit the alert's pages in place to show the update (`chat.update`)."""
        arguments = message(notification, buttons=self.buttons)
        for key in ("unfurl_links", "unfurl_media"):  # chat.postMessage's only
            del arguments[key]
        for channel, ts in pages:
            try:
                await self.client.chat_update(channel=channel, ts=ts, **arguments)
            except SlackApiError as exc:
                raise _api_error(exc, self.clock.now()) from exc
            except SlackClientError as exc:
                raise DeliveryError(f"Slack: {exc}", retryable=True) from exc
            except Exception as exc:  # aiohttp's connection errors and timeouts
                text = str(exc) or type(exc).__name__
                raise DeliveryError(
                    f"Slack {public_url(self.base_url)}: cannot reach the API: {text}",
                    retryable=True,
                ) from exc
        return "; ".join(f"Slack message ts={ts} in {channel} updated" for channel, ts in pages)

    async def aclose(self) -> None:
        return None


def _api_error(exc: SlackApiError, now: float) -> DeliveryError:
    response = exc.response
    status = int(getattr(response, "status_code", 200))
    data = getattr(response, "data", None)
    error = str(data.get("error", "")) if isinstance(data, Mapping) else ""
    headers = {str(k): str(v) for k, v in dict(getattr(response, "headers", {}) or {}).items()}
    if status != 200:
        return http_error(status, headers, error, now, provider="Slack")
    return DeliveryError(
        f"Slack answered {error or 'an error'}", retryable=error in RETRYABLE_ERRORS, status=status
    )
