"""The incident manager: what follows a page, as one core call per action.

    incidents.fired(alerts, now)                  the first page (and escalation step 1)
    incidents.act(alert_id, action, by, via)      ack, unack, resolve, escalate
    (the timer service runs due escalation steps: `Timers.run_due`)

Every method runs inside the caller's store transaction and returns the notifications it
enqueued, for the caller to hand to the dispatcher once the transaction commits: the change,
its timeline entry, its notifications and its next timer commit together or not at all. The
API, the command line (through the API), the reply hooks of SMS, Slack and email and the web
console all call `act`; a rule's `resolve` calls it with `via="rule"` (or `"timer"`).

Status updates: when an alert is acknowledged or resolved, every address it paged is told, on
the channel that paged it, at most once a minute (alertd.notify.plan.plan_status).

Escalation: an alert whose rule says `escalate POLICY` keeps a snapshot of the policy's steps
(alertd.incidents.escalation). A step runs when its timer falls due while the alert is still
firing: it pages its targets, with the notice `escalated` (`fired` for the very first step),
and sets the timer of the next one. Ack and resolve cancel the timer; unack sets it again, the
next step's delay counted from the unack; escalate runs the next step at once.

Silences (alertd.silences): an alert that a silence or a maintenance window covers when it
fires is recorded `silenced`, with `silenced_by` and a `silenced` timeline entry; it pages
nobody and starts no escalation. Silences are asked again when each escalation step falls due:
a firing alert covered then (a silence made after the first page) becomes `silenced` and
escalates no further. A person's "escalate now" is not held back by a silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from alertd.clock import Clock
from alertd.config import Settings
from alertd.durations import format_duration
from alertd.engine.eventtime import format_time
from alertd.engine.state import AlertRecord, Escalation, StateStore, TimelineEntry, Timer
from alertd.incidents.escalation import (
    delay_before_next,
    describe_next,
    next_step,
    snapshot,
    step_number,
    total_steps,
)
from alertd.incidents.lifecycle import DONE, TIMELINE_ACTION, Action, transition
from alertd.incidents.timers import Timers
from alertd.model import Alert, NotifyTarget
from alertd.notify.notification import Notification, Paged
from alertd.notify.plan import plan, plan_status
from alertd.notify.render import FIRED, Notice, Renderer
from alertd.oncall import OnCall
from alertd.silences.model import Cover

log = logging.getLogger("alertd.incidents")

ESCALATE = "escalate"
"""The timer kind of escalation steps; its ref is the alert id."""

STATUS = "status"
"""The timer kind of status updates held back (at most one a minute per address); its ref is
the alert id. When it runs, those not yet told the alert's state are told it."""


class Silencer(Protocol):
    """What silences alerts (alertd.silences.Silences)."""

    def covering(self, alert: Alert, now: float) -> Cover | None:
        """The silence or maintenance window that covers the alert at `now`, if any."""
        ...


class NotificationLog(Protocol):
    """Where notifications are recorded: the outbox, in the caller's transaction."""

    def enqueue(self, notifications: Sequence[Notification]) -> object: ...

    def paged(self, alert_id: str) -> list[Paged]:
        """The addresses the alert's fired and escalated notices went to, once each."""
        ...


@dataclass(frozen=True, slots=True)
class Setup:
    """What the manager plans with; a reload replaces it (open alerts keep their snapshots)."""

    settings: Settings
    renderer: Renderer
    oncall: OnCall | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """An action on an alert: the alert as it is now, whether the action changed it (a repeat
    does not), what happened in words, and the notifications it enqueued."""

    record: AlertRecord
    action: Action
    changed: bool
    message: str
    notifications: tuple[Notification, ...] = ()


class ActionRefused(Exception):
    """The action does not apply to the alert as it is (ack of a resolved alert, escalate with
    no step left): nothing changed. The message says why."""

    def __init__(self, message: str, record: AlertRecord) -> None:
        super().__init__(message)
        self.message = message
        self.record = record


Resolved = Callable[[AlertRecord, str], None]
"""Called with an alert that was just resolved and through what (`via`), in the transaction."""

Changed = Callable[[str, str, float], None]
"""Called with an alert id, what changed (acked, unacked, resolved, escalated, silenced) and
when, in the transaction that changes it (the alert change feed, alertd.feed)."""

Silenced = Callable[[AlertRecord], None]
"""Called with an alert that was just recorded silenced (as it fired, or when an escalation
step fell due), in the transaction."""

