"""Alert -> notifications: who gets told, through which channel, with which rendered text.

Recipients per channel: the groups its target names (`email(managers, oncall:fleet_ops)`:
`[recipients]` groups, `oncall:SCHEDULE`, `person:ID`, resolved with alertd.oncall at the
moment of planning) when it names any, else the channel's default recipients plus its urgent
ones when the alert's priority is `urgent`; deduplicated, in order. Groups that resolve to
nobody (nobody on call, no address on that channel) fall back to the defaults too, so a page
never goes nowhere; what could not be resolved is logged. Every channel renders once per alert
and notice; each recipient gets its own notification (one row, one delivery state), numbered
on from the alert's earlier ones (`<alert id>.<n>`).

Status updates (an ack, the resolve) go to exactly the addresses that were paged
(`plan_status`), whoever is on call by then, except on channels that turn them off
(`status_updates = false`, `send_resolved = false`); at most one a minute per alert and
address.
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


STATUS_INTERVAL = 60.0
"""Seconds: at most one status update per alert and recipient in this time (a phone that
buzzes for an ack is not buzzed again for the resolve ten seconds later: that one waits)."""

UNTHROTTLED_KINDS = frozenset({"slack", "webhook"})
"""Status updates sent whenever they happen: Slack's edit the page in place (nothing buzzes),
and a webhook is a machine."""

STATUS_SWITCHES: dict[str, str] = {"acked": "status_updates", "resolved": "send_resolved"}
"""The `[channels.NAME]` key (default true) that turns each status update on or off."""


def plan_status(
    alert: Alert,
    paged: Sequence[Paged],
    settings: Settings,
    renderer: Renderer,
    now: float,
    *,
    notice: Notice,
    first: int,
) -> tuple[list[Notification], float | None]:
    """The status update `notice` (acked or resolved) to every address the alert paged whose
    last update was not that one already, once each, numbered from `first`; none on a channel
    whose switch (`STATUS_SWITCHES`) is off or that is no longer configured. An address told
    something less than STATUS_INTERVAL ago is held back: the second value is when the first
    held-back one may be told (None when none is)."""
    notifications: list[Notification] = []
    held: float | None = None
    by_channel: dict[str, list[Paged]] = {}
    for one in dict.fromkeys(paged):
        if one.recipient and one.told != notice.kind:  # "": the channel had no recipient
            by_channel.setdefault(one.channel, []).append(one)
    for channel, recipients in by_channel.items():
        if channel not in settings.channel_names():
            log.info("alert %s: channel %s is no longer configured; not told", alert.id, channel)
            continue
        if not settings.channels.get(channel, {}).get(STATUS_SWITCHES[notice.kind], True):
            continue
        kind = settings.channel_kind(channel)
        content = None
        for one in recipients:
            if kind not in UNTHROTTLED_KINDS and one.told_at is not None:
                free_at = one.told_at + STATUS_INTERVAL
                if now < free_at:
                    held = free_at if held is None else min(held, free_at)
                    continue
            if content is None:
                content = _render(renderer, alert, kind, channel, notice)
            notifications.append(
                _notification(alert, channel, one.recipient, content, notice, now, first, kind=kind)
            )
            first += 1
    return notifications, held


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
