"""The console channel: log the rendered notification instead of sending it (`dry_run`)."""

from __future__ import annotations

import logging

from alertd import jsonutil
from alertd.notify.notification import Notification
from alertd.redact import public_recipient

log = logging.getLogger("alertd.notify.console")


class ConsoleChannel:
    """Writes each notification to the log, exactly as it would have been sent."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, notification: Notification) -> str:
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
