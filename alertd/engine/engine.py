"""Event in, decisions out: the one evaluation path shared by the daemon, `alertd test-rule`
and the benchmarks.

For every rule that may match an event (the RuleSet's index by event type) the engine runs the
compiled condition, then the rule's counting window, then its suppression window, and decides:
"counting" (the count is not reached yet), "suppressed" (fired too recently for this key) or
"fired" (an Alert, recorded in the store). A rule with `resolve` folds a match into the open
alert of its key ("absorbed"), and an event of its scope that meets `resolve when` closes that
alert ("resolved"; alertd.incidents.resolving does the rest). Each rule's decision is a
function built once per rule set (`steps`), in two forms: `process` and `process_batch`
give every decision (`alertd test-rule`, `--explain`), and `record_valid`, the daemon's path,
only what the daemon needs of a batch, its alerts and how many decisions of each kind each rule
made, building no object per match. Windows run in event time (see `eventtime` and
`windows`); all state lives in the store, inside the caller's transaction, so a restarted
daemon carries on exactly where it stopped.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertd.config import EngineSettings
from alertd.durations import format_duration
from alertd.engine.absence import (
    NOT_STARTED,
    TimerService,
    Untimed,
    absence_due,
    build_absence_step,
)
from alertd.engine.errors import EventTimeError, InvalidBatch, InvalidEvent, describe_value
from alertd.engine.eventtime import event_time, format_time
from alertd.engine.ids import AlertIds
from alertd.engine.ruleset import RuleSet
from alertd.engine.sequence import build_sequence_step, states_id
from alertd.engine.state import StateStore, Timer
from alertd.engine.steps import (
    LeanStep,
    Outcome,
    ResolveStep,
    Step,
    build_lean_step,
    build_resolve_step,
    build_step,
)
from alertd.model import Alert, Decision, DecisionKind, Event, Rule

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the daemon needs of a batch (`Engine.record_valid`)."""

    alerts: list[Alert]  # fired, in order
    counts: Counter[Outcome]  # how many decisions each (rule id, kind)
    # The decisions of the rules whose alerts the incident manager follows up (alertd.incidents
    # .resolving): those with `resolve` or `absent`. The rules that only count, suppress and
    # fire (whether or not they keep state over their scope) make none.
    decisions: list[Decision]


