"""The Slack channel: `chat.postMessage` with slack-sdk's async Web API client.

The message is an attachment coloured by priority holding Block Kit blocks (title and text in
a section, a button to the alert when a dashboard URL is configured); the plain `text` is the
title, which is what phones show in notifications. Event text was Slack-escaped when rendered,
and `link_names` is off, so nothing in an event can mention `@channel` or forge a link.

Slack answers HTTP 200 with `{"ok": false, "error": ...}` for most failures: `ratelimited`
(HTTP 429 with Retry-After) and Slack's own server errors are retried; `channel_not_found`,
`invalid_auth`, `not_in_channel` and the like fail at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
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


def message(notification: Notification) -> dict[str, Any]:
    """The `chat.postMessage` arguments for one notification (without the channel)."""
    content = notification.content
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{content['title']}*\n{content['text']}".strip()},
        }
    ]
    if content.get("url"):
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open alert"},
                        "url": content["url"],
                    }
                ],
            }
        )
    return {
        "text": content["title"],
        "attachments": [{"color": COLORS.get(notification.priority, "#9e9e9e"), "blocks": blocks}],
        "link_names": False,
        "unfurl_links": False,
        "unfurl_media": False,
    }


class SlackChannel:
    """Posts each notification to a Slack channel (the recipient: `#name` or an id)."""

    def __init__(self, config: Table, dispatch: DispatchSettings, clock: Clock) -> None:
        self.name = config.name
        self.clock = clock
        self.base_url = config.url("base_url", "https://slack.com/api/")
        self.client = AsyncWebClient(
            token=config.string("token"),
            base_url=self.base_url,
            timeout=max(1, round(config.timeout(dispatch))),
            retry_handlers=[],  # retries are the dispatcher's, on the durable outbox
        )

    async def send(self, notification: Notification) -> str:
        if not notification.recipient:
            raise DeliveryError(f"[channels.{self.name}] has no channel", retryable=False)
        try:
            response = await self.client.chat_postMessage(
                channel=notification.recipient, **message(notification)
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
