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
given, so its id stays its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from alertd.model import Key

SPAN = 60.0
"""Seconds of expiry times noted together."""


class Table(Protocol):
    """A rule's table of windows of one kind, as the store holds it."""

    kind: str
    rule_id: str
    entries: dict[Key, Any]


T = TypeVar("T", bound=Table)


class Expiry(Generic[T]):
    """Per minute of expiry, the (table, key) pairs whose entries were noted to expire in it."""

    __slots__ = ("_minutes", "_of", "_tables")

    def __init__(self, expires: Mapping[str, Callable[[Any], float]]) -> None:
        """`expires[kind]`: when an entry of a table of that kind expires."""
        self._of = expires
        self._minutes: dict[int, list[tuple[int, Key]]] = {}
        self._tables: dict[int, T] = {}  # by id(), for the notes

    def note(self, table: T, key: Key, at: float) -> None:
        """The entry of `key` in `table` expires at `at` (it was just written or read)."""
        minute = int(at // SPAN)
        number = id(table)
        if number not in self._tables:
            self._tables[number] = table
        notes = self._minutes.get(minute)
        if notes is None:
            self._minutes[minute] = [(number, key)]
        else:
            notes.append((number, key))

    def note_all(self, tables: Iterable[T]) -> None:
        """Forget every note, and note every entry of `tables` (the windows were read)."""
        self._minutes.clear()
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
        minutes, tables = self._minutes, self._tables
        for minute in sorted(m for m in minutes if m <= last):
            if limit is not None and len(taken) >= limit:
                break
            due: list[tuple[float, T, Key]] = []
            kept: list[tuple[int, Key]] = []
            for number, key in minutes.pop(minute):
                table = tables[number]
                entry = table.entries.get(key)
                if entry is None or not current(table):
                    continue
                at = self._of[table.kind](entry)
                if at <= horizon:
                    if (number, key) not in seen:
                        seen.add((number, key))
                        due.append((at, table, key))
                elif int(at // SPAN) == minute:
                    kept.append((number, key))  # this minute, after the horizon
                # else: it expires later now, and was noted in that minute when written
            if limit is not None and len(taken) + len(due) > limit:
                due.sort(key=_first)
                room = limit - len(taken)
                kept += [(id(table), key) for _, table, key in due[room:]]
                due = due[:room]
            taken += due
            if kept:
                minutes[minute] = kept
        taken.sort(key=_first)
        return [(table, key) for _, table, key in taken]

    def __len__(self) -> int:
        """How many notes are kept (stale ones included)."""
        return sum(map(len, self._minutes.values()))


def _first(item: tuple[float, Any, Key]) -> float:
    return item[0]
