"""The state store protocol: what the engine keeps between events, and the alerts it raised.

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
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from alertd.engine.windows import CountWindow, Suppression
from alertd.model import Alert, Key, Priority

AlertStatus = Literal["firing", "acked"]
ALERT_STATUSES: tuple[AlertStatus, ...] = ("firing", "acked")


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert and whether someone acknowledged it."""

    alert: Alert
    acked_at: float | None = None
    acked_by: str | None = None

    @property
    def status(self) -> AlertStatus:
        return "firing" if self.acked_at is None else "acked"


@dataclass(frozen=True, slots=True)
class Transition:
    """An alert after an action on it, and whether the action changed it: a second ack
    leaves the first in place, and says so."""

    record: AlertRecord
    changed: bool


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


V = TypeVar("V")


class WindowTable(Protocol[V]):
    """One rule's entries of one kind, by key: a plain dict satisfies it.

    The engine sets every value it changed (a counting window changed in place is set again),
    so a store that writes to disk knows what to write.
    """

    def get(self, key: Key, /) -> V | None: ...

    def __setitem__(self, key: Key, value: V, /) -> None: ...

    def pop(self, key: Key, default: None, /) -> V | None: ...


class WindowStore(Protocol):
    """Suppression entries and counting windows, per rule id, by key."""

    def suppressions(self, rule_id: str) -> WindowTable[Suppression]:
        """The rule's suppression table; the same object for as long as the rule is kept."""
        ...

    def count_windows(self, rule_id: str) -> WindowTable[CountWindow]:
        """The rule's counting windows; the same object for as long as the rule is kept."""
        ...

    def sweep(self, horizon: float) -> int:
        """Evict every entry that expires at or before `horizon` (event time); return how many."""
        ...

    def retain_rules(self, rule_ids: Collection[str]) -> None:
        """Forget the windows of every rule not in `rule_ids` (after a reload removed them)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: all of them are kept, or none if the block raises."""
        ...


class AlertStore(Protocol):
    """The alerts the engine raised, for the API and the notifier."""

    def add_alert(self, alert: Alert) -> None: ...

    def get_alert(self, alert_id: str) -> AlertRecord | None: ...

    def list_alerts(self, query: AlertQuery) -> AlertPage: ...

    def ack_alert(self, alert_id: str, by: str, at: float) -> Transition | None:
        """Acknowledge an alert; a second ack keeps the first (`changed` is then False).
        None if there is no such alert."""
        ...

    def prune_alerts(self, received_before: float) -> int:
        """Delete alerts received before this time (history retention); return how many."""
        ...


class StateStore(WindowStore, AlertStore, Protocol):
    def size(self) -> StoreSize: ...

    def close(self) -> None: ...


def page_of(records: list[AlertRecord], limit: int) -> AlertPage:
    """The first `limit` records, with a cursor when more follow."""
    page = records[:limit]
    more = len(records) > limit and bool(page)
    return AlertPage(page, page[-1].alert.id if more else None)
