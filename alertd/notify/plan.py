"""Alert -> notifications: who gets told, through which channel, with which rendered text.

Recipients per channel: the rule's named groups (`email(managers, safety_team)`, from
`[recipients]`) when it names any, else the channel's default recipients plus its urgent ones
when the alert's priority is `urgent`; deduplicated, in order. Every channel renders once per
alert; each recipient gets its own notification (one row, one delivery state).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from alertd.config import Settings
from alertd.metrics import TEMPLATE_ERRORS
from alertd.model import Alert, NotifyTarget, Priority
from alertd.notify.notification import Notification
from alertd.notify.render import Renderer

log = logging.getLogger("alertd.notify")

RECIPIENT_KEYS: dict[str, tuple[str, str]] = {
    "email": ("to", "urgent_to"),
    "sms": ("to", "urgent_to"),
    "slack": ("channel", "urgent_channel"),
    "push": ("to", "urgent_to"),  # FCM device tokens, or ntfy topics (`topic` also works)
    "webhook": ("url", "urgent_url"),
}
"""The keys of `[channels.NAME]` holding a channel's default and urgent recipients."""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str) and item]
    return []


def default_recipients(kind: str, table: Mapping[str, Any], priority: Priority) -> list[str]:
    """A channel's configured recipients for an alert of this priority."""
    default_key, urgent_key = RECIPIENT_KEYS[kind]
    found = _strings(table.get(default_key))
    if kind == "push" and not found:
        found = _strings(table.get("topic"))
    if priority == "urgent":
        found += _strings(table.get(urgent_key))
        if kind == "push":
            found += _strings(table.get("urgent_topic"))
    return found


def recipients_for(
    channel: str, groups: Iterable[str], priority: Priority, settings: Settings
) -> list[str]:
    """Deduplicated recipients: the named groups' members, else the channel's defaults.

    May be empty when nothing is configured. An unknown group is logged and skipped (`alertd
    check` reports it before it goes live); if no group is left, the defaults are used.
    """
    found: list[str] = []
    for group in groups:
        members = settings.recipients.get(group)
        if members is None:
            log.error("unknown recipient group %r for channel %s", group, channel)
            continue
        found += members
    if not found:
        table = settings.channels.get(channel, {})
        found = default_recipients(settings.channel_kind(channel), table, priority)
    return list(dict.fromkeys(found))


def plan(alert: Alert, settings: Settings, renderer: Renderer, now: float) -> list[Notification]:
    """Every notification this alert should produce, rendered and ready to enqueue.

    Never raises for a template error: the fallback text is used, and the error is logged and
    counted. A channel with no recipient configured still gets one notification, addressed to
    nobody, which fails visibly when sent rather than vanishing here.
    """
    notifications: list[Notification] = []
    for channel, groups in _targets_by_channel(alert.notify).items():
        kind = settings.channel_kind(channel)
        rendered = renderer.render(alert, kind, channel)
        if rendered.error is not None:
            TEMPLATE_ERRORS.labels(channel=channel).inc()
            log.error(
                "template failed for alert %s (rule %s, channel %s); sent the fallback: %s",
                alert.id,
                alert.rule_id,
                channel,
                rendered.error,
            )
        for recipient in recipients_for(channel, groups, alert.priority, settings) or [""]:
            notifications.append(
                Notification(
                    id=f"{alert.id}.{len(notifications) + 1}",
                    alert_id=alert.id,
                    rule_id=alert.rule_id,
                    channel=channel,
                    kind=kind,
                    recipient=recipient,
                    priority=alert.priority,
                    content=rendered.content,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    return notifications


def _targets_by_channel(targets: Iterable[NotifyTarget]) -> dict[str, list[str]]:
    """Targets merged per channel (their groups joined), so nobody is paged twice."""
    merged: dict[str, list[str]] = {}
    for target in targets:
        merged.setdefault(target.channel, []).extend(target.groups)
    return merged
