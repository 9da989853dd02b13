"""The seam between `test-rule --render` and the notifier.

`notification_preview(settings)` returns a function that turns one fired alert into the
notifications it would send, each a JSON-ready dict with at least "channel". It is built once
per run, so templates can be loaded and compiled once. alertd.notify fills this in with the
real rendering; until then it lists each notify target and the groups it names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alertd.config import Settings
from alertd.model import Alert

Preview = Callable[[Alert], list[dict[str, Any]]]


def notification_preview(settings: Settings) -> Preview:
    def preview(alert: Alert) -> list[dict[str, Any]]:
        return [
            {"channel": target.channel, "groups": list(target.groups)} for target in alert.notify
        ]

    return preview
