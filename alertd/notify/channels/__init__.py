"""The channels, one module per kind, each the only importer of its client library.

`build_channel(name, settings, clock)` validates `[channels.NAME]` and returns a ready channel;
with `[dispatch] dry_run = true` every name gets the console channel instead.
"""

from __future__ import annotations

from alertd.clock import Clock
from alertd.config import Settings
from alertd.notify.channels.base import Channel
from alertd.notify.channels.console import ConsoleChannel
from alertd.notify.channels.email import EmailChannel
from alertd.notify.channels.push import build_push
from alertd.notify.channels.slack import SlackChannel
from alertd.notify.channels.sms import SmsChannel
from alertd.notify.channels.webhook import WebhookChannel
from alertd.notify.errors import ChannelConfigError

__all__ = ["Channel", "ChannelConfigError", "build_channel", "build_channels"]


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
    """Every configured channel, so that a bad table stops the daemon at start, not later."""
    return {name: build_channel(name, settings, clock) for name in settings.channels}
