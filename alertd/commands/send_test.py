"""`alertd send-test CHANNEL [--to RECIPIENT]`: one real test notification, and what the
provider answered.

It sends even when `[dispatch] dry_run = true` (checking credentials is the point), straight
through the channel with no outbox, once: a failed send is reported, never retried. It goes to
the channel's default recipients (or `--to`) and prints one line per recipient: the provider's
receipt, or its error and whether the daemon would have retried it. Exit 0 when every send
succeeded, 1 when one failed, 2 for a config error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace

from alertd.clock import SYSTEM_CLOCK
from alertd.config import Settings
from alertd.model import Alert, NotifyTarget
from alertd.notify.channels import build_channel
from alertd.notify.errors import ChannelConfigError, DeliveryError, TemplateError
from alertd.notify.plan import plan
from alertd.notify.render import Renderer
from alertd.redact import public_recipient
from alertd.suggest import aside

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def test_alert(channel: str, now: float) -> Alert:
    """The alert a test notification is rendered from."""
    return Alert(
        id=f"send-test-{int(now)}",
        rule_id="alertd_send_test",
        rule_name="alertd test notification",
        priority="low",
        key=(channel,),
        event={"type": "alertd_test", "message": f"Test notification through channel {channel}"},
        fired_at=now,
        received_at=now,
        description="Sent by `alertd send-test` to check this channel's configuration.",
        notify=(NotifyTarget(channel),),
    )


def main(settings: Settings, args: argparse.Namespace) -> int:
    name: str = args.channel
    if name not in settings.channels:
        hint = aside(name, settings.channels)
        print(
            f"alertd send-test: error: no [channels.{name}] in {settings.source}{hint}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    live = replace(settings, dispatch=replace(settings.dispatch, dry_run=False))
    try:
        return asyncio.run(_send(live, name, args.to))
    except ChannelConfigError as exc:
        print(f"alertd send-test: error: {settings.source}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TemplateError as exc:
        print(f"alertd send-test: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


async def _send(settings: Settings, name: str, to: str | None) -> int:
    channel = build_channel(name, settings, SYSTEM_CLOCK)
    renderer = Renderer.load(settings.rules.templates, settings.notify)
    notifications = plan(test_alert(name, SYSTEM_CLOCK.now()), settings, renderer, 0.0)
    if to is not None:
        notifications = [replace(notifications[0], recipient=to)]
    elif not any(notification.recipient for notification in notifications):
        await channel.aclose()
        raise ChannelConfigError(
            f"[channels.{name}] has no default recipient to send a test to: configure one "
            "(docs/channels.md) or pass --to"
        )
    failed = 0
    try:
        for notification in notifications:
            recipient = public_recipient(notification.kind, notification.recipient)
            try:
                receipt = await channel.send(notification)
            except DeliveryError as exc:
                failed += 1
                verdict = (
                    "send-test sends once; the daemon would retry this error"
                    if exc.retryable
                    else "the daemon would not retry this error either"
                )
                print(f"{name} -> {recipient}: FAILED: {exc} (not retried: {verdict})")
            else:
                print(f"{name} -> {recipient}: sent: {receipt}")
    finally:
        await channel.aclose()
    return EXIT_FAILED if failed else EXIT_OK
