"""The channels, one module per kind, each the only importer of its client library.

`build_channel(name, settings, clock)` validates `[channels.NAME]` and returns a ready channel;
with `[dispatch] dry_run = true` every name gets the console channel instead. alertd.config has
already checked every table's keys and their types (for every command, dry run or not); building
a channel adds what only matters for really sending: credentials that are required, a service
account that can sign, a sender address.
"""

from __future__ import annotations

from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import Settings
from alertd.notify.channels.base import Channel
from alertd.notify.channels.console import ConsoleChannel
from alertd.notify.channels.email import EmailChannel
from alertd.notify.channels.push import build_push
from alertd.notify.channels.slack import SlackChannel
from alertd.notify.channels.sms import SmsChannel
from alertd.notify.channels.webhook import WebhookChannel
from alertd.notify.errors import ChannelConfigError

__all__ = ["Channel", "ChannelConfigError", "build_channel", "build_channels", "sending_problems"]


def build_channel(name: str, settings: Settings, clock: Clock) -> Channel:
    """The channel a rule's `notify NAME` sends through. Raises ChannelConfigError."""
    if settings.dispatch.dry_run:
        return ConsoleChannel(name)
    if name not in settings.channels:
        raise ChannelConfigError(f"[channels.{name}] is not configured")
    kind = settings.channel_kind(name)
    table = settings.channels[name]
    if kind == "email":
        return EmailChannel(name, table, settings.dispatch, clock)
    if kind == "push":
        return build_push(name, table, settings.dispatch, clock)
    if kind == "slack":
        return SlackChannel(name, table, settings.dispatch, clock)
    if kind == "sms":
        return SmsChannel(name, table, settings.dispatch, clock)
    if kind == "webhook":
        return WebhookChannel(name, table, settings.dispatch, clock)
    raise ChannelConfigError(f"[channels.{name}] kind {kind!r} is not supported")


def build_channels(settings: Settings, clock: Clock) -> dict[str, Channel]:
    """Every configured channel, so that a bad table stops the daemon at start, not later.

    Every `[channels.*]` table must be able to send, whether a rule uses it or not (as
    Alertmanager checks every receiver): configure a table or delete it. Raises
    ChannelConfigError naming every table that cannot, "; "-separated.
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
    return channels, problems
