"""A deliberately naive model of the engine's window semantics, for differential testing.

It keeps every match in one flat history list and recomputes each decision by scanning it,
straight from the definitions in docs/testing-rules.md (and, for rules with `resolve`, in
docs/rules.md, "Open alerts"): no dicts of windows, no trimming, no eviction, no index of open
alerts. Slow on purpose; only as clever as the definitions themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from alertd.engine.eventtime import event_time
from alertd.model import Rule


@dataclass
class Match:
    rule_id: str
    stage: str  # "count", "suppress" or "alert"
    key: tuple[Any, ...]
    time: float
    # count: "counting" | "cleared"; suppress: "start" | "suppressed" | "late";
    # alert (rules with `resolve`): "opened" | "resolved"
    outcome: str
    event: dict[str, Any]
    alert: int | None = None  # alert: which (the nth alert fired, from 0)


@dataclass(frozen=True)
class NaiveDecision:
    index: int
    rule_id: str
    kind: str
    key: tuple[Any, ...]
    time: float
    suppressed_until: float | None = None
    count: int | None = None
    suppressed_count: int | None = None
    count_times: tuple[float, ...] | None = None
    alert: int | None = None  # fired, absorbed, resolved: which alert (the nth fired, from 0)


class NaiveEngine:
    def __init__(self, rules: list[Rule], max_count_events: int = 20) -> None:
        self.rules = [rule for rule in rules if rule.enabled]
        self.history: list[Match] = []
        self.max_count_events = max_count_events
        self.fired = 0

    def process(self, event: dict[str, Any], received_at: float, index: int) -> list[NaiveDecision]:
        time = event_time(event, "timestamp", received_at)
        decisions = []
        matched = set()
        for rule in self.rules:
            if rule.event_types is not None and event.get("type") not in rule.event_types:
                continue
            if rule.condition(event):
                matched.add(rule.id)
                decisions.append(self._decide(rule, event, index, time))
        for rule in self.rules:  # then `resolve when`, for the rules the event did not match
            resolve = rule.resolve
            if resolve is None or resolve.when is None or rule.id in matched:
                continue
            if resolve.event_types is not None and event.get("type") not in resolve.event_types:
                continue
            key = rule.key(event)
            alert = self._open(rule, key)
            if alert is not None and resolve.when(event):
                self.history.append(Match(rule.id, "alert", key, time, "resolved", event, alert))
                decisions.append(NaiveDecision(index, rule.id, "resolved", key, time, alert=alert))
        return decisions

    def _open(self, rule: Rule, key: tuple[Any, ...]) -> int | None:
        """The rule's open alert for the key: the last one opened, unless resolved since."""
        found = None
        for match in self.history:
            if match.rule_id == rule.id and match.stage == "alert" and match.key == key:
                found = match.alert if match.outcome == "opened" else None
        return found

    def _decide(self, rule: Rule, event: dict[str, Any], index: int, time: float) -> NaiveDecision:
        if rule.resolve is not None:
            key = rule.key(event)
            alert = self._open(rule, key)
            if alert is not None:
                return NaiveDecision(index, rule.id, "absorbed", key, time, alert=alert)
            decision = self._windows(rule, event, index, time)
            if decision.kind == "fired":
                self.history.append(
                    Match(rule.id, "alert", key, time, "opened", event, decision.alert)
                )
                return replace(decision, key=key)
            return decision
        return self._windows(rule, event, index, time)

    def _windows(self, rule: Rule, event: dict[str, Any], index: int, time: float) -> NaiveDecision:
        count_times: tuple[float, ...] | None = None
        key: tuple[Any, ...] = ()
        if rule.count is not None:
            key = rule.count.key(event)
            since_clear: list[Match] = []
            for match in self.history:
                if match.rule_id == rule.id and match.stage == "count" and match.key == key:
                    since_clear = [] if match.outcome == "cleared" else [*since_clear, match]
            candidates = [*since_clear, Match(rule.id, "count", key, time, "counting", event)]
            newest = max(m.time for m in candidates)
            in_window = [m for m in candidates if newest - m.time < rule.count.within]
            if len(in_window) < rule.count.threshold:
                self.history.append(candidates[-1])
                return NaiveDecision(index, rule.id, "counting", key, time, count=len(in_window))
            self.history.append(Match(rule.id, "count", key, time, "cleared", event))
            in_window.sort(key=lambda m: m.time)  # stable: equal times keep arrival order
            kept = in_window[-self.max_count_events :] if self.max_count_events else []
            count_times = tuple(m.time for m in kept)

        suppressed_count = 0
        if rule.suppress is not None:
            key = rule.suppress.key(event)
            duration = rule.suppress.duration
            start: Match | None = None
            suppressed_since = 0
            for match in self.history:
                if match.rule_id == rule.id and match.stage == "suppress" and match.key == key:
                    if match.outcome == "start":
                        start, suppressed_since = match, 0
                    elif match.outcome == "suppressed":
                        suppressed_since += 1
            if start is not None:
                lifetime = 2 * duration if suppressed_since else duration
                if time >= start.time + lifetime:
                    start, suppressed_since = None, 0  # expired: as if never there
            if start is None or time >= start.time + duration:
                suppressed_count = suppressed_since
                self.history.append(Match(rule.id, "suppress", key, time, "start", event))
            elif time > start.time - duration:
                self.history.append(Match(rule.id, "suppress", key, time, "suppressed", event))
                return NaiveDecision(
                    index, rule.id, "suppressed", key, time, suppressed_until=start.time + duration
                )
            else:
                self.history.append(Match(rule.id, "suppress", key, time, "late", event))
        if rule.count is None and rule.suppress is None:
            key = rule.key(event)  # no window: the alert is about the rule's key
        self.fired += 1
        return NaiveDecision(
            index,
            rule.id,
            "fired",
            key,
            time,
            suppressed_count=suppressed_count,
            count_times=count_times,
            alert=self.fired - 1,
        )
