"""When the windows a store holds in memory expire, kept in memory: how the SQLite store's sweep
finds what expired without an index on disk.

An index on each window table's `expires_at` made every window written a second B-tree write
(the old entry out, the new one in) on a page of its own: a quarter of the pages a steady
batch wrote to the WAL (bench/README.md, "A leaner daemon path"). The store holds every window
in memory anyway, so it notes, as it writes a window whole, when its entry expires: `Expiry`
keeps per second of expiry the notes (time, table, key) made in it. A sweep looks at the
seconds up to its horizon only, and takes a noted key whose entry (as the table holds it now)
expires at or before the horizon; a note whose entry has gone, or moved to a later second
(noted there again when it was written), is dropped. So a sweep costs what it evicts and the
notes that went stale, not what is live. (A change that keeps the expiry, a suppressed match's
count, is not noted again: its note stands.)

What the garbage collector sees of it matters as much (bench/flood_bench.py, a million keys):
- A note names its table by the table's `id()`, not the table itself: a tuple holding the table
  (a tracked object) stays tracked, one per live window; a tuple of a float, an int and a key of
  strings is untracked at the first collection that meets it. `Expiry` keeps each table it was
  given, so its id stays its own, until a sweep finds it is no longer the store's.
- A second's notes are kept in flat tuples of CHUNK notes (untracked by the first collection
  that meets them), not in one list: a full collection traverses every item of a list, tracked
  or not, and lists of every live window's note made each one 50-60 ms longer.
- The second a sweep takes from is sorted once, latest first, and each slice pops what is due
  from its end, so a slice of a few hundred costs a few hundred, not its second's every note.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from itertools import chain
from operator import itemgetter
from typing import Any, Generic, Protocol, TypeVar

SPAN = 1.0
"""Seconds of expiry times noted together."""

CHUNK = 32
"""Notes of a second kept in one tuple."""

_Note = tuple[float, int, Hashable]
"""A note: when the entry expires as noted, its table's id(), its key."""

_at = itemgetter(0)


class Table(Protocol):
    """A rule's table of windows of one kind, as the store holds it."""

    kind: str
    rule_id: str
    entries: dict[Hashable, Any]


T = TypeVar("T", bound=Table)


class _Second:
    """The notes of one second: full chunks, the chunk being filled, and, once a sweep has
    taken from it, the rest sorted latest first. A chunk is flat, (at, id, key, at, id, key,
    ...): a tuple of note tuples is untracked only at the collection after the one that
    untracks its notes, so the full collections traversed every chunk made since the last."""

    __slots__ = ("chunks", "filling", "sorted")

    def __init__(self) -> None:
        self.chunks: list[tuple[Any, ...]] = []
        self.filling: list[Any] = []
        self.sorted: list[_Note] | None = None

    def add(self, at: float, number: int, key: Hashable) -> None:
        if self.sorted is not None:  # a sweep is taking from this second
            insort(self.sorted, (at, number, key), key=_latest_first)
            return
        filling = self.filling
        filling.append(at)
        filling.append(number)
        filling.append(key)
        if len(filling) == 3 * CHUNK:
            self.chunks.append(tuple(filling))
            filling.clear()

    def due(self) -> list[_Note]:
        """Every note, latest first (sorted once, then kept sorted)."""
        if self.sorted is None:
            flat = chain(chain.from_iterable(self.chunks), self.filling)
            self.sorted = list(zip(flat, flat, flat, strict=True))  # in threes
            self.sorted.sort(key=_at, reverse=True)
            self.chunks, self.filling = [], []
        return self.sorted

    def __len__(self) -> int:
        if self.sorted is not None:
            return len(self.sorted)
        return CHUNK * len(self.chunks) + len(self.filling) // 3


class Expiry(Generic[T]):
    """Per second of expiry, the notes of the (table, key) pairs whose entries expire in it."""

    __slots__ = ("_moved", "_of", "_order", "_seconds", "_tables")

    def __init__(
        self, expires: Mapping[str, Callable[[Any], float]], moved: Collection[str] = ()
    ) -> None:
        """`expires[kind]`: when an entry of a table of that kind expires. The kinds in
        `moved` are noted once per entry, when it is made, not each time it is written: a
        sweep that finds such a note stale (the entry expires later now) moves it to the
        entry's new expiry rather than dropping it. For entries whose expiry moves on every
        event (a key's state, `forget` after its newest event): a note per event, kept until
        its expiry, a week by default, made one per live entry."""
        self._of = expires
        self._moved = frozenset(moved)
        self._seconds: dict[int, _Second] = {}
        self._order: list[int] = []  # a heap of the seconds noted
        self._tables: dict[int, T] = {}  # by id(), for the notes

    def note(self, table: T, key: Hashable, at: float) -> None:
        """The entry of `key` in `table` expires at `at` (it was just written or read)."""
        number = id(table)
        if number not in self._tables:
            self._tables[number] = table
        second = int(at // SPAN)
        notes = self._seconds.get(second)
        if notes is None:
            notes = self._seconds[second] = _Second()
            heapq.heappush(self._order, second)
        notes.add(at, number, key)

    def note_all(self, tables: Iterable[T]) -> None:
        """Forget every note, and note every entry of `tables` (the windows were read)."""
        self._seconds.clear()
        self._order.clear()
        self._tables.clear()
        for table in tables:
            expires = self._of[table.kind]
            for key, entry in table.entries.items():
                self.note(table, key, expires(entry))

    def take(
        self, horizon: float, limit: int | None, current: Callable[[T], bool]
    ) -> list[tuple[T, Hashable]]:
        """The (table, key) pairs whose entries expire at or before `horizon`, oldest first, at
        most `limit` of them; their notes are dropped (a caller that keeps an entry after all
        notes it again). `current(table)`: whether the table is still the store's (a table of
        a rule that is gone holds nothing to sweep)."""
        taken: list[tuple[float, T, Hashable]] = []
        seen: set[tuple[int, Hashable]] = set()  # an entry noted twice is taken once
        last = int(horizon // SPAN)
        seconds, order, tables, expires = self._seconds, self._order, self._tables, self._of
        while order and order[0] <= last:
            if limit is not None and len(taken) >= limit:
                break
            second = order[0]
            notes = seconds[second].due()
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
                elif int(at // SPAN) == second:  # this second still, after the horizon
                    insort(notes, (at, number, key), key=_latest_first)
                elif table.kind in self._moved:  # noted once: its note follows it
                    self.note(table, key, at)
                # else: it expires later now, and was noted in that second when written
            if notes:
                break  # the limit, or the horizon's second: what is left is not due yet
            heapq.heappop(order)
            del seconds[second]
        taken.sort(key=_at)
        return [(table, key) for _, table, key in taken]

    def __len__(self) -> int:
        """How many notes are kept (stale ones included)."""
        return sum(map(len, self._seconds.values()))


def _latest_first(note: _Note) -> float:
    return -note[0]
