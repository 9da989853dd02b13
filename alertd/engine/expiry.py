"""When the windows a store holds in memory expire, kept in memory: how the SQLite store's sweep
finds what expired without an index on disk.

An index on each window table's `expires_at` made every window written a second B-tree write
(the old entry out, the new one in) on a page of its own: a quarter of the pages a steady
batch wrote to the WAL (bench/README.md, "A leaner daemon path"). The store holds every window
in memory anyway, so it notes, as it writes a window whole, the minute its entry expires in:
`Expiry` keeps per minute the (table, key) pairs noted in it. A sweep looks at the minutes up
to its horizon only, and takes a noted key whose entry (as the table holds it now) expires at
or before the horizon; a note whose entry has gone, or moved to a later minute (noted there
again when it was written), is dropped. So a sweep costs what it evicts and the notes that
went stale, not what is live. (A change that keeps the expiry, a suppressed match's count, is
not noted again: its note stands.)

A note names its table by the table's `id()`, not the table itself: a tuple holding the table
(a tracked object) stays tracked by the garbage collector, one per live window, and every full
collection walks them all (a million in bench/flood_bench.py); a tuple of an int and a key of
strings is untracked at the first collection that meets it. `Expiry` keeps each table it was
given, so its id stays its own, until a sweep finds it is no longer the store's.

A note keeps the time it was noted with, so the first sweep that reaches a minute sorts it once
(latest first) and every sweep after pops what is due from its end: a sweep slice of a few
hundred costs a few hundred, not the minute's every note (60,000 in the flood benchmark: a
200-380 ms stall of ingest a slice before).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from alertd.model import Key

SPAN = 60.0
"""Seconds of expiry times noted together."""

_Note = tuple[float, int, Key]
"""A note: when the entry expires as noted, its table's id(), its key."""


class Table(Protocol):
    """A rule's table of windows of one kind, as the store holds it."""

    kind: str
    rule_id: str
    entries: dict[Key, Any]


T = TypeVar("T", bound=Table)


class Expiry(Generic[T]):
    """Per minute of expiry, the (table, key) pairs whose entries were noted to expire in it."""

    __slots__ = ("_minutes", "_of", "_sorted", "_tables")

    def __init__(self, expires: Mapping[str, Callable[[Any], float]]) -> None:
        """`expires[kind]`: when an entry of a table of that kind expires."""
        self._of = expires
        self._minutes: dict[int, list[_Note]] = {}
        self._sorted: set[int] = set()  # minutes whose notes are sorted, latest first
        self._tables: dict[int, T] = {}  # by id(), for the notes

    def note(self, table: T, key: Key, at: float) -> None:
        """The entry of `key` in `table` expires at `at` (it was just written or read)."""
        minute = int(at // SPAN)
        number = id(table)
        if number not in self._tables:
            self._tables[number] = table
        notes = self._minutes.get(minute)
        if notes is None:
            self._minutes[minute] = [(at, number, key)]
        elif minute in self._sorted:  # a sweep is taking from this minute
            insort(notes, (at, number, key), key=_latest_first)
        else:
            notes.append((at, number, key))

    def note_all(self, tables: Iterable[T]) -> None:
        """Forget every note, and note every entry of `tables` (the windows were read)."""
        self._minutes.clear()
        self._sorted.clear()
        self._tables.clear()
        for table in tables:
            expires = self._of[table.kind]
            for key, entry in table.entries.items():
                self.note(table, key, expires(entry))

    def take(
        self, horizon: float, limit: int | None, current: Callable[[T], bool]
    ) -> list[tuple[T, Key]]:
        """The (table, key) pairs whose entries expire at or before `horizon`, oldest first, at
        most `limit` of them; their notes are dropped (a caller that keeps an entry after all
        notes it again). `current(table)`: whether the table is still the store's (a table of
        a rule that is gone holds nothing to sweep)."""
        taken: list[tuple[float, T, Key]] = []
        seen: set[tuple[int, Key]] = set()  # an entry noted twice is taken once
        last = int(horizon // SPAN)
        minutes, ordered, tables, expires = self._minutes, self._sorted, self._tables, self._of
        for minute in sorted(m for m in minutes if m <= last):
            notes = minutes[minute]
            if minute not in ordered:
                notes.sort(key=_first, reverse=True)
                ordered.add(minute)
            while notes and notes[-1][0] <= horizon:
                if limit is not None and len(taken) >= limit:
                    break
                _, number, key = notes.pop()
                table = tables.get(number)
                if table is None:
                    continue
                if not current(table):
                    del tables[number]  # replaced: its notes are passed by from now on
                    continue
                entry = table.entries.get(key)
                if entry is None:
                    continue
                at = expires[table.kind](entry)
                if at <= horizon:
                    if (number, key) not in seen:
                        seen.add((number, key))
                        taken.append((at, table, key))
                elif int(at // SPAN) == minute:  # this minute still, after the horizon
                    insort(notes, (at, number, key), key=_latest_first)
                # else: it expires later now, and was noted in that minute when written
            if not notes:
                del minutes[minute]
                ordered.discard(minute)
            if limit is not None and len(taken) >= limit:
                break
        taken.sort(key=_first)
        return [(table, key) for _, table, key in taken]

    def __len__(self) -> int:
        """How many notes are kept (stale ones included)."""
        return sum(map(len, self._minutes.values()))


def _first(item: tuple[float, Any, Key]) -> float:
    return item[0]


def _latest_first(note: _Note) -> float:
    return -note[0]
