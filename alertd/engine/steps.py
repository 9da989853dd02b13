"""What one rule decides about one event that matched it: a function per rule.

The engine builds one `Step` per rule whenever it gets a rule set, with the rule's constants and
its state tables already bound, so that deciding a match is a handful of dict operations and
comparisons. This is the engine's hot path (a busy daemon runs it millions of times a minute),
which is why it reads as one function with plain locals rather than a chain of small ones. The
window semantics are those of `alertd.engine.windows` (see there and docs/testing-rules.md):
counting first, then suppression, then the alert.

A step is built in one of two forms from the same code: one that returns a `Decision` (the key,
the window's count, until when it is suppressed: what `alertd test-rule` and `--explain` show),
and a lean one for the daemon, which needs only the alerts and how many decisions of each kind
each rule made: it returns a constant `Outcome` (the rule and the kind) and hands each alert it
fires to a callback, building nothing else per match.

A rule with a `resolve` clause keeps one open alert per key (its `by`): a match of a key whose
alert is open is folded into it ("absorbed") before any window sees it, and an event of the
rule's scope that does not match but meets `resolve when` closes the key's open alert
("resolved"). What a resolve then does to the alert (its status, the notices) is the incident
manager's (alertd.incidents.resolving); the engine keeps the index of open alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import cast

from alertd.durations import format_duration
from alertd.engine.details import Detail, detail_hook
from alertd.engine.state import StateStore
from alertd.engine.windows import NOT_REORDERED, count_step, pack_time, time_at
from alertd.model import (
    Alert,
    CountEvents,
    Decision,
    DecisionKind,
    Event,
    Key,
    Rule,
    event_text,
)

NO_EVENTS = CountEvents()  # the alerts of a rule that does not count: immutable, so shared

Step = Callable[[Event, int, float, float], Decision | None]
"""`step(event, index, time, received_at)`: the decision of the rule for an event that matched
it (None when the rule's key raised, which the step reports to `failed`)."""

Outcome = tuple[str, DecisionKind]
"""What the daemon keeps of a decision: `(rule_id, kind)`, to count."""

LeanStep = Callable[[Event, int, float, float], Outcome | None]
"""A step in the daemon's form: the outcome (one constant object per rule and kind, so nothing
is built per match) instead of the decision; an alert it fires goes to its `fired` callback."""

ResolveStep = Callable[[Event, int, float], Decision | None]
"""`resolve(event, index, time)`: for an event of a rule's scope that did not match it, the
"resolved" decision when `resolve when` holds for it and its key has an open alert; else None."""


def build_step(
    rule: Rule,
    store: StateStore,
    *,
    max_count_events: int,
    mint: Callable[[float], str],
    failed: Callable[[Rule], None],
) -> Step:
    """The decision function of `rule`, keeping its windows in `store`'s tables and its alerts
    in `store`, with ids from `mint(received_at)`."""
    if rule.resolve is None:
        windowed = _windowed(
            rule, store, max_count_events=max_count_events, mint=mint, failed=failed
        )
        return cast(Step, windowed)
    return _folding(rule, store, max_count_events=max_count_events, mint=mint, failed=failed)


def build_lean_step(
    rule: Rule,
    store: StateStore,
    *,
    max_count_events: int,
    mint: Callable[[float], str],
    failed: Callable[[Rule], None],
    fired: Callable[[Alert], None],
) -> LeanStep:
    """`build_step`'s step in the daemon's form (see the module doc), for a rule that only
    counts, suppresses and fires (no `resolve` or `absent`: their steps make decisions, which
    the engine turns into outcomes). Of a rule that keeps state over its scope, this is the
    step its matches go on to (alertd.engine.sequence)."""
    assert rule.resolve is None and rule.absent is None
    lean = _windowed(
        rule, store, max_count_events=max_count_events, mint=mint, failed=failed, fired=fired
    )
    return cast(LeanStep, lean)


def _folding(
    rule: Rule,
    store: StateStore,
    *,
    max_count_events: int,
    mint: Callable[[float], str],
    failed: Callable[[Rule], None],
) -> Step:
    """A rule with `resolve`: a match of a key with an open alert is absorbed into it; any other
    goes through the windows, and an alert it fires is the key's open alert (keyed by the rule's
    `by`) until it resolves."""
    rule_id, rule_key = rule.id, rule.key
    opens = store.open_alerts(rule_id)
    fold = store.fold_match
    windowed = cast(
        Step,
        _windowed(
            rule, store, max_count_events=max_count_events, mint=mint, failed=failed, keyed=True
        ),
    )

    def step(event: Event, index: int, time: float, received_at: float) -> Decision | None:
        try:
            key = rule_key(event)
        except Exception:
            failed(rule)
            return None
        try:
            alert_id = opens.get(key)
        except TypeError:
            key = hashable(key)
            alert_id = opens.get(key)
        if alert_id is not None:
            if fold(alert_id, event, time):
                return Decision(index, rule_id, "absorbed", key, time, alert_id=alert_id)
            opens.pop(key, None)  # its alert is gone (history retention): start a new one
        decision = windowed(event, index, time, received_at)
        if decision is not None and decision.alert is not None:
            opens[decision.key] = decision.alert.id
        return decision

    return step


def build_resolve_step(
    rule: Rule, store: StateStore, failed: Callable[[Rule], None]
) -> ResolveStep:
    """The `resolve when` of a rule (which has one), for events of its scope it did not match."""
    assert rule.resolve is not None and rule.resolve.when is not None
    rule_id, rule_key, holds = rule.id, rule.key, rule.resolve.when
    opens = store.open_alerts(rule_id)

    def resolve(event: Event, index: int, time: float) -> Decision | None:
        if not opens:  # nothing open: the common case costs no key and no condition
            return None
        try:
            key = rule_key(event)
            try:
                alert_id = opens.get(key)
            except TypeError:
                key = hashable(key)
                alert_id = opens.get(key)
            if alert_id is None or not holds(event):
                return None
        except Exception:  # compiled code never raises; if it does, the other rules go on
            failed(rule)
            return None
        opens.pop(key, None)
        return Decision(index, rule_id, "resolved", key, time, alert_id=alert_id)

    return resolve


def _windowed(
    rule: Rule,
    store: StateStore,
    *,
    max_count_events: int,
    mint: Callable[[float], str],
    failed: Callable[[Rule], None],
    keyed: bool = False,
    fired: Callable[[Alert], None] | None = None,
) -> Callable[[Event, int, float, float], Decision | Outcome | None]:
    """Counting, suppression and the alert: a `Step`, or with `fired` a `LeanStep` that hands
    its alerts to it. With `keyed`, a fired alert (and its decision) has the rule's key, not
    its last window's; so has one of a rule with no window (`by` alone: what its alerts are
    about)."""
    rule_id, count, suppress = rule.id, rule.count, rule.suppress
    lean = fired is not None
    outcome_counting: Outcome = (rule_id, "counting")
    outcome_suppressed: Outcome = (rule_id, "suppressed")
    outcome_fired: Outcome = (rule_id, "fired")
    alert_key = rule.key if keyed or (count is None and suppress is None) else None
    count_key = count.key if count is not None else None
    threshold = count.threshold if count is not None else 0
    within = count.within if count is not None else 0.0
    windows = store.count_windows(rule_id) if count is not None else None
    suppress_key = suppress.key if suppress is not None else None
    duration = suppress.duration if suppress is not None else 0.0
    suppressions = store.suppressions(rule_id) if suppress is not None else None
    cap = max_count_events
    add_alert = store.add_alert
    # The rule as it is now, snapshotted into every alert it raises.
    name, priority, labels = rule.name, rule.priority, rule.labels
    description, notify, template = rule.description, rule.notify, rule.template

    def step(
        event: Event, index: int, time: float, received_at: float
    ) -> Decision | Outcome | None:
        try:
            key_c = count_key(event) if count_key is not None else ()
            key_s = suppress_key(event) if suppress_key is not None else ()
        except Exception:  # a compiled key never raises; if one does, the other rules go on
            failed(rule)
            return None

        count_events = NO_EVENTS
        if windows is not None:
            try:
                window = windows.get(key_c)
            except TypeError:  # a list or an object from the event: key on its contents
                key_c = hashable(key_c)
                window = windows.get(key_c)
            # Whether the match's event is still to be added to `events` as text: not when
            # the match fires the window, whose alert takes the event as it is.
            pending = cap > 0
            events: tuple[str, ...]
            if window is None:
                times, start, dropped = bytearray(pack_time(time)), 0, 0
                reordered_from, events = NOT_REORDERED, ()
                size = 1
                kept = True
            else:
                _, times, start, dropped, reordered_from, events = window
                newest = time_at(times, len(times) - 8)[0]
                if time >= newest and time_at(times, start << 3)[0] > time - within:
                    times += pack_time(time)  # in order, and nothing slides out: as
                    size = (len(times) >> 3) - start  # count_step would, without the call
                    kept = True
                elif newest <= time - within:  # every match slid out: start over in place,
                    dropped += (len(times) >> 3) - start  # numbering on, as count_step would
                    times[:] = pack_time(time)  # (a key's matches are often that far apart)
                    start, events = 0, ()
                    size = 1
                    kept = True
                else:
                    window, kept = count_step(
                        (within, times, start, dropped, reordered_from, events), time, event, cap
                    )
                    _, times, start, dropped, reordered_from, events = window
                    size = (len(times) >> 3) - start
                    pending = False
            if not kept or size < threshold:
                if pending:
                    events = (*events, event_text(event))[-cap:]
                # `within` as the rule says: a reload may have changed it (from now on)
                windows[key_c] = (within, times, start, dropped, reordered_from, events)
                if lean:
                    return outcome_counting
                return Decision(index, rule_id, "counting", key_c, time, None, None, size)
            windows.pop(key_c, None)  # reached: the window starts over
            if pending:  # the newest `cap` matches: those of the window before, and this one
                count_events = CountEvents(events[max(0, len(events) + 1 - cap) :], event)
            else:
                count_events = CountEvents(events)

        key = key_c
        carried = 0  # matches suppressed since the last alert, carried by this one
        if suppressions is not None:
            key = key_s
            try:
                entry = suppressions.get(key)
            except TypeError:
                key = hashable(key)
                entry = suppressions.get(key)
            if entry is None:
                suppressions[key] = (time, time + duration, 0)
            else:
                fired_at, until, suppressed = entry
                if time >= until:  # the window is over: fire and start a new one
                    if suppressed and time < until + (until - fired_at):
                        carried = suppressed  # the count is kept one more period
                    suppressions[key] = (time, time + duration, 0)
                elif time > fired_at - (until - fired_at):
                    suppressions[key] = (fired_at, until, suppressed + 1)
                    if lean:
                        return outcome_suppressed
                    return Decision(index, rule_id, "suppressed", key, time, None, until)
                # else: a late event older than the last fire by the whole duration fires on
                # its own and leaves the window as it was

        if alert_key is not None:  # fires are rare: the key is read again rather than passed
            key = alert_key(event)
            try:
                hash(key)
            except TypeError:
                key = hashable(key)
        # Positional: this runs for every alert, and keywords cost more than the rest of it.
        alert = Alert(
            mint(received_at),
            rule_id,
            name,
            priority,
            key,
            event,
            time,
            received_at,
            carried,
            labels,
            count_events,
            description,
            notify,
            template,
        )
        add_alert(alert)
        if fired is not None:
            fired(alert)
            return outcome_fired
        return Decision(index, rule_id, "fired", key, time, alert)

    return step


@detail_hook
def _open_alert(rule: Rule, decision: Decision, store: StateStore | None) -> Iterator[Detail]:
    """A rule with `resolve`: a match folded into the open alert, and how that alert ended."""
    resolve = rule.resolve
    if decision.kind == "absorbed":
        yield Detail("alert", decision.alert_id, "folded into the open alert of its key")
    elif decision.kind == "resolved" and resolve is not None:
        if decision.event_index is None:  # a timer's: `resolve after`
            quiet = f" for {format_duration(resolve.after)}" if resolve.after is not None else ""
            yield Detail("resolved_by", "resolve after", f"no match{quiet} (resolve after)")
        else:
            when = " ".join(resolve.when_source.split())
            yield Detail("resolved_by", "resolve when", f"resolve when {when}")


def hashable(key: Key) -> Key:
    """A key whose values are lists or objects, as a tuple that compares by their contents."""
    return tuple(_freeze(value) for value in key)


def _freeze(value: object) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value
