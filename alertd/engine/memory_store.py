"""The in-memory state store: plain dicts, for tests and `alertd test-rule`.

Nothing survives the process. Alerts are kept up to `max_alerts` (the oldest are dropped first)
so that replaying a long recording does not grow without bound; windows are bounded by the
sweep like every other store. Transactions are accepted but cannot roll anything back.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

from alertd.engine.absence import Absence
from alertd.engine.ids import alert_id_floor
from alertd.engine.sequence import KeyState, StateKey
from alertd.engine.state import (
    AlertPage,
    AlertQuery,
    AlertRecord,
    StoreSize,
    TimelineEntry,
    Timer,
    field_text,
    page_of,
)
from alertd.engine.windows import CountWindow, Entries, Suppression, sweep_tables
from alertd.model import Alert, Key

_NO_TRANSACTION: AbstractContextManager[None] = nullcontext()  # reusable, and nearly free


class MemoryStore:
    def __init__(self, max_alerts: int = 10_000) -> None:
        self._suppressions: dict[str, dict[Key, Suppression]] = {}
        self._windows: dict[str, dict[Key, CountWindow]] = {}
        self._open: dict[str, dict[Key, str]] = {}
        self._key_states: dict[str, dict[StateKey, KeyState]] = {}
        self._absences: dict[str, dict[Key, Absence]] = {}
        # A new alert is kept as it is until something happens to it: an AlertRecord (a frozen
        # dataclass of 14 fields) costs ten times the Alert, and nearly every alert of a replay
        # is never read again.
        self._alerts: dict[str, AlertRecord | Alert] = {}
        self._order: deque[str] = deque()  # the ids in _alerts, oldest first
        self._timelines: dict[str, list[TimelineEntry]] = {}
        self._timers: dict[tuple[str, str], Timer] = {}
        self._dues: list[tuple[float, str, str]] = []  # a heap; entries of replaced timers linger
        self._steady_ahead = 0.0
        self._max_alerts = max_alerts

    def suppressions(self, rule_id: str) -> dict[Key, Suppression]:
        table = self._suppressions.get(rule_id)
        if table is None:
            table = self._suppressions[rule_id] = Entries()
        return table

    def count_windows(self, rule_id: str) -> dict[Key, CountWindow]:
        table = self._windows.get(rule_id)
        if table is None:
            table = self._windows[rule_id] = Entries()
        return table

    def open_alerts(self, rule_id: str) -> dict[Key, str]:
        table = self._open.get(rule_id)
        if table is None:
            table = self._open[rule_id] = Entries()
        return table

    def key_states(self, rule_id: str) -> dict[StateKey, KeyState]:
        table = self._key_states.get(rule_id)
        if table is None:
            table = self._key_states[rule_id] = Entries()
        return table

    def absences(self, rule_id: str) -> dict[Key, Absence]:
        table = self._absences.get(rule_id)
        if table is None:
            table = self._absences[rule_id] = Entries()
        return table

    def sweep(self, horizon: float, limit: int | None = None) -> int:
        evicted = sweep_tables(self._suppressions.values(), self._windows.values(), horizon, limit)
        room = None if limit is None else limit - evicted
        evicted += _sweep_forgotten(self._key_states.values(), horizon, room)
        room = None if limit is None else limit - evicted
        return evicted + _sweep_forgotten(self._absences.values(), horizon, room)

    def retain_rules(self, rule_ids: Collection[str]) -> None:
        keep = set(rule_ids)
        tables: tuple[dict[str, Any], ...] = (
            self._suppressions,
            self._windows,
            self._key_states,
            self._absences,
            self._open,
        )
        for table in tables:
            for rule_id in [rule_id for rule_id in table if rule_id not in keep]:
                del table[rule_id]

    def transaction(self) -> AbstractContextManager[None]:
        return _NO_TRANSACTION

    def add_alert(self, alert: Alert) -> None:
        self._alerts[alert.id] = alert
        order = self._order
        order.append(alert.id)
        if len(order) > self._max_alerts:
            dropped = order.popleft()
            self._alerts.pop(dropped, None)
            self._timelines.pop(dropped, None)

    def get_alert(self, alert_id: str) -> AlertRecord | None:
        kept = self._alerts.get(alert_id)
        return None if kept is None else _record(kept)

    def list_alerts(self, query: AlertQuery) -> AlertPage:
        since_id = alert_id_floor(query.since) if query.since is not None else ""
        records = (_record(kept) for _, kept in sorted(self._alerts.items(), reverse=True))
        selected = [
            record
            for record in records
            if (query.cursor is None or record.alert.id < query.cursor)
            and record.alert.id >= since_id
            and (query.rule is None or record.alert.rule_id == query.rule)
            and (query.priority is None or record.alert.priority == query.priority)
            and (query.status is None or record.status == query.status)
            and all(field_text(record.alert.event, p) == v for p, v in query.fields)
        ]
        return page_of(selected, query.limit)

    def save_alert(self, record: AlertRecord) -> None:
        if record.alert.id in self._alerts:
            self._alerts[record.alert.id] = record

    def fold_match(self, alert_id: str, event: Mapping[str, Any], at: float) -> bool:
        kept = self._alerts.get(alert_id)
        if kept is None:
            return False
        record = _record(kept)
        self._alerts[alert_id] = replace(
            record, match_count=record.match_count + 1, last_matched_at=at, last_event=event
        )
        return True

    def add_timeline(self, alert_id: str, entry: TimelineEntry) -> None:
        self._timelines.setdefault(alert_id, []).append(entry)

    def timeline(self, alert_id: str) -> list[TimelineEntry]:
        return list(self._timelines.get(alert_id, ()))

    def prune_alerts(self, received_before: float, limit: int | None = None) -> int:
        floor = alert_id_floor(received_before)
        old = sorted(alert_id for alert_id in self._alerts if alert_id < floor)[:limit]
        for alert_id in old:
            del self._alerts[alert_id]
            self._timelines.pop(alert_id, None)
        self._order = deque(self._alerts)
        return len(old)

    def set_timer(self, timer: Timer) -> None:
        self._timers[timer.kind, timer.ref] = timer
        heapq.heappush(self._dues, (timer.due, timer.kind, timer.ref))

    def cancel_timer(self, kind: str, ref: str) -> None:
        self._timers.pop((kind, ref), None)

    def get_timer(self, kind: str, ref: str) -> Timer | None:
        return self._timers.get((kind, ref))

    def due_timers(self, now: float, limit: int) -> list[Timer]:
        found: dict[tuple[str, str], Timer] = {}
        kept: list[tuple[float, str, str]] = []
        dues = self._dues
        while dues and dues[0][0] <= now and len(found) < limit:
            entry = heapq.heappop(dues)  # stale entries go for good; live ones are put back
            due, kind, ref = entry
            timer = self._timers.get((kind, ref))
            if timer is not None and timer.due == due and (kind, ref) not in found:
                found[kind, ref] = timer
                kept.append(entry)
        for entry in kept:
            heapq.heappush(dues, entry)
        return list(found.values())

    def next_timer_due(self) -> float | None:
        dues = self._dues
        while dues:  # drop the entries of timers cancelled or set again since
            due, kind, ref = dues[0]
            timer = self._timers.get((kind, ref))
            if timer is not None and timer.due == due:
                return due
            heapq.heappop(dues)
        return None

    def steady_ahead(self) -> float:
        return self._steady_ahead

    def set_steady_ahead(self, ahead: float) -> None:
        self._steady_ahead = ahead

    def size(self) -> StoreSize:
        return StoreSize(
            suppressions=sum(len(entries) for entries in self._suppressions.values()),
            count_windows=sum(len(windows) for windows in self._windows.values()),
            alerts=len(self._alerts),
            key_states=sum(len(states) for states in self._key_states.values()),
            absences=sum(len(absences) for absences in self._absences.values()),
        )

    def close(self) -> None:
        self._suppressions.clear()
        self._windows.clear()
        self._open.clear()
        self._key_states.clear()
        self._absences.clear()
        self._alerts.clear()
        self._order.clear()
        self._timelines.clear()
        self._timers.clear()
        self._dues.clear()


def _record(kept: AlertRecord | Alert) -> AlertRecord:
    """A kept alert as a record: one nothing has happened to yet is kept as the Alert."""
    return kept if isinstance(kept, AlertRecord) else AlertRecord(kept)


def _sweep_forgotten(
    tables: Iterable[dict[Any, KeyState]] | Iterable[dict[Any, Absence]],
    horizon: float,
    limit: int | None,
) -> int:
    """Drop every key of `tables` forgotten at or before `horizon` (a key state's and an
    absence's fourth item is when it is forgotten), at most `limit` of them; return how many
    went."""
    evicted = 0
    for table in tables:
        expired = [key for key, kept in table.items() if kept[3] <= horizon]
        if limit is not None:
            expired = expired[: max(0, limit - evicted)]
        for key in expired:
            del table[key]
        evicted += len(expired)
    return evicted
