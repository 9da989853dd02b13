"""The message that lists several held alerts: a group, a cap's summary, quiet hours', a digest.

Rendered when its hold releases it, from the alerts as they are then (one resolved meanwhile
says so), with the channel's `bundle/` templates (alertd.notify.render). Templates get, besides
the alerts, `bundle`:

    kind      group | cap | quiet | digest
    count     how many alerts it lists
    priority  the highest of theirs
    key       a group's `group by` values ([] for the others)
    headline  one line that says what it is: "+7 more alerts", "20 alerts: Harsh braking
              (depot-7)", "Digest: 12 alerts", "12 alerts during quiet hours"
    url       where to see them all: the console's list of firing alerts (of the rule, for a
              group) when `[server] public_url` is set, else the first alert's link
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from alertd.config import Settings
from alertd.engine.state import AlertRecord
from alertd.metrics import TEMPLATE_ERRORS
from alertd.model import PRIORITIES
from alertd.notify.render import Renderer, key_text
from alertd.wording import counted

log = logging.getLogger("alertd.storms")


@dataclass(frozen=True, slots=True)
class Bundle:
    """What a bundle lists: its kind, a group's key, and the alerts (at least two)."""

    kind: str
    key: Sequence[Any]
    alerts: Sequence[AlertRecord]


def headline(bundle: Bundle) -> str:
    """The bundle's one-line summary (see the module)."""
    count = len(bundle.alerts)
    alerts = counted(count, "alert")
    if bundle.kind == "cap":
        return f"+{count} more {'alert' if count == 1 else 'alerts'}"
    if bundle.kind == "group":
        name = bundle.alerts[0].alert.rule_name if bundle.alerts else ""
        key = key_text(bundle.key)
        return f"{alerts}: {name}" + (f" ({key})" if key else "")
    if bundle.kind == "digest":
        return f"Digest: {alerts}"
    return f"{alerts} during quiet hours"


def bundle_url(bundle: Bundle, settings: Settings, renderer: Renderer) -> str:
    public = settings.server.public_url
    if public:
        rules = {record.alert.rule_id for record in bundle.alerts}
        query = {"status": "firing"} | ({"rule": rules.pop()} if len(rules) == 1 else {})
        return f"{public}/ui/alerts?{urlencode(query)}"
    return renderer.alert_url(bundle.alerts[0].alert) if bundle.alerts else ""


def render_bundle(
    renderer: Renderer, bundle: Bundle, channel: str, kind: str, settings: Settings
) -> dict[str, Any]:
    """The bundle's content for one channel; the built-in fallback (logged and counted) when a
    template fails."""
    described = {
        "kind": bundle.kind,
        "key": list(bundle.key),
        "key_text": key_text(bundle.key),
        "headline": headline(bundle),
        "priority": max((r.alert.priority for r in bundle.alerts), key=PRIORITIES.index),
        "url": bundle_url(bundle, settings, renderer),
    }
    alerts = [(record.alert, record.status) for record in bundle.alerts]
    rendered = renderer.render_bundle(alerts, kind, channel, described)
    if rendered.error is not None:
        TEMPLATE_ERRORS.labels(channel=channel).inc()
        log.error(
            "template failed for a %s of %s on channel %s; sent the fallback: %s",
            bundle.kind,
            counted(len(alerts), "alert"),
            channel,
            rendered.error,
        )
    return rendered.content
