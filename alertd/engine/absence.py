"""Rules that fire when a key falls silent: `absent DURATION [by KEY]` (alertd.model.AbsentSpec).

An absent rule does not fire on its matches: each tells it that its key is alive (`counting`).
Per rule and key it keeps an `Absence`, and each watched key has one durable timer (kind
`absent`, alertd.incidents.timers), so that a deadline survives a restart and runs once:

- The first match of a key sets its timer, DURATION after the match. Later matches only move
  what is kept; when the timer falls due it sets itself again for the real deadline, DURATION
  after the newest match. So a key that keeps speaking costs one timer run per DURATION, not
  a timer write per event.
- When the timer falls due and no match came for DURATION, the key's silence fires an alert
  (its event: the key's last match; its time: the deadline), and the timer is set again for
  when the key is forgotten: `forget` after its last match. A silence that has not fired
  fires before its key is forgotten, even if alertd was down past both.
- The key's next match resolves that alert (decision `resolved`: the caller has the incident
  manager resolve it, with its resolved notice) and watches the key again. A match older than
  the key's newest (a late one) changes nothing.
- A deadline that passed while the daemon was down waits one more DURATION from its start
  (`started`): the gap was the daemon's, not the vehicle's.

Times: what is kept and the deadlines are event times, compared with `wall()`, the time as
events read it (the daemon's wall clock; a replay's event time). A timer is set `deadline -
wall()` from now on the timer service's own clock (the daemon's steady clock), so that a wall
clock stepped while it runs moves no deadline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from alertd import jsonutil
from alertd.engine.details import Detail, detail_hook
from alertd.engine.eventtime import format_time
from alertd.engine.state import StateStore, Timer
from alertd.engine.steps import Step, hashable
from alertd.model import Alert, CountEvents, Decision, Event, Key, Rule, event_text

ABSENT = "absent"
"""The timer kind of absent rules' deadlines; its ref is `timer_ref(rule id, key)`."""

Absence = tuple[float, str | None, str, float]
"""`(last, alert_id, event, expires_at)`: the event time of the key's newest match and that
event, as its JSON text; the id of the alert its silence fired, while the key has not spoken
since (None: it is watched); and when the key is forgotten (`last` + the rule's `forget`).

Only numbers and text: the garbage collector untracks such a tuple, so a million watched keys
cost a full collection nothing (a tuple holding the event's dict would stay tracked: each is
traversed by every full collection, which then pauses the daemon for a second or more). The
event is decoded again only when the key's silence fires."""

NOT_STARTED = -math.inf
"""`started` of a replay: no deadline passed while it was down."""


class TimerService(Protocol):
    """What absent rules need of the timer service (alertd.incidents.timers.Timers)."""

    def now(self) -> float: ...

    def set(
        self, kind: str, ref: str, *, delay: float, payload: Mapping[str, Any] | None = None
    ) -> float: ...

    def cancel(self, kind: str, ref: str) -> None: ...


class Untimed:
    """No timer service: deadlines are never set, so absent rules never fire. (What an engine
    without `timers` runs absent rules with: `alertd test-rule`, until it runs timers.)"""

    def now(self) -> float:
        return 0.0

    def set(
        self, kind: str, ref: str, *, delay: float, payload: Mapping[str, Any] | None = None
    ) -> float:
        return math.inf

    def cancel(self, kind: str, ref: str) -> None:
        return None


def timer_ref(rule_id: str, key: Key) -> str:
    """The ref of a key's timer: the rule id and the key, as JSON."""
    return jsonutil.dumps([rule_id, list(key)], default=str).decode()


