"""The console channel: log the rendered notification instead of sending it (`dry_run`).

A notification with no recipient (a channel whose table names none, a push channel without its
topic) is logged as such and fails, as it would when sending for real, so a dry run shows
what would not be delivered instead of "sent to ''"."""

from __future__ import annotations

import logging

from alertd import jsonutil
from alertd.notify.errors import DeliveryError
from alertd.notify.notification import Notification
from alertd.redact import public_recipient

log = logging.getLogger("alertd.notify.console")


class ConsoleChannel:
    """Writes each notification to the log, exactly as it would have been sent."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, notification: Notification) -> str:
        if not notification.recipient:
            log.warning(
                "dry run: %s notification %s has no recipient configured: it would not be "
                "delivered: %s",
                notification.channel,
                notification.id,
                jsonutil.dumps(notification.content).decode(),
            )
            raise DeliveryError(
                f"[channels.{notification.channel}] has no recipient configured "
                "(dry run: nothing was sent)",
                retryable=False,
            )
        log.info(
            "dry run: %s notification %s to %r: %s",
            notification.channel,
            notification.id,
            public_recipient(notification.kind, notification.recipient),
            jsonutil.dumps(notification.content).decode(),
        )
        return "logged (dry run)"

    async def aclose(self) -> None:
        return None
