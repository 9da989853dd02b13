"""Notifications without sending: the template check of `alertd check` and the notifications
`alertd test-rule --render` prints.

`check_templates(settings, rules)` compiles the templates folder, then renders every rule's
templates for each channel it notifies against a sample event, strictly (no fallback), so a
template that would fail at run time fails the check instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from alertd.config import Settings
from alertd.model import Alert, Rule
from alertd.notify.errors import TemplateError, TemplateProblem
from alertd.notify.plan import plan
from alertd.notify.render import Renderer

SAMPLE_TIME = 1_767_225_600.0  # 2026-01-01T00:00:00Z

SAMPLE_EVENT: dict[str, Any] = {
    "type": "sample",
    "timestamp": "2026-01-01T00:00:00Z",
    "vehicle_id": "V-SAMPLE",
    "driver_id": "D-SAMPLE",
    "severity": "critical",
    "speed_kmh": 87.5,
    "location": {"latitude": 52.52, "longitude": 13.405},
    "tags": ["sample"],
}


def sample_alert(rule: Rule) -> Alert:
    """The alert `rule` would raise for a sample event, for rendering its templates."""
    event = dict(SAMPLE_EVENT)
    if rule.event_types:
        event["type"] = sorted(rule.event_types)[0]
    threshold = rule.count.threshold if rule.count is not None else 0
    return Alert(
        id="01SAMPLE000000000000000000",
        rule_id=rule.id,
        rule_name=rule.name,
        priority=rule.priority,
        key=("V-SAMPLE",),
        event=event,
        fired_at=SAMPLE_TIME,
        received_at=SAMPLE_TIME,
        suppressed_count=2 if rule.suppress is not None else 0,
        labels=rule.labels,
        count_events=[event] * threshold,
        description=rule.description,
        notify=rule.notify,
        template=rule.template,
    )


def check_templates(settings: Settings, rules: Iterable[Rule]) -> list[TemplateProblem]:
    """Every problem with the templates these rules would use; empty when all render."""
    folder = settings.rules.templates
    try:
        renderer = Renderer.load(folder, settings.notify)
    except TemplateError as exc:
        return exc.problems
    problems: list[TemplateProblem] = []
    alerts: list[tuple[Alert, list[str]]] = []
    for rule in rules:
        if rule.template and not (folder / rule.template).is_dir():
            where = rule.location
            problems.append(
                TemplateProblem(
                    where.path if where else str(folder),
                    where.line if where else 0,
                    f"rule {rule.id}: template {rule.template!r} not found in {folder}",
                )
            )
        kinds = sorted({settings.channel_kind(target.channel) for target in rule.notify})
        alerts.append((sample_alert(rule), kinds))
    return problems + renderer.check(alerts)


Preview = Callable[[Alert], list[dict[str, Any]]]


def notification_preview(settings: Settings) -> Preview:
    """A function from a fired alert to its notifications as they would be sent (JSON-ready).

    Templates are compiled once, here. Raises TemplateError when they do not compile.
    """
    renderer = Renderer.load(settings.rules.templates, settings.notify)

    def preview(alert: Alert) -> list[dict[str, Any]]:
        return [
            {"channel": n.channel, "recipient": n.recipient, "content": n.content}
            for n in plan(alert, settings, renderer, alert.received_at)
        ]

    return preview
