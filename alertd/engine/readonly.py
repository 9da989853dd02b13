"""A state store that reads another and keeps its own writes: for asking "what would this event
do?" of the live state without changing it (`POST /v1/explain`, the console's playground).

An engine run over `ReadOnlyView(store)` sees the live windows, alerts and timers; whatever it
writes (a window moved on, a suppression opened, an alert raised, a timer set) lands in the
view, which is thrown away with it. Values read from the live store are copied before the
engine gets them, since the engine changes a counting window in place.

Every method of the StateStore protocol is here, written out: mypy holds the class to the
protocol, and tests/engine/test_readonly.py checks that nothing reaches the live store. A rule
kind that adds state to the protocol adds the same here, reading through and keeping writes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any, Generic, TypeVar

from alertd.engine.absence import Absence
from alertd.engine.sequence import KeyState, StateKey
from alertd.engine.state import (
    AlertPage,
    AlertQuery,
    AlertRecord,
    StateStore,
    StoreSize,
    Table,
    TimelineEntry,
    Timer,
)
from alertd.engine.windows import NOT_REORDERED, CountWindow, Suppression
from alertd.model import Alert, Key

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_GONE = object()  # a key the view popped: the live value is hidden, not deleted


class _OverlayTable(Generic[K, V]):
    """One rule's table: reads fall through to the live one, copied; writes stay here."""

    __slots__ = ("_copy", "_live", "_mine")

    def __init__(self, live: Table[K, V], copy_value: Callable[[V], V]) -> None:
        self._live = live
        self._copy = copy_value
        self._mine: dict[K, object] = {}

    def get(self, key: K, /) -> V | None:
        if key in self._mine:
            mine = self._mine[key]
            return None if mine is _GONE else mine  # type: ignore[return-value]
        value = self._live.get(key)
        if value is None:
            return None
        value = self._copy(value)
        self._mine[key] = value  # the engine may change it in place: keep the copy it has
        return value

    def __setitem__(self, key: K, value: V, /) -> None:
        self._mine[key] = value

    def pop(self, key: K, default: None, /) -> V | None:
        value = self.get(key)
        self._mine[key] = _GONE
        return value

    def __len__(self) -> int:
        """At most this many entries (the live ones and the view's; the view cannot list the
        live keys it hid): what the engine asks is whether there may be any."""
        return len(self._live) + sum(1 for value in self._mine.values() if value is not _GONE)


def _same(value: V) -> V:
    return value  # immutable: a suppression, a key's state (tuples of numbers and values)


def _window_copy(window: CountWindow) -> CountWindow:
    """The live window as it counts (its matches' times, its events, how many slid out): what
    the engine decides with. The view writes nothing, so what the store keeps to write only
    what changed does not matter here."""
    within, times, start, dropped, _, events = window
    return (within, times[start << 3 :], 0, dropped, NOT_REORDERED, events)


