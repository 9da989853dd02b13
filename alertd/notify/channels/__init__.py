"""The channels, one module per kind, each the only importer of its client library.

`build_channel(name, settings, clock)` validates `[channels.NAME]` and returns a ready channel;
with `[dispatch] dry_run = true` every name gets the console channel instead. alertd.config has
already checked every table's keys and their types (for every command, dry run or not); building
a channel adds what only matters for really sending: credentials that are required, a service
account that can sign, a sender address. `build_channels` (what `alertd run` starts with) and
`sending_problems` (what `alertd check` reports: the same list) also want every table to have
a default recipient, because a rule that names no recipient group sends there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import DispatchSettings, Settings
from alertd.notify.channels.base import Channel, Table
from alertd.notify.channels.console import ConsoleChannel
from alertd.notify.channels.email import EmailChannel
from alertd.notify.channels.push import build_push
from alertd.notify.channels.slack import SlackChannel
from alertd.notify.channels.sms import SmsChannel
from alertd.notify.channels.webhook import WebhookChannel
from alertd.notify.errors import ChannelConfigError
from alertd.notify.plan import RECIPIENT_KEYS, default_recipients

__all__ = ["Channel", "ChannelConfigError", "build_channel", "build_channels", "sending_problems"]

_BUILDERS: dict[str, Callable[[Table, DispatchSettings, Clock], Channel]] = {
    "email": EmailChannel,
    "push": build_push,
    "slack": SlackChannel,
    "sms": SmsChannel,
    "webhook": WebhookChannel,
}
"""How each kind's channel is made from its table (alertd.config has checked the table)."""


def build_channel(name: str, settings: Settings, clock: Clock) -> Channel:
    """The channel a rule's `notify NAME` sends through. Raises ChannelConfigError."""
    if settings.dispatch.dry_run:
        return ConsoleChannel(name)
    if name not in settings.channels:
        raise ChannelConfigError(f"[channels.{name}] is not configured")
    kind = settings.channel_kind(name)
    table = settings.channels[name]
    missing = _missing_keys(name, kind, table)
    if missing:
        raise ChannelConfigError(missing)
    build = _BUILDERS.get(kind)
    if build is None:
        raise ChannelConfigError(f"[channels.{name}] kind {kind!r} is not supported")
    return build(Table(name, table), settings.dispatch, clock)


def build_channels(settings: Settings, clock: Clock) -> dict[str, Channel]:
    """Every configured channel, so that a bad table stops the daemon at start, not later.

    Every `[channels.*]` table must be able to send, whether a rule uses it or not (as
    Alertmanager checks every receiver), and to someone: configure a table or delete it.
    Raises ChannelConfigError naming every table that cannot, "; "-separated.
    """
    channels, problems = _build_all(settings, clock)
    if problems:
        raise ChannelConfigError("; ".join(problems))
    return channels


def sending_problems(settings: Settings) -> list[str]:
    """What stops `alertd run` at start in the channel tables, one message each (none in a dry
    run), for `alertd check`. The channels are built and dropped: no connection is made."""
    return _build_all(settings, SYSTEM_CLOCK)[1]


def _build_all(settings: Settings, clock: Clock) -> tuple[dict[str, Channel], list[str]]:
    channels: dict[str, Channel] = {}
    problems: list[str] = []
    for name in settings.channels:
        try:
            channels[name] = build_channel(name, settings, clock)
        except ChannelConfigError as exc:
            problems.append(str(exc))
        if not settings.dispatch.dry_run:
            problems += _no_default_recipient(name, settings)
    return channels, problems


REQUIRED_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "email": (("host",), ("from",)),
    "sms": (("account_sid",), ("auth_token",), ("from", "messaging_service_sid")),
    "slack": (("token",),),
    "push": (),  # FCM's service account is checked by alertd.notify.channels.push
    "webhook": (),
}
"""What each kind cannot send without, checked all at once so that one run of `alertd check`
names every missing key. A tuple of several keys is satisfied by any one of them."""


def _missing_keys(name: str, kind: str, table: Mapping[str, Any]) -> str:
    """ "[channels.NAME] KEY, KEY: are required ..." for the required keys that are missing or
    empty (an unset `${VAR:-}` is empty); "" when none is."""
    missing = [
        keys[0] if len(keys) == 1 else f"{keys[0]} (or {' or '.join(keys[1:])})"
        for keys in REQUIRED_KEYS[kind]
        if not any(table.get(key) for key in keys)
    ]
    if not missing:
        return ""
    if len(missing) == 1:
        return f"[channels.{name}] {missing[0]}: is required (is its environment variable set?)"
    return (
        f"[channels.{name}] {', '.join(missing)}: are required "
        "(are their environment variables set?)"
    )


def _no_default_recipient(name: str, settings: Settings) -> list[str]:
    """Sending for real, a table needs a default recipient: a rule that notifies NAME without
    naming a recipient group sends there, and every one of its notifications would fail."""
    kind = settings.channel_kind(name)
    table = settings.channels[name]
    if default_recipients(kind, table, "medium"):
        return []
    key = RECIPIENT_KEYS[kind][0]
    if kind == "push" and table.get("provider", "ntfy") == "ntfy":
        key = "topic"
    return [
        f"[channels.{name}] {key}: is required once dry_run = false: a rule that notifies "
        f"{name} without naming a recipient group sends there"
    ]
