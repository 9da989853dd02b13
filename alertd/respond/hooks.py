"""The answering hooks together, as the HTTP API serves them (alertd.server.app)."""

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
