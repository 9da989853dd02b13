"""Rules that keep state over the events of their scope, per key: `prev()`, `changed()` and
`for DURATION` (alertd.model.SequenceSpec).

Such a rule sees every event of its scope (its event types, or all events), matching or not:
the rule set offers it each one (alertd.dsl.matcher), and its step, made here, decides whether
the condition holds, given the values kept from the key's previous event, and passes the event
on to the rule's ordinary step (count, suppress, alert: alertd.engine.steps) when it does and,
with `for`, when the key's run of matching events has lasted long enough.

What is kept per rule and key is one `KeyState`. Semantics, in event time (docs/rules.md):

- The previous event of a key is the newest event of the rule's scope seen for it before. An
  event older than that one (a late event) has no previous event (every prev() is null) and
  changes nothing that is kept: its own values are older than the kept ones.
- `for D`: a run starts with a matching event and lasts while the key's events match; an
  event of the scope that does not match ends it. A matching event at least D after the start
  of its run matches; an earlier one is `counting`. A late event is judged against the run as
  it is, and neither starts nor ends one.
- A key unseen for the rule's `forget` (7 days by default) is forgotten: an event that much
  newer than the key's newest one starts afresh, as its first, and the sweep drops what was
  kept (so when the sweep runs never changes a decision).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from alertd.durations import format_duration
from alertd.engine.details import Detail, detail_hook
from alertd.engine.state import StateStore
from alertd.engine.steps import Step, hashable
from alertd.model import Decision, Event, Key, Rule

KeyState = tuple[float, float | None, tuple[Any, ...], float]
"""`(newest, start, values, expires_at)`: the time of the newest event of the rule's scope
seen for the key; when the run of matching events that event belongs to started (None: it did
not match); the values of the rule's prev() arguments on that event; and when the key is
forgotten (`newest` + the rule's `forget`)."""


def build_sequence_step(
    rule: Rule, inner: Step, store: StateStore, *, failed: Callable[[Rule], None]
) -> Step:
    """The step of a rule with a SequenceSpec: it runs for every event of the rule's scope and
    hands those the rule matches (and has held long enough) to `inner`."""
    spec = rule.sequence
    assert spec is not None
    rule_id = rule.id
    condition, hold, forget = spec.condition, spec.hold, spec.forget
    scope = spec.scope
    if scope is None:  # a rule built by hand: its key, and nothing kept for prev()
        key_of = rule.key

        def scope(event: Event) -> tuple[Key, tuple[Any, ...]]:
            return key_of(event), ()

    nothing = (None,) * spec.size  # the values of no previous event
    states = store.key_states(rule_id)

    def step(event: Event, index: int, time: float, received_at: float) -> Decision | None:
        try:
            key, kept = scope(event)
        except Exception:  # compiled, it never raises; if it does, the other rules go on
            failed(rule)
            return None
        try:
            state = states.get(key)
        except TypeError:  # a list or an object from the event: key on its contents
            key = hashable(key)
            state = states.get(key)
        if state is not None and time >= state[3]:  # unseen for `forget`: a new key
            state = None
        if state is None or time >= state[0]:
            matched = condition(event, nothing if state is None else state[2])
            start = None
            if matched:
                start = time if state is None or state[1] is None else state[1]
            states[key] = (time, start, kept, time + forget)
        else:  # older than the newest event of its key
            matched = condition(event, nothing)
            start = state[1]
        if not matched:
            return None
        if hold is None:
            return inner(event, index, time, received_at)
        held = None if start is None else time - start
        if held is None or held < hold:
            return Decision(index, rule_id, "counting", key, time, held=held)
        decision = inner(event, index, time, received_at)
        if decision is not None:
            decision.held = held
        return decision

    return step


@detail_hook
def _held(rule: Rule, decision: Decision, store: StateStore | None) -> Iterator[Detail]:
    """`held for 1m20s of 2m`: how long a `for` rule's key had held when it matched."""
    spec = rule.sequence
    if spec is None or spec.hold is None:
        return
    hold = format_duration(spec.hold)
    if decision.held is None:  # a late event before its key's run, or outside any
        yield Detail("held", f"not held, of {hold}", f"not held (for {hold})")
        return
    held = format_duration(decision.held)
    yield Detail("held", f"{held} of {hold}", f"held for {held} of {hold}")
