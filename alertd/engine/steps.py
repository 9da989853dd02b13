"""What one rule decides about one event that matched it: a function per rule.

The engine builds one `Step` per rule whenever it gets a rule set, with the rule's constants and
its state tables already bound, so that deciding a match is a handful of dict operations and
comparisons. This is the engine's hot path (a busy daemon runs it millions of times a minute),
which is why it reads as one function with plain locals rather than a chain of small ones. The
window semantics are those of `alertd.engine.windows` (see there and docs/testing-rules.md):
counting first, then suppression, then the alert.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

from alertd.engine.state import StateStore
from alertd.engine.windows import CountWindow, count_step
from alertd.model import Alert, Decision, Event, Key, Rule

NO_EVENTS: list[Event] = []  # a marker: never handed out, so never changed

Step = Callable[[Event, int, float, float], Decision | None]
"""`step(event, index, time, received_at)`: the decision of the rule for an event that matched
it (None when the rule's key raised, which the step reports to `failed`)."""


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
    rule_id, count, suppress = rule.id, rule.count, rule.suppress
    count_key = count.key if count is not None else None
    threshold = count.threshold if count is not None else 0
    within = count.within if count is not None else 0.0
    windows = store.count_windows(rule_id) if count is not None else None
    suppress_key = suppress.key if suppress is not None else None
    duration = suppress.duration if suppress is not None else 0.0
    suppressions = store.suppressions(rule_id) if suppress is not None else None
    cap = max_count_events
    first_match = CountWindow.first
    add_alert = store.add_alert
    # The rule as it is now, snapshotted into every alert it raises.
    name, priority, labels = rule.name, rule.priority, rule.labels
    description, notify, template = rule.description, rule.notify, rule.template

    def step(event: Event, index: int, time: float, received_at: float) -> Decision | None:
        try:
            key_c = count_key(event) if count_key is not None else ()
            key_s = suppress_key(event) if suppress_key is not None else ()
        except Exception:  # a compiled key never raises; if one does, the other rules go on
            failed(rule)
            return None

        count_events: list[Event] = NO_EVENTS
        if windows is not None:
            try:
                window = windows.get(key_c)
            except TypeError:  # a list or an object from the event: key on its contents
                key_c = hashable(key_c)
                window = windows.get(key_c)
            if window is None:
                window = first_match(within, time, event if cap else None)
                kept = True
            else:
                window.within = within  # a reload may have changed it: it applies from now
                times = window.times
                if time >= times[-1] and times[window.start] > time - within:
                    times.append(time)  # in order, and nothing slides out: as count_step
                    window.append(event)  # would, without the call
                    if len(window) > cap:
                        del window[0]
                    kept = True
                else:
                    kept = count_step(window, time, event, cap)
            size = len(window.times) - window.start
            if not kept or size < threshold:
                windows[key_c] = window
                return Decision(index, rule_id, "counting", key_c, time, None, None, size)
            windows.pop(key_c, None)  # reached: the window starts over
            count_events = window[-cap:] if cap else []

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
                    return Decision(index, rule_id, "suppressed", key, time, None, until)
                # else: a late event older than the last fire by the whole duration fires on
                # its own and leaves the window as it was

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
            [] if count_events is NO_EVENTS else count_events,
            description,
            notify,
            template,
        )
        add_alert(alert)
        return Decision(index, rule_id, "fired", key, time, alert)

    return step


def hashable(key: Key) -> Key:
    """A key whose values are lists or objects, as a tuple that compares by their contents."""
    return tuple(_freeze(value) for value in key)


def _freeze(value: object) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value
