"""The engine as a replay runs it: the daemon's engine and timers, with event time as the clock.

    replay = ReplayEngine(engine)
    replay.process(event, received_at, index)   # timers due by the event's time, then the event
    replay.run_until(time)                      # `--until`: the clock runs on after the last

A replay (`alertd test-rule`, the YAML rule tests) runs the same timers as the daemon
(alertd.incidents.timers, here over the engine's memory store) on event time: before each
event, every timer due at or before its time runs, earliest first; the clock never goes back
(a late event does not rewind it). A decision that no event caused (`resolve after`, an absent
rule's silence) has no event index and the time its timer ran. Resolving is recorded on the
alert as the daemon's incident manager would (its status, by the rule, through `rule` or
`timer`); nothing is sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from alertd.engine.absence import ABSENT
from alertd.engine.engine import Engine
from alertd.engine.state import Timer
from alertd.incidents.resolving import RuleResolving
from alertd.incidents.timers import Timers
from alertd.model import Decision
from alertd.notify.notification import Notification

TIMER_BATCH = 1000  # timers run at a time (all of them run before the next event, in turns)


class EventClock:
    """Event time as far as the replay has gone: it only moves forward."""

    def __init__(self) -> None:
        self.time = -math.inf

    def now(self) -> float:
        return self.time

    def move_to(self, time: float) -> None:
        self.time = max(self.time, time)


class ReplayEngine:
    """An engine and the timers its rules set, run on event time. One caller at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clock = EventClock()
        self.timers = Timers(engine.store, self.clock)
        self.resolving = RuleResolving(engine.store, self.timers, self._resolve)
        self._timer_decisions: list[Decision] = []
        engine.use_timers(self.timers)  # absent rules' deadlines, on event time
        self.timers.handle(ABSENT, self._absent)

    def process(self, event: object, received_at: float, index: int) -> list[Decision]:
        """The decisions of the timers due by the event's time, then the event's own. Raises
        InvalidEvent (alertd.engine.errors), running nothing."""
        time = self.engine.event_time(event, received_at)
        decisions = self.run_until(time)
        found = self.engine.process(event, received_at, index)
        self.resolving.decided(found, self.engine.rules.by_id)
        return decisions + found

    def run_until(self, time: float) -> list[Decision]:
        """Run every timer due at or before `time`, earliest first, each at its due time (what
        one sets, due by `time`, runs too); the clock is then at `time`."""
        while (due := self.timers.next_due()) is not None and due <= time:
            self.clock.move_to(due)
            self.timers.run_due(self.clock.now(), TIMER_BATCH)
        self.clock.move_to(time)
        decisions, self._timer_decisions = self._timer_decisions, []
        return decisions

    def _absent(self, timer: Timer) -> Sequence[Notification]:
        """An absent rule's deadline: the silence fires (an alert, recorded), or waits on."""
        decision = self.engine.absence_due(timer)
        if decision is not None:
            self._timer_decisions.append(decision)
        return ()

    def _resolve(self, alert_id: str, rule_id: str, via: str) -> Sequence[Notification]:
        store = self.engine.store
        record = store.get_alert(alert_id)
        if record is None or record.status == "resolved":
            return ()
        now = self.clock.now()
        record = replace(
            record, status="resolved", resolved_at=now, resolved_by=rule_id, resolved_via=via
        )
        store.save_alert(record)
        self.resolving.closed(record)
        if via == "timer":  # a "resolved" decided by the engine is the event's own already
            decision = Decision(None, rule_id, "resolved", record.alert.key, now, alert_id=alert_id)
            self._timer_decisions.append(decision)
        return ()
