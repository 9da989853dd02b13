"""The answering hooks together, as the HTTP API serves them (alertd.server.app), and what
of their setup is missing (said once at start, so that a page without a way to answer it is
not a surprise)."""

from __future__ import annotations

from dataclasses import dataclass

from alertd.clock import Clock
from alertd.config import Settings
from alertd.core import Core
from alertd.respond.links import LinkPages, link_secret
from alertd.respond.slack_hook import SlackHook
from alertd.respond.sms_hook import SmsHook


@dataclass(frozen=True, slots=True)
class Hooks:
    sms: SmsHook
    slack: SlackHook
    links: LinkPages

    @classmethod
    def build(cls, settings: Settings, core: Core, clock: Clock) -> Hooks:
        """Raises OSError when the links' secret has to be made and cannot."""
        return cls(
            sms=SmsHook(settings, core, clock),
            slack=SlackHook(settings, core, clock),
            links=LinkPages(settings, core, clock, link_secret(settings)),
        )


def setup_notes(settings: Settings) -> list[str]:
    """Each way of answering a page that the configured channels have but cannot offer, and
    why (docs/responding.md); none in a dry run."""
    if settings.dispatch.dry_run:
        return []
    notes: list[str] = []
    kinds = {name: settings.channel_kind(name) for name in settings.channels}
    public = bool(settings.server.public_url)
    for name, kind in kinds.items():
        if kind == "sms" and not public:
            notes.append(
                f"[channels.{name}]: SMS pages carry no reply code: [server] public_url is not set"
            )
        elif kind == "email" and not public:
            notes.append(
                f"[channels.{name}]: emails carry no Acknowledge/Resolve links: "
                "[server] public_url is not set"
            )
        elif kind == "slack" and not settings.channels[name].get("signing_secret"):
            notes.append(
                f"[channels.{name}]: Slack messages carry no Acknowledge/Resolve buttons: "
                "signing_secret is not set"
            )
    return notes
