"""Durable timers: a row per `(kind, ref)` with a due time, run once each, swept by due.

    timers = Timers(store, SteadyClock(clock))
    timers.handle("escalate", run_escalation_step)      # what each kind of timer does
    timers.set("escalate", alert_id, delay=900)          # again: it replaces the first
    timers.cancel("escalate", alert_id)
    timers.run_due(limit=200)                            # inside the caller's transaction

A timer is a row of the state store (`escalate` now; `group`, `cap`, `quiet`, `digest` later):
setting one again replaces it. `run_due` takes the timers due at the steady clock's now,
earliest first, and for each one removes its row and runs its kind's handler (which may set
the timer again, for the next step), in the caller's transaction: the effects (outbox rows,
timeline, the next timer) and the removal commit together, so a kill -9 never runs a timer
twice and never loses one. A timer that fell due while the daemon was down is due at start,
and runs once. Each timer runs in a savepoint of its own: one whose handler fails is logged
and dropped, and the others run.

Delays count on a steady clock (alertd.clock.SteadyClock), not the wall clock (a replay of
recorded events runs the same timers on event time instead, alertd.ruletest.engine): a wall clock
stepped an hour neither fires every timer at once nor holds them back an hour. The sweep costs
what is due, not what is pending: the store finds due timers through an index on `due`.
`Timers` is a `TimerSource` of the daemon's timer loop (alertd.incidents.loop).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from alertd.engine.state import StateStore, Timer
from alertd.notify.notification import Notification

log = logging.getLogger("alertd.timers")

Handler = Callable[[Timer], Sequence[Notification]]
"""Runs a due timer, inside the sweep's transaction; returns the notifications it enqueued."""


@dataclass(frozen=True, slots=True)
class TimerRun:
    """What one sweep did: the notifications to hand to the dispatcher once it commits, how
    many timers ran, and whether more were due than it took (sweep again at once)."""

    notifications: list[Notification]
    ran: int = 0
    more: bool = False


class Steady(Protocol):
    """What timers count on: alertd.clock.SteadyClock in the daemon, event time in a replay."""

    def now(self) -> float: ...


class Timers:
    """The timer service over a state store; not thread-safe (the event loop is its caller)."""

    def __init__(
        self,
        store: StateStore,
        steady: Steady,
        *,
        stopwatch: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.store = store
        self.steady = steady
        self.stopwatch = stopwatch  # how long a sweep has held the loop: real time, even
        # when the steady clock is a fake one or event time
        self._handlers: dict[str, Handler] = {}
        self._on_set: list[Callable[[float], None]] = []

    def handle(self, kind: str, handler: Handler) -> None:
        """Run `handler` for each due timer of this kind."""
        self._handlers[kind] = handler

    def on_set(self, listener: Callable[[float], None]) -> None:
        """Call `listener(due)` whenever a timer is set (the timer loop: to wake earlier)."""
        self._on_set.append(listener)

    def now(self) -> float:
        """The steady clock's now: what dues are counted from and compared with."""
        return self.steady.now()

    def set(
        self,
        kind: str,
        ref: str,
        *,
        delay: float,
        payload: Mapping[str, Any] | None = None,
    ) -> float:
        """Set the timer `(kind, ref)` due `delay` seconds from now, replacing any; returns
        its due time. Part of the caller's transaction."""
        due = self.now() + max(0.0, delay)
        self.store.set_timer(Timer(kind, ref, due, payload or {}))
        for listener in self._on_set:
            listener(due)
        return due

    def cancel(self, kind: str, ref: str) -> None:
        self.store.cancel_timer(kind, ref)

    def move(self, kind: str, ref: str, by: float) -> None:
        """Move the timer `(kind, ref)`, if set, `by` seconds (earlier when negative): for a
        timer set for a time of the wall clock once the wall clock was stepped. Part of the
        caller's transaction."""
        timer = self.store.get_timer(kind, ref)
        if timer is None:
            return
        due = timer.due + by
        self.store.set_timer(Timer(kind, ref, due, timer.payload))
        for listener in self._on_set:
            listener(due)

    def due(self, kind: str, ref: str) -> float | None:
        """When the timer `(kind, ref)` is due; None when there is none."""
        timer = self.store.get_timer(kind, ref)
        return None if timer is None else timer.due

    # --- TimerSource -------------------------------------------------------------------------

    def next_due(self) -> float | None:
        return self.store.next_timer_due()

    def run_due(self, now: float, limit: int, budget: float | None = None) -> TimerRun:
        """Run up to `limit` timers due at `now` (steady time), earliest first, inside the
        caller's transaction; with a `budget` (seconds of the stopwatch), none more once that
        much time went by: a timer's cost varies (a group's release renders one message of
        all its alerts), and the caller's transaction holds the event loop."""
        due = self.store.due_timers(now, limit)
        notifications: list[Notification] = []
        started = self.stopwatch()
        ran = 0
        for timer in due:
            if budget is not None and ran and self.stopwatch() - started >= budget:
                return TimerRun(notifications, ran, more=True)  # the rest stay due
            ran += 1
            try:
                with self.store.transaction():  # a savepoint: a failing timer fails alone
                    self.store.cancel_timer(timer.kind, timer.ref)
                    handler = self._handlers.get(timer.kind)
                    if handler is None:
                        log.error("a timer of an unknown kind; dropped", extra=_fields(timer))
                        continue
                    notifications += handler(timer)
            except Exception:
                log.exception("a timer failed; dropped", extra=_fields(timer))
                self.store.cancel_timer(timer.kind, timer.ref)
        return TimerRun(notifications, len(due), more=len(due) == limit)


def _fields(timer: Timer) -> dict[str, Any]:
    return {"kind": timer.kind, "ref": timer.ref, "due": timer.due}
