"""A naive model of rules that keep state over the events of their scope (prev(), changed(),
`for`), for differential testing of alertd.engine.sequence.

It keeps every event of every rule's scope in one history list and recomputes each answer by
scanning it, straight from the definitions in docs/rules.md; conditions are evaluated by the
reference interpreter (alertd.dsl.explain), never by the compiled code. What passes is decided
by the naive window model (tests/engine/naive_engine.py), as for any rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alertd.dsl.explain import explain, kept_values
from alertd.engine.eventtime import event_time
from alertd.model import Rule
from tests.engine.naive_engine import NaiveDecision, NaiveEngine


@dataclass
class Seen:
    """An event of a rule's scope, as the rule met it."""

    rule_id: str
    key: tuple[Any, ...]
    time: float
    late: bool  # older than the newest event of its key seen before it
    matched: bool
    event: dict[str, Any]


class NaiveSequenceEngine(NaiveEngine):
    def __init__(self, rules: list[Rule], max_count_events: int = 20) -> None:
        super().__init__(rules, max_count_events)
        self.seen: list[Seen] = []

    def process(self, event: dict[str, Any], received_at: float, index: int) -> list[NaiveDecision]:
        time = event_time(event, "timestamp", received_at)
        decisions = []
        for rule in self.rules:
            if rule.event_types is not None and event.get("type") not in rule.event_types:
                continue
            if rule.sequence is None:
                if rule.condition(event):
                    decisions.append(self._decide(rule, event, index, time))
                continue
            decision = self._sequence(rule, event, index, time)
            if decision is not None:
                decisions.append(decision)
        return decisions

    def _sequence(
        self, rule: Rule, event: dict[str, Any], index: int, time: float
    ) -> NaiveDecision | None:
        spec = rule.sequence
        assert spec is not None
        key = rule.key(event)
        newest = self._newest(rule.id, key)
        if newest is not None and time >= newest.time + spec.forget:  # the key was forgotten
            self.seen = [s for s in self.seen if (s.rule_id, s.key) != (rule.id, key)]
            newest = None
        late = newest is not None and time < newest.time
        previous = None if newest is None or late else kept_values(rule, newest.event)
        explanation = explain(rule, event, previous)
        assert explanation is not None
        matched = explanation.matched
        self.seen.append(Seen(rule.id, key, time, late, matched, event))
        if not matched:
            return None
        if spec.hold is not None:
            # A late event is judged against the run as it is: it is not part of it.
            run = [s for s in self.seen if s.rule_id == rule.id and s.key == key and not s.late]
            start = None
            for seen in reversed(run):  # back from the newest while they match
                if not seen.matched:
                    break
                start = seen.time
            if start is None or time - start < spec.hold:
                return NaiveDecision(index, rule.id, "counting", key, time)
        return self._decide(rule, event, index, time)

    def _newest(self, rule_id: str, key: tuple[Any, ...]) -> Seen | None:
        """The newest event in event time seen for the key (of equal times, the last to
        arrive), late events aside."""
        newest = None
        for seen in self.seen:
            mine = seen.rule_id == rule_id and seen.key == key and not seen.late
            if mine and (newest is None or seen.time >= newest.time):
                newest = seen
        return newest
