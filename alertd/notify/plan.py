"""Alert -> notifications: who gets told, through which channel, with which rendered text.

Recipients per channel: the groups its target names (`email(managers, oncall:fleet_ops)`:
`[recipients]` groups, `oncall:SCHEDULE`, `person:ID`, resolved with alertd.oncall at the
moment of planning) when it names any, else the channel's default recipients plus its urgent
ones when the alert's priority is `urgent`; deduplicated, in order. Groups that resolve to
nobody (nobody on call, no address on that channel) fall back to the defaults too, so a page
never goes nowhere; what could not be resolved is logged. Every channel renders once per alert
and notice; each recipient gets its own notification (one row, one delivery state), numbered
on from the alert's earlier ones (`<alert id>.<n>`).

A resolved notice goes to exactly the addresses that were paged (`plan_resolved`), whoever is
on call by then, except on channels with `send_resolved = false`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from alertd.config import Settings
from alertd.metrics import TEMPLATE_ERRORS
from alertd.model import Alert, NotifyTarget, Priority
from alertd.notify.notification import Notification, Paged
from alertd.notify.render import FIRED, Notice, Renderer
from alertd.oncall import OnCall, resolve_recipients

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
    channel: str,
    groups: Iterable[str],
    priority: Priority,
    settings: Settings,
    *,
    oncall: OnCall | None = None,
    at: float = 0.0,
) -> list[str]:
    """Deduplicated recipients: those the groups stand for at `at` (epoch seconds, for who is
    on call), else the channel's defaults.

    May be empty when nothing is configured. What cannot be resolved (an unknown group, a
    person with no address on the channel, nobody on call) is logged and skipped (`alertd
    check` reports the unknown names before they go live); if nobody is left, the defaults
    are used.
    """
    found: list[str] = []
    groups = list(groups)
    if groups:
        kind = settings.channel_kind(channel)
        moment = datetime.fromtimestamp(at, UTC)
        resolved = resolve_recipients(
            oncall, settings.recipients, channel, groups, moment, kind=kind
        )
        for problem in resolved.problems:
            log.error("recipients of channel %s: %s", channel, problem)
        found = list(resolved.addresses)
    if not found:
        table = settings.channels.get(channel, {})
        found = default_recipients(settings.channel_kind(channel), table, priority)
    return list(dict.fromkeys(found))


def plan(
    alert: Alert,
    settings: Settings,
    renderer: Renderer,
    now: float,
    *,
    targets: Sequence[NotifyTarget] | None = None,
    notice: Notice = FIRED,
    first: int = 1,
    oncall: OnCall | None = None,
) -> list[Notification]:
    """Every notification this alert should produce for `targets` (default: the rule's
    `notify`), rendered for `notice` and ready to enqueue, numbered from `first`.

    Never raises for a template error: the fallback text is used, and the error is logged and
    counted. A channel with no recipient configured still gets one notification, addressed to
    nobody, which fails visibly when sent rather than vanishing here.
    """
    notifications: list[Notification] = []
    merged = _targets_by_channel(alert.notify if targets is None else targets)
    for channel, groups in merged.items():
        kind = settings.channel_kind(channel)
        content = _render(renderer, alert, kind, channel, notice)
        found = recipients_for(channel, groups, alert.priority, settings, oncall=oncall, at=now)
        for recipient in found or [""]:
            notifications.append(
                _notification(alert, channel, recipient, content, notice, now, first, kind=kind)
            )
            first += 1
    return notifications


def plan_resolved(
    alert: Alert,
    paged: Sequence[Paged],
    settings: Settings,
    renderer: Renderer,
    now: float,
    *,
    notice: Notice,
    first: int,
) -> list[Notification]:
    """The resolved notice for every address the alert paged, once each, numbered from
    `first`; none on a channel with `send_resolved = false` or no longer configured."""
    notifications: list[Notification] = []
    by_channel: dict[str, list[Paged]] = {}
    for one in paged:
        if one.recipient:  # "": the channel had no recipient; telling nobody again helps no one
            by_channel.setdefault(one.channel, []).append(one)
    for channel, recipients in by_channel.items():
        if channel not in settings.channel_names():
            log.info("alert %s: channel %s is no longer configured; not told", alert.id, channel)
            continue
        if not settings.channels.get(channel, {}).get("send_resolved", True):
            continue
        kind = settings.channel_kind(channel)
        content = _render(renderer, alert, kind, channel, notice)
        for recipient in dict.fromkeys(one.recipient for one in recipients):
            notifications.append(
                _notification(alert, channel, recipient, content, notice, now, first, kind=kind)
            )
            first += 1
    return notifications


def _render(renderer: Renderer, alert: Alert, kind: str, channel: str, notice: Notice) -> Any:
    rendered = renderer.render(alert, kind, channel, notice)
    if rendered.error is not None:
        TEMPLATE_ERRORS.labels(channel=channel).inc()
        log.error(
            "template failed for alert %s (rule %s, channel %s, notice %s); sent the fallback: %s",
            alert.id,
            alert.rule_id,
            channel,
            notice.kind,
            rendered.error,
        )
    return rendered.content


def _notification(  # noqa: PLR0917 (one row's fields, in the order the row has them)
    alert: Alert,
    channel: str,
    recipient: str,
    content: dict[str, Any],
    notice: Notice,
    now: float,
    number: int,
    *,
    kind: str,
) -> Notification:
    return Notification(
        id=f"{alert.id}.{number}",
        alert_id=alert.id,
        rule_id=alert.rule_id,
        channel=channel,
        kind=kind,
        recipient=recipient,
        priority=alert.priority,
        content=content,
        created_at=now,
        next_attempt_at=now,
        notice=notice.kind,
    )


def _targets_by_channel(targets: Iterable[NotifyTarget]) -> dict[str, list[str]]:
    """Targets merged per channel (their groups joined), so nobody is paged twice."""
    merged: dict[str, list[str]] = {}
    for target in targets:
        merged.setdefault(target.channel, []).extend(target.groups)
    return merged
