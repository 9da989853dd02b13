"""Event in, decisions out: the one evaluation path shared by the daemon, `alertd test-rule`
and the benchmarks.

For every rule that may match an event (the RuleSet's index by event type) the engine runs the
compiled condition, then the rule's counting window, then its suppression window, and decides:
"counting" (the count is not reached yet), "suppressed" (fired too recently for this key) or
"fired" (an Alert, recorded in the store). Windows run in event time (see `eventtime` and
`windows`); all state lives in the store, inside the caller's transaction, so a restarted
daemon carries on exactly where it stopped.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence

from alertd.config import EngineSettings
from alertd.durations import format_duration
from alertd.engine.errors import EventTimeError, InvalidBatch, InvalidEvent, describe_value
from alertd.engine.eventtime import event_time, format_time
from alertd.engine.ids import new_alert_id
from alertd.engine.ruleset import RuleSet
from alertd.engine.state import StateStore
from alertd.engine.windows import CountWindow, Suppression, count_step, suppression_step
from alertd.model import Alert, Decision, DecisionKind, Event, Key, Rule

log = logging.getLogger(__name__)


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
    ) -> None:
        """`max_future`: reject events stamped more than this many seconds after their
        arrival (None: accept any time, as replays of recordings and rule tests must)."""
        self.rules = rules
        self.store = store
        self.timestamp_field = timestamp_field
        self.max_count_events = max_count_events
        self.max_future = max_future
        self.watermark = -math.inf  # the latest event time seen
        self.latest_arrival = -math.inf  # the latest arrival time seen
        self.rule_errors: Counter[str] = Counter()  # conditions or keys that raised, per rule

    @classmethod
    def configured(
        cls, rules: RuleSet, store: StateStore, settings: EngineSettings, *, live: bool
    ) -> Engine:
        """An engine with the `[engine]` settings of alertd.toml. Only a `live` engine (the
        daemon's) checks how far ahead of their arrival events are stamped."""
        return cls(
            rules,
            store,
            timestamp_field=settings.timestamp_field,
            max_count_events=settings.max_count_events,
            max_future=settings.max_future if live and settings.max_future > 0 else None,
        )

    def event_time(self, event: object, received_at: float) -> float:
        """When the event happened (arrival time if it has no timestamp).

        Raises InvalidEvent (EventTimeError for the timestamp) without touching any state, so
        the daemon can validate a whole batch before accepting any of it.
        """
        if not isinstance(event, Mapping):
            raise InvalidEvent(f"expected a JSON object, got {describe_value(event)}")
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
        return time

    def process(self, event: object, received_at: float, index: int = 0) -> list[Decision]:
        """Evaluate one event; decisions carry `index`. Raises InvalidEvent, changing nothing."""
        time = self.event_time(event, received_at)
        assert isinstance(event, Mapping)  # checked by event_time
        decisions: list[Decision] = []
        with self.store.transaction():
            self._evaluate(event, index, time, received_at, decisions)
        self.latest_arrival = max(self.latest_arrival, received_at)
        return decisions

    def process_batch(self, events: Sequence[object], received_at: float) -> list[Decision]:
        """Evaluate a batch in one pass and one transaction, all or nothing.

        Every event is validated first: if any is invalid, InvalidBatch lists them all and no
        state has changed. Decisions carry each event's index in the batch.
        """
        times: list[float] = []
        errors: list[tuple[int, InvalidEvent]] = []
        for index, event in enumerate(events):
            try:
                times.append(self.event_time(event, received_at))
            except InvalidEvent as error:
                errors.append((index, error))
        if errors:
            raise InvalidBatch(errors)
        decisions: list[Decision] = []
        evaluate = self._evaluate
        with self.store.transaction():
            for index, event in enumerate(events):
                evaluate(event, index, times[index], received_at, decisions)  # type: ignore[arg-type]
        self.latest_arrival = max(self.latest_arrival, received_at)
        return decisions

    def replace_rules(self, rules: RuleSet) -> None:
        """Swap in a new rule set (a reload): windows of rules whose id survives are kept, the
        state of rules that are gone is dropped. Changed durations apply from the next fire."""
        with self.store.transaction():
            self.store.retain_rules(list(rules.by_id))
        self.rules = rules

    def sweep(self, horizon: float | None = None) -> int:
        """Evict windows that expired at or before `horizon`; return how many entries went.

        The default horizon is the latest event time seen, but never later than the latest
        arrival time: one event stamped years ahead by a broken clock must not wipe every live
        window. A late event older than the horizon is judged without the evicted state.
        """
        if horizon is None:
            horizon = min(self.watermark, self.latest_arrival)
        if horizon == -math.inf:
            return 0
        with self.store.transaction():
            return self.store.sweep(horizon)

    def _evaluate(
        self, event: Event, index: int, time: float, received_at: float, out: list[Decision]
    ) -> None:
        self.watermark = max(self.watermark, time)
        try:
            matched = self.rules.match(event)  # every condition of the event's type, fused
        except Exception:  # a rule not compiled by alertd raised: find it, keep the others
            matched = self._match_one_by_one(event)
        for rule in matched:
            try:
                count_key = _hashable(rule.count.key(event)) if rule.count else ()
                suppress_key = _hashable(rule.suppress.key(event)) if rule.suppress else ()
            except Exception:  # a compiled rule must never raise; if one does, others go on
                self._rule_failed(rule)
                continue
            out.append(self._decide(rule, event, index, time, received_at, count_key, suppress_key))

    def _decide(  # noqa: PLR0917 -- once per match: positional arguments are the cheapest
        self,
        rule: Rule,
        event: Event,
        index: int,
        time: float,
        received_at: float,
        count_key: Key,
        suppress_key: Key,
    ) -> Decision:
        store = self.store
        count_events: list[Event] = []
        if rule.count is not None:
            window = store.get_window(rule.id, count_key)
            if window is None:
                window = CountWindow(rule.count.within)
            else:
                window.within = rule.count.within
            reached = False
            if count_step(window, time, event):
                reached = len(window.times) >= rule.count.threshold
                if reached:
                    store.delete_window(rule.id, count_key)
                    cap = self.max_count_events
                    count_events = window.events[-cap:] if cap else []
                else:
                    store.put_window(rule.id, count_key, window)
            if not reached:
                size = len(window.times)
                return Decision(index, rule.id, "counting", count_key, time, count=size)

        suppressed_count = 0
        key = count_key
        if rule.suppress is not None:
            key = suppress_key
            entry = store.get_suppression(rule.id, key)
            if entry is not None and time >= entry.expires_at:
                entry = None  # expired, whether or not the sweep has run yet
            verdict = suppression_step(entry, time)
            if verdict == "suppress":
                assert entry is not None
                entry.suppressed += 1
                store.put_suppression(rule.id, key, entry)
                until = entry.until
                return Decision(index, rule.id, "suppressed", key, time, suppressed_until=until)
            if verdict == "fire":
                suppressed_count = 0 if entry is None else entry.suppressed
                store.put_suppression(
                    rule.id, key, Suppression(time, time + rule.suppress.duration)
                )

        alert = Alert(
            id=new_alert_id(received_at),
            rule_id=rule.id,
            rule_name=rule.name,
            priority=rule.priority,
            key=key,
            event=event,
            fired_at=time,
            received_at=received_at,
            suppressed_count=suppressed_count,
            labels=rule.labels,
            count_events=count_events,
            description=rule.description,
            notify=rule.notify,
            template=rule.template,
        )
        store.add_alert(alert)
        return Decision(index, rule.id, "fired", key, time, alert=alert)

    def _match_one_by_one(self, event: Event) -> list[Rule]:
        matched = []
        for rule in self.rules.candidates(event):
            try:
                if rule.condition(event):
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


def _hashable(key: Key) -> Key:
    try:
        hash(key)
    except TypeError:  # a list or an object from the event: key on its contents
        return tuple(_freeze(value) for value in key)
    return key


def _freeze(value: object) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value
