"""Every running rule with its clauses, how often it fired, was suppressed or met a type
mismatch since the daemon started (from the metrics), and when it last fired; and the
playground: an event (pasted, or a recent alert's) explained against the running rules and
their live windows, and rules edited in the page tried on it before they are saved anywhere.

The playground is a plain form (POST with its CSRF token), so it works without JavaScript. It
asks the core what `POST /v1/explain` answers (alertd.engine.verdicts), and `try_rules` for an
edited text: nothing is recorded, sent or counted.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from alertd import jsonutil, metrics
from alertd.console.page import Page
from alertd.console.render import pretty_json
from alertd.console.routing import get, post
from alertd.core import Tried
from alertd.dsl import ast
from alertd.dsl.explain import Failure
from alertd.dsl.parser import parse
from alertd.engine.errors import InvalidEvent
from alertd.engine.state import AlertQuery
from alertd.engine.verdicts import Verdict, WhatIf, values_text
from alertd.model import Rule
from alertd.server.asgi import Response
from alertd.server.views import iso, rule_view

RECENT = 8  # recent alerts offered as events to try
# What the template reads of the playground, and its value when there is nothing to show.
PLAYGROUND_VALUES: dict[str, Any] = {
    "event_text": "",
    "draft_text": "",
    "notes": [],
    "editing": "",
    "event_problem": "",
    "explained": None,
    "tried": None,
}


@get("/ui/rules", nav="Rules", order=50)
async def rules_page(page: Page) -> Response:
    """The rules; `?event=ALERT_ID` fills the playground with that alert's event, `?edit=RULE`
    with that rule's text, to change and try."""
    event_text, draft_text, notes = "", "", []
    alert_id = page.arg("event")
    if alert_id:
        detail = await page.core.alert(alert_id)
        if detail is None:
            notes.append("There is no such alert (it may have been deleted): paste an event.")
        else:
            event_text = pretty_json(detail.record.alert.event)
    rule_id = page.arg("edit")
    if rule_id:
        rule = next((rule for rule in page.core.rules() if rule.id == rule_id), None)
        text = None if rule is None else rule_text(rule)
        if text is None:
            notes.append(f"The text of rule {rule_id!r} cannot be read: write the rule here.")
        else:
            draft_text = text
    return await _render(
        page, event_text=event_text, draft_text=draft_text, notes=notes, editing=rule_id
    )


@post("/ui/rules/try")
async def try_rules(page: Page) -> Response:
    """Explain the event against the running rules and, if rule text was given, try it."""
    event_text, draft_text = page.field("event"), page.field("draft")
    values: dict[str, Any] = {"event_text": event_text, "draft_text": draft_text}
    event, problem = _event(event_text)
    if event is None:
        return await _render(page, 400, event_problem=problem, **values)
    now = page.site.clock.now()
    try:
        explained = await page.core.explain(event, now)
        tried = await page.core.try_rules(draft_text, event, now) if draft_text.strip() else None
    except InvalidEvent as invalid:
        return await _render(page, 400, event_problem=f"The event is invalid: {invalid}", **values)
    return await _render(
        page,
        explained=_results(explained),
        tried=None if tried is None else _tried(tried),
        **values,
    )


async def _render(page: Page, status: int = 200, **values: Any) -> Response:
    counts = _counts()
    shown = []
    for rule in page.core.rules():
        last = await page.core.alerts(AlertQuery(rule=rule.id, limit=1))
        view = rule_view(rule)
        view["counts"] = counts.get(rule.id, {})
        view["last_fired"] = last.records[0].alert.fired_at if last.records else None
        view["last_alert"] = last.records[0].alert.id if last.records else None
        shown.append(view)
    recent = [
        {
            "id": record.alert.id,
            "rule": record.alert.rule_name,
            "key": ", ".join(_plain(value) for value in record.alert.key),
            "fired_at": record.alert.fired_at,
        }
        for record in (await page.core.alerts(AlertQuery(limit=RECENT))).records
    ]
    for name, nothing in PLAYGROUND_VALUES.items():
        values.setdefault(name, nothing)
    return page.render("rules.html", status, rules=shown, recent=recent, **values)


def _event(text: str) -> tuple[dict[str, Any] | None, str]:
    """The event in the form, or why there is none."""
    if not text.strip():
        return None, "Paste an event (a JSON object), or pick a recent one."
    try:
        event = jsonutil.loads(text)
    except jsonutil.JSONDecodeError as exc:
        return None, f"The event is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    if not isinstance(event, dict):
        return None, "The event must be one JSON object: {...}."
    return event, ""


def _results(explained: WhatIf) -> dict[str, Any]:
    return {
        "event_time": iso(explained.event_time),
        "verdicts": [_verdict(verdict) for verdict in explained.verdicts],
    }


def _tried(tried: Tried) -> dict[str, Any]:
    return {
        "errors": list(tried.errors),
        "outcome": None if tried.outcome is None else _results(tried.outcome),
    }


def _verdict(verdict: Verdict) -> dict[str, Any]:
    """A verdict as the page shows it: the decision, then its key and windows, or why not."""
    return {
        "rule": verdict.rule_id,
        "decision": verdict.decision,
        "label": "no match" if not verdict.matched else verdict.decision,
        "key": ", ".join(_plain(value) for value in verdict.key or ()),
        "details": [detail.text for detail in verdict.details],
        "failures": [_failure(failure) for failure in verdict.failures],
        # the type mismatches not already shown as why it did not match
        "mismatches": [
            f"{m.text}: {m.problem}"
            for m in verdict.mismatches
            if all(str(m.where) != str(f.where) for f in verdict.failures)
        ],
    }


def _failure(failure: Failure) -> dict[str, Any]:
    return {
        "text": failure.text,
        "mismatch": failure.mismatch,
        "read": values_text(failure),
        "where": str(failure.where),
    }


def _plain(value: object) -> str:
    return value if isinstance(value, str) else jsonutil.dumps(value, default=str).decode()


def rule_text(rule: Rule) -> str | None:
    """The rule as it is written in its file, from `rule` to its closing brace; None when the
    file cannot be read or no longer holds it."""
    if rule.location is None:
        return None
    try:
        text = Path(rule.location.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    written, _errors = parse(text, rule.location.path)
    for item in written.items:
        if isinstance(item, ast.RuleDef) and item.id.value == rule.id:
            return written.text(item.span)
    return None


def _counts() -> dict[str, dict[str, float]]:
    """Per rule: fired, suppressed, counting and mismatches since the daemon started."""
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    for family in metrics.RULE_DECISIONS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels["rule"]][sample.labels["decision"]] = sample.value
    for family in metrics.EVALUATION_ERRORS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels["rule"]]["mismatches"] = sample.value
    return counts
