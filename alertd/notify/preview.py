"""Notifications without sending: the template check of `alertd check` and the notifications
`alertd test-rule --render` prints.

`check_templates(settings, rules)` compiles every file of the templates folder, then renders,
strictly (no fallback), against a sample event: each rule's templates for each channel it
notifies, and every template file there is, whether a rule uses it yet or not. So a template
that would fail at run time fails the check instead, and one broken file hides no other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from alertd.config import Settings
from alertd.model import Alert, CountEvents, NotifyTarget, Priority, Rule
from alertd.notify.errors import TemplateError, TemplateProblem
from alertd.notify.notification import Notification
from alertd.notify.plan import plan
from alertd.notify.render import PARTS, Renderer

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
    return _alert(
        rule.id,
        rule.name,
        rule.priority,
        event,
        suppressed_count=2 if rule.suppress is not None else 0,
        labels=dict(rule.labels),
        count_events=[event] * threshold,
        description=rule.description,
        template=rule.template,
        notify=rule.notify,
    )


def _alert(
    rule_id: str,
    rule_name: str,
    priority: Priority,
    event: dict[str, Any],
    *,
    suppressed_count: int = 2,
    labels: dict[str, str] | None = None,
    count_events: list[dict[str, Any]] | None = None,
    description: str = "A sample alert",
    template: str | None = None,
    notify: tuple[NotifyTarget, ...] = (),
) -> Alert:
    return Alert(
        id="01SAMPLE000000000000000000",
        rule_id=rule_id,
        rule_name=rule_name,
        priority=priority,
        key=("V-SAMPLE",),
        event=event,
        fired_at=SAMPLE_TIME,
        received_at=SAMPLE_TIME,
        suppressed_count=suppressed_count,
        labels=labels or {},
        count_events=CountEvents.of(count_events or []),
        description=description,
        notify=notify,
        template=template,
    )


def check_templates(settings: Settings, rules: Iterable[Rule]) -> list[TemplateProblem]:
    """Every problem with the templates: files that do not compile, and the templates of these
    rules and every other template file, rendered for a sample event. Empty when all render."""
    folder = settings.rules.templates
    try:
        renderer, problems = Renderer.load_what_compiles(folder, settings.notify)
    except TemplateError as exc:  # no renderer at all: nothing can be rendered
        return list(exc.problems)
    if not folder.is_dir():  # the problem says so; rendering adds nothing
        return problems
    broken = {Path(problem.path) for problem in problems}
    alerts: list[tuple[Alert, list[str]]] = []
    for rule in rules:
        kinds = sorted({settings.channel_kind(target.channel) for target in rule.notify})
        alerts.append((sample_alert(rule), kinds))
    alerts += [(alert, [kind]) for alert, kind in _every_template_file(folder)]
    # A kind whose template did not compile has been reported; rendering it again would only
    # add "template not found".
    renderable = [
        (alert, [kind for kind in kinds if not _uses(renderer, alert, kind, broken)])
        for alert, kinds in alerts
    ]
    for problem in renderer.unknown_names() + renderer.check(renderable):
        if problem not in problems:
            problems.append(problem)
    return problems


def _every_template_file(folder: Path) -> Iterator[tuple[Alert, str]]:
    """A sample alert for each template file, as the renderer would pick it: `KIND/PART` by
    any rule, `rules/RULE_ID/KIND/PART` by that rule, `NAME/KIND/PART` by `template "NAME"`."""
    seen: set[tuple[str | None, str | None, str]] = set()
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if len(parts) < 2 or parts[-2] not in PARTS or parts[-1] not in PARTS[parts[-2]]:
            continue
        kind, prefix = parts[-2], parts[:-2]
        rule_id = prefix[1] if len(prefix) == 2 and prefix[0] == "rules" else None
        template = "/".join(prefix) if prefix and rule_id is None else None
        if (rule_id, template, kind) in seen:
            continue
        seen.add((rule_id, template, kind))
        name = rule_id or "sample"
        yield _alert(name, f"Sample ({name})", "high", dict(SAMPLE_EVENT), template=template), kind


def _uses(renderer: Renderer, alert: Alert, kind: str, broken: set[Path]) -> bool:
    """Whether rendering this kind for the alert would look for a template that is broken."""
    return any(
        renderer.folder is not None and renderer.folder / name in broken
        for part in PARTS[kind]
        for name in renderer.candidates(alert, kind, part)
    )


Preview = Callable[[Alert], list[Notification]]


def notification_preview(settings: Settings) -> Preview:
    """A function from a fired alert to its notifications, rendered exactly as they would be
    sent. Templates are compiled once, here. Raises TemplateError when they do not compile."""
    renderer = Renderer.load(settings.rules.templates, settings.notify)

    def preview(alert: Alert) -> list[Notification]:
        return plan(alert, settings, renderer, alert.received_at)

    return preview
