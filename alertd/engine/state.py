"""The state store protocol: what the engine keeps between events, the alerts it raised (and
what happened to them since), and timers.

Two stores implement it: `MemoryStore` (tests, `alertd test-rule`) and `SQLiteStore` (the
daemon's embedded default). The protocol is narrow on purpose -- per rule, a table of
suppression entries and a table of counting windows by key, with get, set and pop; evict what
has expired; forget rules that are gone -- so that a store shared by several daemons (Redis)
fits later without touching the engine. The engine fetches a rule's tables once per rule set
and then works on them directly: in memory they are plain dicts, so deciding a match costs a
few dict operations and no store call.

Transactions belong to the caller. Every write the engine makes happens inside
`store.transaction()`; the store never commits behind the caller's back, so the daemon can
commit a batch's windows, alerts and notifications together or not at all. Transactions nest
(an inner one joins the outer as a savepoint).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from alertd.engine.windows import CountWindow, Suppression
from alertd.model import Alert, Key, NotifyTarget, Priority

if TYPE_CHECKING:
    from alertd.engine.absence import Absence
    from alertd.engine.sequence import KeyState, StateKey

AlertStatus = Literal["firing", "acked", "resolved", "silenced"]
ALERT_STATUSES: tuple[AlertStatus, ...] = ("firing", "acked", "resolved", "silenced")
"""`silenced`: covered by a silence when it fired (issue 11); it pages nobody."""


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One step of an alert's escalation: `after` seconds, then notify these targets."""

    after: float
    notify: tuple[NotifyTarget, ...]


@dataclass(frozen=True, slots=True)
class Escalation:
    """The escalation an alert follows: its policy's steps as they were when it fired (a
    reload that changes the policy leaves open alerts alone), and how many steps have run,
    counted over every round (`repeat` more rounds after the first)."""

    policy: str
    steps: tuple[EscalationStep, ...]
    repeat: int = 0
    ran: int = 0


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert and what happened to it since it fired.

    `notifications` counts the notifications it has made over its whole life (their ids are
    `<alert id>.<n>`, n from 1); `match_count` the matches folded into it (1: the one that
    fired it), the latest at `last_matched_at` (event time), that event `last_event`.
    """

    alert: Alert
    status: AlertStatus = "firing"
    acked_at: float | None = None
    acked_by: str | None = None  # "": the ack named no one
    acked_via: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    resolved_via: str | None = None
    notifications: int = 0
    escalation: Escalation | None = None
    match_count: int = 1
    last_matched_at: float | None = None
    silenced_by: str | None = None  # a silence id, or `maintenance:NAME` (alertd.silences)
    last_event: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened to an alert: `action` (fired, notified, acked, unacked,
    resolved, escalated, silenced), by whom (a person, a rule id) and through what (`via`: api, cli,
    sms, slack, email, web, rule, timer); `detail` says more (a step's number, a channel)."""

    at: float
    action: str
    by: str | None = None
    via: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Timer:
    """Something to do at `due`: `(kind, ref)` names it, one timer per name (`escalate`, alert
    id), `payload` is its kind's own. `due` is a time of the daemon's steady clock, which reads
    as the wall clock unless that was stepped (alertd.clock.SteadyClock)."""

    kind: str
    ref: str
    due: float
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters for listing alerts, newest first; `cursor` is the `next_cursor` of the last page."""

    rule: str | None = None
    priority: Priority | None = None
    status: AlertStatus | None = None
    since: float | None = None  # received at or after (millisecond precision)
    limit: int = 100
    cursor: str | None = None
    # Event fields (dotted paths: `location.city`) and the text their value must read as.
    fields: tuple[tuple[str, str], ...] = ()


def field_text(event: Mapping[str, Any], path: str) -> str | None:
    """An event field's value as a filter compares it: a string as itself, a whole number in
    digits, true, false, null; None for a field that is missing or holds an object or a list.
    (A fraction reads as SQLite's CAST writes it, which is Python's repr for most values.)"""
    value: Any = event
    for name in path.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return None
        value = value[name]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str | int | float):
        return str(value) if not isinstance(value, float) else repr(value)
    return None


@dataclass(frozen=True, slots=True)
class AlertPage:
    records: list[AlertRecord]
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True, slots=True)
class StoreSize:
    """How many entries a store holds: live windows follow live keys, alerts follow history."""

    suppressions: int
    count_windows: int
    alerts: int
    key_states: int = 0
    absences: int = 0


K_contra = TypeVar("K_contra", contravariant=True)
V = TypeVar("V")


class Table(Protocol[K_contra, V]):
    """One rule's entries of one kind, by key: a plain dict satisfies it.

    The engine sets every value it changed (a counting window changed in place is set again),
    so a store that writes to disk knows what to write.
    """

    def get(self, key: K_contra, /) -> V | None: ...

    def __setitem__(self, key: K_contra, value: V, /) -> None: ...

    def pop(self, key: K_contra, default: None, /) -> V | None: ...

    def __len__(self) -> int: ...


WindowTable = Table[Key, V]
"""A table by the rule's key (every kind but key states, keyed by StateKey)."""


