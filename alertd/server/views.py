"""The JSON shapes of the API's answers (openapi.yaml describes them; tests keep the two equal).

Times are ISO-8601 UTC with milliseconds and a `Z`. Recipients are shown in their public form
(alertd.redact: a URL without its user info and query, a push topic or token as a short prefix)
and delivery errors with the URLs in them redacted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from alertd import jsonutil
from alertd.core import Acted, AlertDetail, RuleProblem, SilenceExpired
from alertd.engine.errors import WHY, InvalidEvent
from alertd.engine.state import AlertRecord, Escalation, TimelineEntry
from alertd.engine.verdicts import WhatIf, mismatch_view, verdict_view
from alertd.model import Rule
from alertd.notify.notification import DeliveryState
from alertd.redact import public_recipient, redact_urls
from alertd.silences import Listed
from alertd.state_health import StateProblem


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def state_problem_view(problem: StateProblem) -> dict[str, Any]:
    """An outage of the state on /readyz: its reason, in words, and since when. The error
    itself (naming files) is in the log, not on an endpoint that needs no token."""
    return {"reason": problem.reason, "why": WHY[problem.reason], "since": iso(problem.since)}


def alert_view(
    record: AlertRecord, deliveries: Iterable[DeliveryState] | None = None
) -> dict[str, Any]:
    alert = record.alert
    view: dict[str, Any] = {
        "id": alert.id,
        "rule": alert.rule_id,
        "rule_name": alert.rule_name,
        "description": alert.description,
        "priority": alert.priority,
        "key": list(alert.key),
        "status": record.status,
        "fired_at": iso(alert.fired_at),
        "received_at": iso(alert.received_at),
        "suppressed_count": alert.suppressed_count,
        "labels": dict(alert.labels),
        "event": alert.event,
        "count_events": list(alert.count_events),
        "acked_at": iso(record.acked_at),
        "acked_by": record.acked_by or None,  # "": the ack named no one
        "acked_via": record.acked_via,
        "resolved_at": iso(record.resolved_at),
        "resolved_by": record.resolved_by or None,
        "resolved_via": record.resolved_via,
        "match_count": record.match_count,
        "last_matched_at": iso(record.last_matched_at),
        "last_event": None if record.last_event is None else dict(record.last_event),
        "silenced_by": record.silenced_by,
    }
    if deliveries is not None:
        view["notifications"] = [delivery_view(d) for d in deliveries]
    return view


def alert_detail_view(detail: AlertDetail) -> dict[str, Any]:
    view = alert_view(detail.record, detail.deliveries)
    escalation = detail.record.escalation
    view["escalation"] = (
        None if escalation is None else escalation_view(escalation, detail.next_step_due)
    )
    view["timeline"] = [timeline_view(entry) for entry in detail.timeline]
    return view


def acted_view(acted: Acted) -> dict[str, Any]:
    """An action's answer: the alert as it is now, whether the action changed it, and how."""
    return {**alert_detail_view(acted.detail), "changed": acted.changed, "message": acted.message}


def escalation_view(escalation: Escalation, next_step_due: float | None) -> dict[str, Any]:
    """The policy, the last step run (its number in its round, and the round; 0 before the
    first), and when the next is due (null when none is pending: acked, resolved, or over)."""
    steps = len(escalation.steps)
    last = escalation.ran - 1
    return {
        "policy": escalation.policy,
        "step": 0 if last < 0 else last % steps + 1,
        "round": 1 if last < 0 else last // steps + 1,
        "steps": steps,
        "rounds": escalation.repeat + 1,
        "next_step_due": iso(next_step_due),
    }


def timeline_view(entry: TimelineEntry) -> dict[str, Any]:
    detail = dict(entry.detail)
    if entry.action == "notified":
        kind = detail.pop("kind", "")
        detail["recipients"] = [public_recipient(kind, r) for r in detail.get("recipients", ())]
    return {
        "at": iso(entry.at),
        "action": entry.action,
        "by": entry.by or None,
        "via": entry.via,
        "detail": detail,
    }