class Engine:
    """Evaluates events against a RuleSet, keeping windows and alerts in a StateStore.

    Not thread-safe: one caller at a time (the daemon's event loop, or a replay).
    """

    def __init__(
        self,
        rules: RuleSet,
        store: StateStore,
        *,
        timestamp_field: str = "timestamp",
        max_count_events: int = 20,
        max_future: float | None = None,
        max_past: float | None = None,
        timers: TimerService | None = None,
        wall: Callable[[], float] | None = None,
        started: float = NOT_STARTED,
        stamp: Callable[[float], float] | None = None,
    ) -> None:
        """`max_future`, `max_past`: reject events stamped more than this many seconds after
        or before their arrival (None: accept any time, as replays of recordings and rule
        tests must: they run on event time, and their events are as old as the recording).
        `timers`: the timer service absent rules set their deadlines with (without it, they
        never fire); `wall`: the time as events read it (default: the timers' clock);
        `started`: when the daemon started, on it (a deadline that passed before waits one
        more DURATION: alertd.engine.absence); `stamp`: the time an event without a
        timestamp takes, from its arrival (default: the arrival itself; the daemon's: the
        arrival on its steady clock, the `wall` its absent deadlines are held to)."""
        self.store = store
        self.timers = timers
        self.wall = wall or (timers.now if timers is not None else Untimed().now)
        self.started = started
        self.stamp = stamp
        self.timestamp_field = timestamp_field
        self.max_count_events = max_count_events
        self.max_future = max_future
        self.max_past = max_past
        self.watermark = -math.inf  # the latest event time seen
        self.latest_arrival = -math.inf  # the latest arrival time seen
        self.rule_errors: Counter[str] = Counter()  # conditions or keys that raised, per rule
        self._ids = AlertIds()
        # What the lean steps of the batch `record_valid` runs fired, and the decisions it keeps.
        self._batch_alerts: list[Alert] = []
        self._batch_decisions: list[Decision] = []
        self._use(rules)

    @classmethod
    def configured(
        cls,
        rules: RuleSet,
        store: StateStore,
        settings: EngineSettings,
        *,
        live: bool,
        timers: TimerService | None = None,
        wall: Callable[[], float] | None = None,
        started: float = NOT_STARTED,
        stamp: Callable[[float], float] | None = None,
    ) -> Engine:
        """An engine with the `[engine]` settings of alertd.toml. Only a `live` engine (the
        daemon's) checks how far from their arrival events are stamped: a replay's events are
        as old as its recording, and its windows run on their times alone."""
        return cls(
            rules,
            store,
            timestamp_field=settings.timestamp_field,
            max_count_events=settings.max_count_events,
            max_future=settings.max_future if live and settings.max_future > 0 else None,
            max_past=settings.max_past if live and settings.max_past > 0 else None,
            timers=timers,
            wall=wall,
            started=started,
            stamp=stamp,
        )

    def event_time(self, event: object, received_at: float) -> float:
        """When the event happened (if it has no timestamp: its arrival, as `stamp` reads it).

        Raises InvalidEvent (EventTimeError for the timestamp) without touching any state, so
        the daemon can validate a whole batch before accepting any of it. Only a timestamp the
        event carries is held to `max_future` and `max_past`: an arrival stamp is never wrong.
        """
        if event.__class__ is not dict and not isinstance(event, Mapping):  # dict: the fast test
            raise InvalidEvent(f"expected a JSON object, got {describe_value(event)}")
        if self.stamp is not None and event.get(self.timestamp_field) is None:
            return self.stamp(received_at)
        time = event_time(event, self.timestamp_field, received_at)
        if self.max_future is not None and time > received_at + self.max_future:
            # Taken as it is, such an event would hold its key's windows hostage: every real
            # event after it would look late, and fire.
            raise EventTimeError(
                f"{self.timestamp_field}: {format_time(time)} is "
                f"{format_duration(time - received_at)} ahead of its arrival at "
                f"{format_time(received_at)}; is the sender's clock wrong? (events may be at "
                f"most {format_duration(self.max_future)} ahead: [engine] max_future)"
            )
        if self.max_past is not None and time < received_at - self.max_past:
            # Taken as it is, such an event would page now for something long over, saying
            # it fired then ("Fired at 1970-01-01" for a timestamp of 0).
            raise EventTimeError(
                f"{self.timestamp_field}: {format_time(time)} is "
                f"{format_duration(math.ceil(received_at - time))} before its arrival at "
                f"{format_time(received_at)}; is the sender's clock wrong, or was the event "
                f"held back? (events may be at most {format_duration(self.max_past)} old: "
                "[engine] max_past)"
            )
        return time

    def process(self, event: object, received_at: float, index: int = 0) -> list[Decision]:
        """Evaluate one event; decisions carry `index`. Raises InvalidEvent, changing nothing."""
        time = self.event_time(event, received_at)
        with self.store.transaction():
            decisions = self._evaluate([event], [time], received_at, index)  # type: ignore[list-item]
        self.latest_arrival = max(self.latest_arrival, received_at)
        return decisions

    def process_batch(self, events: Sequence[object], received_at: float) -> list[Decision]:
        """Evaluate a batch in one pass and one transaction, all or nothing.

        Every event is validated first: if any is invalid, InvalidBatch lists them all and no
        state has changed. Decisions carry each event's index in the batch.
        """
        times = self.validate(events, received_at)
        with self.store.transaction():
            return self.process_valid(events, times, received_at)

    def validate(self, events: Sequence[object], received_at: float) -> list[float]:
        """Each event's time. Raises InvalidBatch listing every invalid event; touches no state."""
        times: list[float] = []
        errors: list[tuple[int, InvalidEvent]] = []
        for index, event in enumerate(events):
            try:
                times.append(self.event_time(event, received_at))
            except InvalidEvent as error:
                errors.append((index, error))
        if errors:
            raise InvalidBatch(errors)
        return times

    def process_valid(
        self, events: Sequence[object], times: Sequence[float], received_at: float
    ) -> list[Decision]:
        """Evaluate a batch `validate` accepted, with the times it gave, in the caller's
        transaction (validating first lets a caller refuse a batch before it opens one)."""
        decisions = self._evaluate(events, times, received_at)  # type: ignore[arg-type]
        self.latest_arrival = max(self.latest_arrival, received_at)
        return decisions

    def record_valid(
        self, events: Sequence[object], times: Sequence[float], received_at: float
    ) -> Recorded:
        """`process_valid` as the daemon needs it: the same windows and alerts recorded, but
        of the decisions only the alerts and how many of each kind each rule made (and the
        few the incident manager follows up: `Recorded`)."""
        alerts, noted = self._batch_alerts, self._batch_decisions  # where lean steps put them
        outcomes: list[Outcome] = []

        def resolved(decision: Decision) -> None:
            noted.append(decision)
            outcomes.append((decision.rule_id, decision.kind))

        try:
            self._run(
                events,  # type: ignore[arg-type]
                times,
                received_at,
                first=0,
                steps=self._lean,
                out=outcomes,
                made=noted,
                resolved=resolved,
            )
            # Counted in C, once per batch: cheaper than a Counter call per match.
            recorded = Recorded(alerts.copy(), Counter(outcomes), noted.copy())
        finally:
            alerts.clear()
            noted.clear()
        self.latest_arrival = max(self.latest_arrival, received_at)
        return recorded

    def replace_rules(self, rules: RuleSet) -> None:
        """Swap in a new rule set (a reload): windows of rules whose id survives are kept, the
        state of rules that are gone is dropped. Changed durations apply from the next fire."""
        with self.store.transaction():
            # Key states go by their table's name (a rule whose prev() arguments changed
            # starts afresh: alertd.engine.sequence.states_id).
            tables = [states_id(rule) for rule in rules.rules if rule.sequence is not None]
            self.store.retain_rules([*rules.by_id, *tables])
        self._use(rules)

    def keep_rules(self, rules: RuleSet) -> None:
        """Go back to `rules` after a reload whose transaction did not commit: the store rolled
        back what `replace_rules` wrote, so it still holds the state of these."""
        self._use(rules)

    def sweep(self, horizon: float | None = None, limit: int | None = None) -> int:
        """Evict windows that expired at or before `horizon` (at most `limit` of them); return
        how many entries went.

        The default horizon is the latest event time seen, but never later than the latest
        arrival time: one event stamped years ahead by a broken clock must not wipe every live
        window. A late event older than the horizon is judged without the evicted state.
        """
        if horizon is None:
            horizon = min(self.watermark, self.latest_arrival)
        if horizon == -math.inf:
            return 0
        with self.store.transaction():
            return self.store.sweep(horizon, limit)

    def _use(self, rules: RuleSet) -> None:
        self.rules = rules
        self._steps: dict[Rule, Step] = {}
        for rule in rules.rules:
            if rule.absent is not None:
                timers = self.timers or Untimed()
                step = build_absence_step(
                    rule, self.store, timers, wall=self.wall, failed=self._rule_failed
                )
            else:
                step = build_step(
                    rule,
                    self.store,
                    max_count_events=self.max_count_events,
                    mint=self._ids,
                    failed=self._rule_failed,
                )
            if rule.sequence is not None:  # it sees every event of its scope first
                step = build_sequence_step(rule, step, self.store, failed=self._rule_failed)
            self._steps[rule] = step
        self._lean: dict[Rule, LeanStep] = {
            rule: self._lean_step(rule, step) for rule, step in self._steps.items()
        }
        self._resolve_steps: dict[Rule, ResolveStep] = {
            rule: build_resolve_step(rule, self.store, self._rule_failed)
            for rule in rules.resolving
        }

    def _lean_step(self, rule: Rule, step: Step) -> LeanStep:
        """The rule's step in the daemon's form: built as such for a rule that only counts,
        suppresses and fires (whether or not it keeps state over its scope); otherwise its
        decisions turned into outcomes, and kept for the incident manager
        (`Recorded.decisions`). Alerts go to `record_valid`'s batch."""
        if rule.resolve is None and rule.absent is None:
            inner = build_lean_step(
                rule,
                self.store,
                max_count_events=self.max_count_events,
                mint=self._ids,
                failed=self._rule_failed,
                fired=self._batch_alerts.append,
            )
            if rule.sequence is None:
                return inner
            counting: Outcome = (rule.id, "counting")
            return build_sequence_step(
                rule,
                inner,
                self.store,
                failed=self._rule_failed,
                counting=lambda index, key, time, held: counting,
            )
        fired, note = self._batch_alerts.append, self._batch_decisions.append

        def lean(event: Event, index: int, time: float, received_at: float) -> Outcome | None:
            decision = step(event, index, time, received_at)
            if decision is None:
                return None
            if decision.alert is not None:
                fired(decision.alert)
            note(decision)
            return decision.rule_id, decision.kind

        return lean

    def _evaluate(
        self, events: Sequence[Event], times: Sequence[float], received_at: float, first: int = 0
    ) -> list[Decision]:
        """The decisions for validated events and their times, indexes counting from `first`."""
        decisions: list[Decision] = []
        self._run(
            events,
            times,
            received_at,
            first=first,
            steps=self._steps,
            out=decisions,
            made=decisions,
            resolved=decisions.append,
        )
        return decisions

    def _run(
        self,
        events: Sequence[Event],
        times: Sequence[float],
        received_at: float,
        *,
        first: int,
        steps: Mapping[Rule, Callable[[Event, int, float, float], Any]],
        out: list[Any],
        made: list[Decision],
        resolved: Callable[[Decision], None],
    ) -> None:
        """Run `steps` on validated events and their times, indexes counting from `first`:
        what they return goes to `out`, the decisions of `resolve when` to `resolved`. `made`
        holds the decisions steps made (those of rules with `resolve` at least), which
        `resolve when` must see."""
        append = out.append
        match = self.rules.match
        resolve_steps = self._resolve_steps
        watermark = self.watermark
        index = first
        for event, time in zip(events, times, strict=True):
            if time > watermark:  # noqa: PLR1730 -- per event: a call to max() costs more
                watermark = time
            try:
                matched = match(event)  # every condition of the event's type, fused
            except Exception:  # a rule not compiled by alertd raised: find it, keep the others
                matched = self._match_one_by_one(event)
            start = len(made)
            for rule in matched:
                outcome = steps[rule](event, index, time, received_at)
                if outcome is not None:
                    append(outcome)
            if resolve_steps:
                for decision in self._resolve(event, index, time, matched, made[start:]):
                    resolved(decision)
            index += 1
        self.watermark = watermark

    def use_timers(
        self,
        timers: TimerService,
        wall: Callable[[], float] | None = None,
        started: float = NOT_STARTED,
    ) -> None:
        """Set absent rules' deadlines with `timers` from now on (a replay gives its engine
        the timers it runs on event time); see __init__."""
        self.timers = timers
        self.wall = wall or timers.now
        self.started = started
        self._use(self.rules)

    def absence_due(self, timer: Timer) -> Decision | None:
        """An absent rule's timer fell due (kind ABSENT; the timer service removed it): the
        decision of the key's silence when it fires (its alert recorded), else None. In the
        caller's transaction."""
        assert self.timers is not None
        return absence_due(
            timer,
            self.rules.by_id,
            self.store,
            self.timers,
            wall=self.wall,
            mint=self._ids,
            started=self.started,
        )

    def _resolve(
        self,
        event: Event,
        index: int,
        time: float,
        matched: list[Rule],
        made: list[Decision],
    ) -> list[Decision]:
        """The `resolve when` of the rules whose scope the event is in and that it did not
        match: a match is folded into the open alert, never resolves it. (A rule that keeps
        state over its scope, alertd.engine.sequence, is offered every event of it: it matched
        only if it decided something.)"""
        resolved: list[Decision] = []
        decided: set[str] | None = None
        for rule in self.rules.resolvers(event):
            if rule in matched:
                if rule.sequence is None:
                    continue
                if decided is None:
                    decided = {decision.rule_id for decision in made}
                if rule.id in decided:
                    continue
            decision = self._resolve_steps[rule](event, index, time)
            if decision is not None:
                resolved.append(decision)
        return resolved

    def _match_one_by_one(self, event: Event) -> list[Rule]:
        matched = []
        for rule in self.rules.candidates(event):
            try:
                if rule.sequence is not None or rule.condition(event):
                    matched.append(rule)
            except Exception:
                self._rule_failed(rule)
        return matched

    def _rule_failed(self, rule: Rule) -> None:
        if not self.rule_errors[rule.id]:
            log.exception("rule %s raised while evaluating an event; counted as no match", rule.id)
        self.rule_errors[rule.id] += 1


def tally(decisions: Iterable[Decision]) -> Counter[tuple[str, DecisionKind]]:
    """How many decisions of each kind each rule made: `{(rule_id, kind): n}`."""
    return Counter((decision.rule_id, decision.kind) for decision in decisions)