class ReadOnlyView:
    """A StateStore over `live` that never writes to it."""

    def __init__(self, live: StateStore) -> None:
        self._live = live
        self._suppressions: dict[str, _OverlayTable[Key, Suppression]] = {}
        self._windows: dict[str, _OverlayTable[Key, CountWindow]] = {}
        self._key_states: dict[str, _OverlayTable[StateKey, KeyState]] = {}
        self._absences: dict[str, _OverlayTable[Key, Absence]] = {}
        self._open: dict[str, _OverlayTable[Key, str]] = {}
        self._alerts: dict[str, AlertRecord] = {}
        self._timelines: dict[str, list[TimelineEntry]] = {}
        self._timers: dict[tuple[str, str], Timer | None] = {}  # None: cancelled here

    # windows -------------------------------------------------------------------------------

    def suppressions(self, rule_id: str) -> _OverlayTable[Key, Suppression]:
        table = self._suppressions.get(rule_id)
        if table is None:
            table = _OverlayTable(self._live.suppressions(rule_id), _same)
            self._suppressions[rule_id] = table
        return table

    def count_windows(self, rule_id: str) -> _OverlayTable[Key, CountWindow]:
        table = self._windows.get(rule_id)
        if table is None:
            table = _OverlayTable(self._live.count_windows(rule_id), _window_copy)
            self._windows[rule_id] = table
        return table

    def key_states(self, rule_id: str) -> _OverlayTable[StateKey, KeyState]:
        table = self._key_states.get(rule_id)
        if table is None:
            table = _OverlayTable(self._live.key_states(rule_id), _same)
            self._key_states[rule_id] = table
        return table

    def absences(self, rule_id: str) -> _OverlayTable[Key, Absence]:
        table = self._absences.get(rule_id)
        if table is None:
            table = _OverlayTable(self._live.absences(rule_id), _same)
            self._absences[rule_id] = table
        return table

    def open_alerts(self, rule_id: str) -> _OverlayTable[Key, str]:
        table = self._open.get(rule_id)
        if table is None:
            table = _OverlayTable(self._live.open_alerts(rule_id), _same)
            self._open[rule_id] = table
        return table

    def sweep(self, horizon: float, limit: int | None = None) -> int:
        return 0

    def retain_rules(self, rule_ids: Collection[str]) -> None:
        pass

    def transaction(self) -> AbstractContextManager[None]:
        return nullcontext()

    # alerts --------------------------------------------------------------------------------

    def add_alert(self, alert: Alert) -> None:
        self._alerts[alert.id] = AlertRecord(alert)

    def get_alert(self, alert_id: str) -> AlertRecord | None:
        if alert_id in self._alerts:
            return self._alerts[alert_id]
        return self._live.get_alert(alert_id)

    def list_alerts(self, query: AlertQuery) -> AlertPage:
        return self._live.list_alerts(query)  # what the view raised is not listed

    def save_alert(self, record: AlertRecord) -> None:
        self._alerts[record.alert.id] = record

    def fold_match(self, alert_id: str, event: Mapping[str, Any], at: float) -> bool:
        record = self.get_alert(alert_id)
        if record is None:
            return False
        self._alerts[alert_id] = replace(
            record, match_count=record.match_count + 1, last_matched_at=at, last_event=event
        )
        return True

    def add_timeline(self, alert_id: str, entry: TimelineEntry) -> None:
        self._timelines.setdefault(alert_id, []).append(entry)

    def timeline(self, alert_id: str) -> list[TimelineEntry]:
        live = [] if alert_id in self._alerts else self._live.timeline(alert_id)
        return [*live, *self._timelines.get(alert_id, ())]

    def prune_alerts(self, received_before: float, limit: int | None = None) -> int:
        return 0

    # timers --------------------------------------------------------------------------------

    def set_timer(self, timer: Timer) -> None:
        self._timers[timer.kind, timer.ref] = timer

    def cancel_timer(self, kind: str, ref: str) -> None:
        self._timers[kind, ref] = None

    def get_timer(self, kind: str, ref: str) -> Timer | None:
        if (kind, ref) in self._timers:
            return self._timers[kind, ref]
        return self._live.get_timer(kind, ref)

    def due_timers(self, now: float, limit: int) -> list[Timer]:
        live = [t for t in self._live.due_timers(now, limit) if (t.kind, t.ref) not in self._timers]
        mine = [t for t in self._timers.values() if t is not None and t.due <= now]
        return sorted([*live, *mine], key=lambda timer: timer.due)[:limit]

    def next_timer_due(self) -> float | None:
        """The earliest due of the live timers and the view's (a live timer cancelled in the
        view may still be the one named: the view runs no timer loop that would mind)."""
        dues = [t.due for t in self._timers.values() if t is not None]
        live = self._live.next_timer_due()
        return min([*dues, live] if live is not None else dues, default=None)

    def steady_ahead(self) -> float:
        return self._live.steady_ahead()

    def set_steady_ahead(self, ahead: float) -> None:
        pass  # the view records nothing

    # the rest ------------------------------------------------------------------------------

    def size(self) -> StoreSize:
        return self._live.size()

    def close(self) -> None:
        pass