Stamp = Callable[[Sequence[Notification], bool, float], None]
"""Called with the pages (fired and escalated notices) of one alert as they are planned, whether
the alert escalates, and now, in the transaction: it may make each one's content its own
(alertd.respond.stamp: an SMS's reply code, an email's action links)."""


class Holding(Protocol):
    """What holds pages back in a storm (alertd.storms.Holds): called with the pages of one
    alert as they are planned, in the transaction, before they are enqueued."""

    def admit(self, pages: Sequence[Notification], now: float, alert: Alert | None) -> None:
        """Mark the pages that must wait (`hold`); `alert` when they are its first pages."""
        ...


class Incidents:
    """Alert lifecycle and escalation over a state store. The event loop is its only caller."""

    def __init__(
        self,
        store: StateStore,
        outbox: NotificationLog,
        timers: Timers,
        clock: Clock,
        setup: Setup,
        *,
        silences: Silencer | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.timers = timers
        self.clock = clock
        self.setup = setup
        self.silences = silences
        self.resolved_listeners: list[Resolved] = []
        self.change_listeners: list[Changed] = []
        self.silenced_listeners: list[Silenced] = []
        self.stamps: list[Stamp] = []
        self.holds: Holding | None = None
        timers.handle(ESCALATE, self._step_due)
        timers.handle(STATUS, self._status_due)

    # --- a rule fired ------------------------------------------------------------------------

    def fired(self, alerts: Sequence[tuple[Alert, str | None]], now: float) -> list[Notification]:
        """Page for newly fired alerts (each with the escalation policy its rule names, or
        None) and start their escalations. Returns the notifications, enqueued."""
        made: list[Notification] = []
        for alert, policy in alerts:
            cover = self._cover(alert, now)
            if cover is not None:
                self._silence(AlertRecord(alert), cover, now)
                continue
            record = AlertRecord(alert, escalation=self._snapshot(alert, policy))
            escalation = record.escalation
            if escalation is not None and delay_before_next(escalation) <= 0:
                record, sent = self._run_step(record, now, None, "rule", with_notify=True)
            else:
                sent = self._plan(alert, None, FIRED, 1, now, escalates=escalation is not None)
                record = replace(record, notifications=len(sent))
                self._schedule(record)
            self.store.save_alert(record)
            self._hold(sent, now, alert)
            made += sent
        if made:
            self.outbox.enqueue(made)
        return made

    def _snapshot(self, alert: Alert, policy: str | None) -> Escalation | None:
        if policy is None:
            return None
        oncall = self.setup.oncall
        found = None if oncall is None else oncall.policies.get(policy)
        if found is None or not found.steps:
            log.error(
                "alert %s: escalation policy %r is not in the on-call file; it will not escalate",
                alert.id,
                policy,
            )
            return None
        return snapshot(found)

    # --- people act --------------------------------------------------------------------------

    def act(self, alert_id: str, action: Action, by: str, via: str) -> Transition | None:
        """Do `action` to the alert as `by` (a person's name, a rule id; "" for no one) through
        `via`. None when there is no such alert; raises ActionRefused when the action does not
        apply (nothing changed). A repeat is a Transition with `changed` False."""
        record = self.store.get_alert(alert_id)
        if record is None:
            return None
        move = transition(record.status, action)
        if move.outcome == "refused":
            raise ActionRefused(_refusal(record, action), record)
        if move.outcome == "repeat":
            return Transition(record, action, False, _repeat(record, action))
        now = self.clock.now()
        sent: list[Notification] = []
        if action == "escalate":
            record, sent = self._escalate_now(record, by, via, now)
        else:
            record = self._moved(record, action, by, via, now)
            self._happened(alert_id, TimelineEntry(now, TIMELINE_ACTION[action], by, via))
            record, sent = self._tell_status(record, now)
            if action == "resolve":
                for listener in self.resolved_listeners:
                    listener(record, via)
            self._schedule(record)
        self.store.save_alert(record)
        if sent:
            self._hold(sent, now, None)
            self.outbox.enqueue(sent)
        return Transition(record, action, True, self._done(record, action, by), tuple(sent))

    def next_step_due(self, alert_id: str) -> float | None:
        """When the alert's next escalation step is due (steady-clock wall time); None when
        none is pending."""
        return self.timers.due(ESCALATE, alert_id)

    def _moved(
        self, record: AlertRecord, action: Action, by: str, via: str, now: float
    ) -> AlertRecord:
        if action == "ack":
            return replace(record, status="acked", acked_at=now, acked_by=by, acked_via=via)
        if action == "unack":
            return replace(record, status="firing", acked_at=None, acked_by=None, acked_via=None)
        return replace(record, status="resolved", resolved_at=now, resolved_by=by, resolved_via=via)

    def _escalate_now(
        self, record: AlertRecord, by: str, via: str, now: float
    ) -> tuple[AlertRecord, list[Notification]]:
        escalation = record.escalation
        if escalation is None:
            raise ActionRefused(
                "it has no escalation policy (its rule has no `escalate` clause)", record
            )
        if next_step(escalation) is None:
            raise ActionRefused(
                f"escalation policy {escalation.policy!r} has run all "
                f"{total_steps(escalation)} of its steps",
                record,
            )
        if record.status == "acked":  # escalating hands the alert on: it is no one's now
            record = replace(record, status="firing", acked_at=None, acked_by=None, acked_via=None)
        return self._run_step(record, now, by, via)

    def _tell_status(
        self, record: AlertRecord, now: float
    ) -> tuple[AlertRecord, list[Notification]]:
        """Tell every address the alert paged its state (acked or resolved) if it was not told
        that already, each at most once a minute: those told something in the last minute are
        told by the `STATUS` timer, once their minute is over."""
        alert_id = record.alert.id
        if record.status == "acked":
            notice = Notice("acked", at=record.acked_at, by=record.acked_by, via=record.acked_via)
        elif record.status == "resolved":
            notice = Notice(
                "resolved", at=record.resolved_at, by=record.resolved_by, via=record.resolved_via
            )
        else:
            self.timers.cancel(STATUS, alert_id)
            return record, []
        setup = self.setup
        sent, held = plan_status(
            record.alert,
            self.outbox.paged(alert_id),
            setup.settings,
            setup.renderer,
            now,
            notice=notice,
            first=record.notifications + 1,
        )
        if held is None:
            self.timers.cancel(STATUS, alert_id)
        else:
            self.timers.set(STATUS, alert_id, delay=held - now)
        return replace(record, notifications=record.notifications + len(sent)), sent

    def _status_due(self, timer: Timer) -> list[Notification]:
        """Status updates held back are due (the timer service removed the row)."""
        record = self.store.get_alert(timer.ref)
        if record is None:
            return []
        record, sent = self._tell_status(record, self.clock.now())
        if sent:
            self.store.save_alert(record)
            self.outbox.enqueue(sent)
        return sent

    # --- escalation --------------------------------------------------------------------------

    def _step_due(self, timer: Timer) -> list[Notification]:
        """The escalation timer of an alert fell due (the timer service removed its row)."""
        record = self.store.get_alert(timer.ref)
        if record is None or record.status != "firing" or record.escalation is None:
            return []  # pruned, or acked or resolved in the same instant: nothing to run
        if next_step(record.escalation) is None:
            return []
        now = self.clock.now()
        cover = self._cover(record.alert, now)
        if cover is not None:  # silenced since it paged: it escalates no further
            self._silence(record, cover, now)
            return []
        record, sent = self._run_step(record, now, None, "timer")
        self.store.save_alert(record)
        if sent:
            self._hold(sent, now, None)
            self.outbox.enqueue(sent)
        return sent

    def _run_step(
        self,
        record: AlertRecord,
        now: float,
        by: str | None,
        via: str,
        *,
        with_notify: bool = False,
    ) -> tuple[AlertRecord, list[Notification]]:
        """Run the next step of the alert's escalation (with its rule's `notify` targets too,
        merged, when the first step runs as the alert fires) and set the timer of the one
        after. Returns the alert as it is then, and the notifications (not yet enqueued)."""
        escalation = record.escalation
        assert escalation is not None
        step = next_step(escalation)
        assert step is not None
        number, steps = step_number(escalation), len(escalation.steps)
        notice = Notice(
            "fired" if escalation.ran == 0 else "escalated",
            policy=escalation.policy,
            step=number,
            steps=steps,
        )
        targets = (*record.alert.notify, *step.notify) if with_notify else step.notify
        sent = self._plan(
            record.alert, targets, notice, record.notifications + 1, now, escalates=True
        )
        detail = {"policy": escalation.policy, "step": number, "steps": steps}
        if escalation.repeat:
            detail["round"] = escalation.ran // steps + 1
        self._happened(record.alert.id, TimelineEntry(now, "escalated", by, via, detail))
        record = replace(
            record,
            notifications=record.notifications + len(sent),
            escalation=replace(escalation, ran=escalation.ran + 1),
        )
        self._schedule(record)
        return record, sent

    def _hold(self, sent: Sequence[Notification], now: float, alert: Alert | None) -> None:
        """Let the storm holds mark the pages that must wait (the dispatcher skips those)."""
        if self.holds is not None and sent:
            self.holds.admit(sent, now, alert)

    # --- silences ----------------------------------------------------------------------------

    def _cover(self, alert: Alert, now: float) -> Cover | None:
        return None if self.silences is None else self.silences.covering(alert, now)

    def _silence(self, record: AlertRecord, cover: Cover, now: float) -> None:
        """Record the alert silenced by `cover`: its status, its timeline entry (by whoever
        made the silence, through what; the silence or window and its comment in `detail`),
        no escalation timer."""
        record = replace(record, status="silenced", silenced_by=cover.by)
        name = cover.maintenance
        detail = {"silence": cover.by} if name is None else {"maintenance": name}
        if cover.comment:
            detail["comment"] = cover.comment
        entry = TimelineEntry(now, "silenced", cover.created_by, cover.created_via, detail)
        self._happened(record.alert.id, entry)
        self._schedule(record)
        self.store.save_alert(record)
        for listener in self.silenced_listeners:
            listener(record)

    def _happened(self, alert_id: str, entry: TimelineEntry) -> None:
        self.store.add_timeline(alert_id, entry)
        for listener in self.change_listeners:
            listener(alert_id, entry.action, entry.at)

    def _schedule(self, record: AlertRecord) -> None:
        """Set the timer of the alert's next escalation step, or cancel it when the alert is
        not firing or has no step left."""
        escalation = record.escalation
        if escalation is None:
            return
        alert_id = record.alert.id
        if record.status == "firing" and next_step(escalation) is not None:
            self.timers.set(ESCALATE, alert_id, delay=delay_before_next(escalation))
        else:
            self.timers.cancel(ESCALATE, alert_id)

    def _plan(
        self,
        alert: Alert,
        targets: Sequence[NotifyTarget] | None,
        notice: Notice,
        first: int,
        now: float,
        *,
        escalates: bool,
    ) -> list[Notification]:
        """The pages of an alert, stamped (`stamps`)."""
        setup = self.setup
        pages = plan(
            alert,
            setup.settings,
            setup.renderer,
            now,
            targets=targets,
            notice=notice,
            first=first,
            oncall=setup.oncall,
        )
        for stamp in self.stamps:
            stamp(pages, escalates, now)
        return pages

    # --- words -------------------------------------------------------------------------------

    def _done(self, record: AlertRecord, action: Action, by: str) -> str:
        text = DONE[action] + _by(by)
        escalation = record.escalation
        if action == "escalate" and escalation is not None:
            ran = replace(escalation, ran=escalation.ran - 1)
            text = f"escalated to {describe_next(ran)} of policy {escalation.policy!r}{_by(by)}"
        due = self.next_step_due(record.alert.id) if escalation is not None else None
        if due is not None and action in ("unack", "escalate"):
            wait = max(0.0, due - self.timers.now())
            text += f"; next: {describe_next(escalation)} in {_seconds(wait)}"  # type: ignore[arg-type]
        return text


def _by(who: str | None) -> str:
    return f" by {who}" if who else ""


def _when(by: str | None, at: float | None, via: str | None) -> str:
    """` by alice at 2026-01-01T10:00:00Z via api`, each part only when known."""
    text = _by(by)
    if at is not None:
        text += f" at {format_time(at)}"
    if via:
        text += f" via {via}"
    return text


def _repeat(record: AlertRecord, action: Action) -> str:
    if action == "ack":
        when = _when(record.acked_by, record.acked_at, record.acked_via)
        return f"already acknowledged{when}; nothing changed"
    if action == "resolve":
        when = _when(record.resolved_by, record.resolved_at, record.resolved_via)
        return f"already resolved{when}; nothing changed"
    return f"not acknowledged (it is {record.status}); nothing changed"


def _refusal(record: AlertRecord, action: Action) -> str:
    if record.status == "resolved":
        when = _when(record.resolved_by, record.resolved_at, record.resolved_via)
        return f"it is resolved{when}: it cannot be {DONE[action]}"
    return f"it is {record.status}: it cannot be {DONE[action]}"


def _seconds(seconds: float) -> str:
    return format_duration(round(seconds))
