"""What a rule's `resolve` clauses ask of the incident machinery, around the engine's decisions.

    resolving = RuleResolving(store, timers, resolve)
    resolving.decided(decisions, rules)    after the engine, in the same transaction
    resolving.closed(record)               whenever an alert resolves, whoever resolved it

The engine keeps the open alert of each key of a rule with `resolve` (alertd.engine.steps) and
decides "absorbed" and "resolved"; this module does the rest:
- `resolve after D`: a durable timer per open alert (kind `resolve_after`, ref the alert id),
  set when the alert fires and set again by each match folded into it; when it falls due the
  alert resolves with `via="timer"`.
- `resolve when`: a "resolved" decision resolves the alert with `via="rule"`.
Both go through `resolve(alert_id, rule_id, via)`: in the daemon, the incident manager's `act`,
so that the resolved notices go out once, to whoever was paged; in a replay, a record of it.
- `closed`: an alert resolved by anyone (a person through the API too) frees its key, so that
  the next match fires a new alert, and drops its timer.

Everything runs inside the caller's store transaction, on the timer service's clock: the
steady clock in the daemon, event time in a replay (alertd.ruletest.replay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from alertd.engine.state import AlertRecord, StateStore, Timer
from alertd.engine.steps import hashable
from alertd.incidents.timers import Timers
from alertd.model import Decision, Rule
from alertd.notify.notification import Notification

RESOLVE_AFTER = "resolve_after"
"""The timer kind of `resolve after`; its ref is the alert id, its payload names the rule."""

Resolve = Callable[[str, str, str], Sequence[Notification]]
"""`resolve(alert_id, rule_id, via)`: resolve the alert as its rule, through `via` (rule,
timer); returns the notifications it enqueued. An alert already resolved is left alone."""


class RuleResolving:
    """Timers and resolutions for the rules with `resolve`; not thread-safe (one caller)."""

    def __init__(self, store: StateStore, timers: Timers, resolve: Resolve) -> None:
        self.store = store
        self.timers = timers
        self.resolve = resolve
        timers.handle(RESOLVE_AFTER, self._quiet_long_enough)

    def decided(
        self, decisions: Sequence[Decision], rules: Mapping[str, Rule]
    ) -> list[Notification]:
        """Set (or set again) the `resolve after` timers of the alerts that fired or absorbed a
        match, and resolve those the engine decided "resolved". Returns the notifications."""
        sent: list[Notification] = []
        for decision in decisions:
            kind = decision.kind
            if kind == "resolved" and decision.alert_id is not None:
                sent += self.resolve(decision.alert_id, decision.rule_id, "rule")
            elif kind in ("fired", "absorbed"):
                rule = rules.get(decision.rule_id)
                after = None if rule is None or rule.resolve is None else rule.resolve.after
                alert_id = decision.alert.id if decision.alert is not None else decision.alert_id
                if after is not None and alert_id is not None:
                    payload = {"rule": decision.rule_id}
                    self.timers.set(RESOLVE_AFTER, alert_id, delay=after, payload=payload)
        return sent

    def closed(self, record: AlertRecord) -> None:
        """The alert resolved: its key has no open alert any more, and its timer is dropped."""
        alert = record.alert
        opens = self.store.open_alerts(alert.rule_id)
        key = hashable(tuple(alert.key))  # as the engine keyed it (JSON made tuples lists)
        if opens.get(key) == alert.id:
            opens.pop(key, None)
        self.timers.cancel(RESOLVE_AFTER, alert.id)

    def _quiet_long_enough(self, timer: Timer) -> Sequence[Notification]:
        """No match for the alert's key for the rule's `resolve after`."""
        return self.resolve(timer.ref, str(timer.payload.get("rule", "")), "timer")