def delivery_view(delivery: DeliveryState) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "notice": delivery.notice,
        "channel": delivery.channel,
        "recipient": public_recipient(delivery.kind, delivery.recipient),
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_error": None if delivery.last_error is None else redact_urls(delivery.last_error),
        "sent_at": iso(delivery.sent_at),
        "next_attempt_at": iso(delivery.next_attempt_at if delivery.state == "pending" else None),
        "held_until": iso(delivery.next_attempt_at if delivery.state == "held" else None),
        "hold": hold_view(delivery.hold),
        "bundles": [
            {
                "id": bundle.id,
                "kind": bundle.kind,
                "count": bundle.count,
                "state": bundle.state,
                "sent_at": iso(bundle.sent_at),
            }
            for bundle in delivery.bundles
        ],
    }


def hold_view(hold: str | None) -> dict[str, Any] | None:
    """What held a notification back (alertd.storms): its kind and, for a group, its key."""
    if not hold:
        return None
    kind, _, ref = hold.partition(":")
    view: dict[str, Any] = {"kind": kind}
    if kind == "group":
        with contextlib.suppress(ValueError, TypeError):
            view["key"] = jsonutil.loads(ref)[1:]
    return view


def silence_view(listed: Listed) -> dict[str, Any]:
    """A silence, or a maintenance window (`kind`), with its state when it was read."""
    silence = listed.silence
    return {
        "id": silence.id,
        "kind": silence.kind,
        "state": listed.state,
        "matchers": [
            {"name": m.name, "value": m.value, "regex": m.regex, "equal": m.equal}
            for m in silence.matchers
        ],
        "starts_at": iso(silence.starts_at),
        "ends_at": iso(silence.ends_at),
        "created_by": silence.created_by,
        "created_via": silence.created_via,
        "comment": silence.comment,
        "created_at": iso(silence.created_at),
        "updated_at": iso(silence.updated_at),
        "recurs": silence.recurs,
    }


def silence_expired_view(expired: SilenceExpired) -> dict[str, Any]:
    """An expire's answer: the silence as it is now, whether that changed it, and how."""
    ended = iso(expired.listed.silence.ends_at)
    message = "expired" if expired.changed else f"already expired at {ended}; nothing changed"
    return {**silence_view(expired.listed), "changed": expired.changed, "message": message}


def rule_view(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "description": rule.description,
        "priority": rule.priority,
        "when": rule.condition_source,
        "event_types": sorted(rule.event_types) if rule.event_types is not None else None,
        "count": None
        if rule.count is None
        else {
            "threshold": rule.count.threshold,
            "within_seconds": rule.count.within,
            "by": list(rule.count.key_source),
        },
        "suppress": None
        if rule.suppress is None
        else {"seconds": rule.suppress.duration, "by": list(rule.suppress.key_source)},
        "group": None
        if rule.group is None
        else {"wait_seconds": rule.group.wait, "by": list(rule.group.key_source)},
        "by": list(rule.key_source),
        "resolve": None
        if rule.resolve is None
        else {
            "when": rule.resolve.when_source or None,
            "after_seconds": rule.resolve.after,
        },
        "escalate": rule.escalate,
        "notify": [{"channel": t.channel, "groups": list(t.groups)} for t in rule.notify],
        "template": rule.template,
        "labels": dict(rule.labels),
        "enabled": rule.enabled,
        "location": str(rule.location) if rule.location is not None else None,
    }


def problem_view(problem: RuleProblem) -> dict[str, Any]:
    """A refused reload's error: where, what, and the text `alertd check` prints."""
    return {
        "path": problem.path,
        "line": problem.line,
        "column": problem.column,
        "message": problem.message,
        "text": problem.text,
    }


def what_if_view(asked: WhatIf) -> dict[str, Any]:
    """`POST /v1/explain`: the event's time and, for every rule of its scope in file order,
    its verdict as `test-rule --explain` gives it, with the type mismatches it met."""
    rules = []
    for verdict in asked.verdicts:
        view = verdict_view(verdict)
        view["type_mismatches"] = [mismatch_view(m) for m in verdict.mismatches]
        rules.append(view)
    return {"event_time": iso(asked.event_time), "rules": rules}


def invalid_event_details(errors: Iterable[tuple[int, InvalidEvent]]) -> list[dict[str, Any]]:
    """Events the core refused, as the items of a 400's `details`."""
    return [{"index": index, "error": str(error)} for index, error in errors]