class WindowStore(Protocol):
    """Suppression entries and counting windows, per rule id, by key."""

    def suppressions(self, rule_id: str) -> WindowTable[Suppression]:
        """The rule's suppression table; the same object for as long as the rule is kept."""
        ...

    def count_windows(self, rule_id: str) -> WindowTable[CountWindow]:
        """The rule's counting windows; the same object for as long as the rule is kept."""
        ...

    def open_alerts(self, rule_id: str) -> WindowTable[str]:
        """The ids of the rule's open alerts by key (rules with `resolve`: one per key), the
        same object for as long as the rule is kept. Durable like the windows, but never
        swept: an entry goes when its alert resolves (alertd.incidents.resolving)."""
        ...

    def key_states(self, rule_id: str) -> Table[StateKey, KeyState]:
        """What the rule keeps per key over the events of its scope (alertd.engine.sequence),
        by its key as `state_key` makes it; the same object for as long as the rule is
        kept."""
        ...

    def absences(self, rule_id: str) -> WindowTable[Absence]:
        """An absent rule's watched keys (alertd.engine.absence); the same object for as long
        as the rule is kept."""
        ...

    def sweep(self, horizon: float, limit: int | None = None) -> int:
        """Evict the entries that expire at or before `horizon` (event time), every one or at
        most `limit` (the daemon sweeps in slices); return how many."""
        ...

    def retain_rules(self, rule_ids: Collection[str]) -> None:
        """Forget the windows and open alerts of every rule not in `rule_ids` (after a reload
        removed them; their alerts stay as they are, to be resolved by people)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: all of them are kept, or none if the block raises."""
        ...


class AlertStore(Protocol):
    """The alerts the engine raised and what happened to them, for the API, the notifier and
    the incident manager (alertd.incidents), which decides every change: the store records."""

    def add_alert(self, alert: Alert) -> None:
        """Record a new alert (firing, no notifications yet)."""
        ...

    def get_alert(self, alert_id: str) -> AlertRecord | None: ...

    def list_alerts(self, query: AlertQuery) -> AlertPage: ...

    def save_alert(self, record: AlertRecord) -> None:
        """Record what changed since the alert fired: status and who changed it, counts, the
        escalation. The alert itself (rule, key, event) never changes."""
        ...

    def fold_match(self, alert_id: str, event: Mapping[str, Any], at: float) -> bool:
        """Fold a match into the alert: one more match, this event the last, at event time
        `at`. False (changing nothing) when there is no such alert (pruned)."""
        ...

    def add_timeline(self, alert_id: str, entry: TimelineEntry) -> None: ...

    def timeline(self, alert_id: str) -> list[TimelineEntry]:
        """The entries recorded for an alert, oldest first."""
        ...

    def prune_alerts(self, received_before: float, limit: int | None = None) -> int:
        """Delete alerts received before this time (history retention), with their timelines,
        every one or at most `limit`, oldest first; return how many."""
        ...


class TimerStore(Protocol):
    """Timers, one per `(kind, ref)`, found by due time (see alertd.incidents.timers)."""

    def set_timer(self, timer: Timer) -> None:
        """Add the timer, replacing the one of the same kind and ref."""
        ...

    def cancel_timer(self, kind: str, ref: str) -> None: ...

    def get_timer(self, kind: str, ref: str) -> Timer | None: ...

    def due_timers(self, now: float, limit: int) -> list[Timer]:
        """Up to `limit` timers due at or before `now`, earliest first; cost follows `limit`,
        not how many timers are pending."""
        ...

    def next_timer_due(self) -> float | None:
        """The earliest due of every timer; None when there is none."""
        ...

    def steady_ahead(self) -> float:
        """How far the steady clock the dues are counted on was ahead of the wall clock, as
        last recorded (alertd.clock.SteadyClock; 0.0 when never recorded)."""
        ...

    def set_steady_ahead(self, ahead: float) -> None: ...


class StateStore(WindowStore, AlertStore, TimerStore, Protocol):
    def size(self) -> StoreSize: ...

    def close(self) -> None: ...


def page_of(records: list[AlertRecord], limit: int) -> AlertPage:
    """The first `limit` records, with a cursor when more follow."""
    page = records[:limit]
    more = len(records) > limit and bool(page)
    return AlertPage(page, page[-1].alert.id if more else None)