def build_absence_step(
    rule: Rule,
    store: StateStore,
    timers: TimerService,
    *,
    wall: Callable[[], float],
    failed: Callable[[Rule], None],
) -> Step:
    """The step of an absent rule: it keeps each match's key alive."""
    spec = rule.absent
    assert spec is not None
    rule_id, key_of, duration, forget = rule.id, spec.key, spec.duration, spec.forget
    absences = store.absences(rule_id)

    def step(event: Event, index: int, time: float, received_at: float) -> Decision | None:
        try:
            key = key_of(event)
        except Exception:  # a compiled key never raises; if one does, the other rules go on
            failed(rule)
            return None
        try:
            kept = absences.get(key)
        except TypeError:  # a list or an object from the event: key on its contents
            key = hashable(key)
            kept = absences.get(key)
        if kept is not None and time >= kept[3]:  # unseen for `forget`: a new key
            kept = None
        elif kept is not None and time < kept[0]:  # older than the newest: nothing new
            return Decision(index, rule_id, "counting", key, time)
        absences[key] = (time, None, event_text(event), time + forget)
        if kept is None or kept[1] is not None:  # no deadline pending: set one
            timers.set(ABSENT, timer_ref(rule_id, key), delay=time + duration - wall())
        if kept is not None and kept[1] is not None:
            decision = Decision(index, rule_id, "resolved", key, time)
            decision.alert_id = kept[1]
            return decision
        return Decision(index, rule_id, "counting", key, time)

    return step


def absence_due(
    timer: Timer,
    rules: Mapping[str, Rule],
    store: StateStore,
    timers: TimerService,
    *,
    wall: Callable[[], float],
    mint: Callable[[float], str],
    started: float,
) -> Decision | None:
    """A key's timer fell due (the timer service removed it): set it again for a later
    deadline, fire the key's silence, or forget the key. Returns the decision of a fire (its
    alert recorded in the store, not yet paged), else None."""
    rule_id, key_values = jsonutil.loads(timer.ref)
    rule = rules.get(rule_id)
    if rule is None or rule.absent is None:  # the rule is gone, or no longer absent
        return None
    spec = rule.absent
    absences = store.absences(rule_id)
    key = hashable(tuple(key_values))
    kept = absences.get(key)
    if kept is None:  # forgotten (swept) meanwhile
        return None
    last, alert_id, text, expires_at = kept
    now = wall()
    if alert_id is not None:  # its silence fired: the timer was for forgetting it
        if now >= expires_at:  # unseen for `forget`
            absences.pop(key, None)
        else:
            timers.set(ABSENT, timer.ref, delay=expires_at - now)
        return None
    # Its silence has not fired: it fires before the key is forgotten, even when alertd was
    # down past both (its timer then runs late, or waits one more DURATION from the start).
    deadline = last + spec.duration
    if deadline < started:  # passed while the daemon was down: one more DURATION from start
        deadline = started + spec.duration
    if now < deadline:
        timers.set(ABSENT, timer.ref, delay=deadline - now)
        if deadline > expires_at:  # kept (from the sweep too) until its silence is told
            absences[key] = (last, None, text, deadline)
        return None
    alert = Alert(
        mint(now),
        rule_id,
        rule.name,
        rule.priority,
        key,
        jsonutil.loads(text),
        deadline,
        now,
        0,
        rule.labels,
        CountEvents(),
        rule.description,
        rule.notify,
        rule.template,
    )
    store.add_alert(alert)
    absences[key] = (last, alert.id, text, expires_at)
    timers.set(ABSENT, timer.ref, delay=max(expires_at - now, 0.0))
    return Decision(None, rule_id, "fired", key, deadline, alert)


@detail_hook
def _deadline(rule: Rule, decision: Decision, store: StateStore | None) -> Iterator[Detail]:
    """`absent deadline 2026-01-05T10:15:00Z`: when the key's silence fires unless another
    match comes first, after a match (from the key's newest one: a late match moves nothing).
    None after a late match of a silent key: it is still silent, its alert open."""
    spec = rule.absent
    if spec is None or decision.event_index is None or decision.kind not in WATCHING:
        return
    last = decision.event_time
    kept = None if store is None else store.absences(rule.id).get(decision.key)
    if kept is not None and kept[1] is None:  # watched: its newest match
        last = kept[0]
    elif kept is not None and decision.kind == "counting":  # silent: the match was late
        return
    deadline = format_time(last + spec.duration)
    yield Detail("absent_deadline", deadline, f"absent deadline {deadline}")


WATCHING = frozenset({"counting", "resolved"})
"""The decisions of an absent rule's matches: after each, its key is watched."""
