"""The windows' expiry kept in memory, for the SQLite store's sweep (alertd.engine.expiry)."""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, field
from typing import Any

from alertd.engine.expiry import SPAN, Expiry
from alertd.model import Key


@dataclass(eq=False)
class Table:
    kind: str = "plain"
    rule_id: str = "r"
    entries: dict[Key, Any] = field(default_factory=dict)


def expiry() -> Expiry[Table]:
    return Expiry({"plain": lambda at: at})  # an entry is its expiry time


def always(table: Table) -> bool:
    return True


def test_a_sweep_takes_what_expired_oldest_first_up_to_its_limit() -> None:
    table, notes = Table(), expiry()
    for n, at in enumerate((0.5 * SPAN, 0.1 * SPAN, 0.3 * SPAN, 2.5 * SPAN, 9 * SPAN)):
        table.entries[(n,)] = at
        notes.note(table, (n,), at)
    assert notes.take(3 * SPAN, 2, always) == [(table, (1,)), (table, (2,))]
    assert notes.take(3 * SPAN, None, always) == [(table, (0,)), (table, (3,))]
    assert notes.take(3 * SPAN, None, always) == []  # taken: their notes are gone
    assert notes.take(9 * SPAN, None, always) == [(table, (4,))]
    assert len(notes) == 0


def test_a_note_gone_stale_is_dropped_and_the_entry_is_taken_once_when_it_expires() -> None:
    table, notes = Table(), expiry()
    table.entries[("moved",)] = 0.1 * SPAN
    notes.note(table, ("moved",), 0.1 * SPAN)
    table.entries[("moved",)] = 5 * SPAN  # written again: it expires later now
    notes.note(table, ("moved",), 5 * SPAN)
    table.entries[("gone",)] = 0.2 * SPAN
    notes.note(table, ("gone",), 0.2 * SPAN)
    del table.entries[("gone",)]
    table.entries[("twice",)] = 0.3 * SPAN
    notes.note(table, ("twice",), 0.3 * SPAN)
    notes.note(table, ("twice",), 0.3 * SPAN)  # written whole twice, the same expiry
    assert notes.take(SPAN, None, always) == [(table, ("twice",))]
    assert len(notes) == 1  # the moved entry's later note only
    assert notes.take(10 * SPAN, None, always) == [(table, ("moved",))]


def test_an_entry_not_yet_expired_in_the_horizons_minute_stays_noted() -> None:
    table, notes = Table(), expiry()
    for key, at in ((("early",), 1.1 * SPAN), (("late",), 1.8 * SPAN)):
        table.entries[key] = at
        notes.note(table, key, at)
    assert notes.take(1.5 * SPAN, None, always) == [(table, ("early",))]
    assert notes.take(1.8 * SPAN, None, always) == [(table, ("late",))]


def test_a_table_no_longer_the_stores_is_passed_by_and_note_all_starts_afresh() -> None:
    dropped, kept, notes = Table(rule_id="gone"), Table(), expiry()
    for table in (dropped, kept):
        table.entries[("k",)] = 0.1 * SPAN
        notes.note(table, ("k",), 0.1 * SPAN)
    assert notes.take(SPAN, None, lambda table: table is kept) == [(kept, ("k",))]
    kept.entries[("j",)] = 0.2 * SPAN
    notes.note_all([kept])  # the windows were read again
    assert len(notes) == 2
    assert notes.take(SPAN, None, always) == [(kept, ("k",)), (kept, ("j",))]


def test_a_sweep_slice_costs_what_it_takes_not_the_whole_minute() -> None:
    looked_at: list[float] = []

    def expires(at: float) -> float:
        looked_at.append(at)
        return at

    table, notes = Table(), Expiry({"plain": expires})
    for n in range(10_000):  # one second's notes, noted out of order
        at = (n * 7919 % 10_000) / 10_000 * SPAN
        table.entries[(n,)] = at
        notes.note(table, (n,), at)
    taken: list[float] = []
    for _ in range(5):
        looked_at.clear()
        taken += [table.entries.pop(key) for _, key in notes.take(SPAN, 100, always)]
        assert len(looked_at) == 100  # the slice's own entries only
    assert taken == sorted(taken) and len(taken) == 500  # oldest first, across slices
    table.entries[("late",)] = 0.0  # noted in the minute a sweep is taking from
    notes.note(table, ("late",), 0.0)
    assert notes.take(SPAN, 1, always) == [(table, ("late",))]
    assert len(notes) == 9_500


def test_a_replaced_table_is_let_go_by_the_first_sweep_that_meets_it() -> None:
    dropped, notes = Table(rule_id="gone"), expiry()
    for n in range(3):
        dropped.entries[(n,)] = (0.1 + n) * SPAN
        notes.note(dropped, (n,), (0.1 + n) * SPAN)
    assert notes.take(3 * SPAN, None, lambda table: False) == []
    assert len(notes) == 0
    gone = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert gone() is None  # the notes no longer hold it


def test_a_full_collection_traverses_a_few_items_per_chunk_of_notes_not_every_note() -> None:
    table, notes = Table(), expiry()
    for n in range(100_000):  # ten seconds of 10,000 notes
        at = (n % 10 + 0.5) * SPAN
        table.entries[(f"vehicle-{n}",)] = at
        notes.note(table, (f"vehicle-{n}",), at)
    gc.collect()  # the chunks of notes are untracked by the first collection that meets them
    assert traversed(notes, skip=(table,)) < 100_000 // 10


def traversed(root: object, skip: tuple[object, ...]) -> int:
    """How many references a full collection follows from `root` through the tracked objects
    it holds (the tables in `skip` are the store's, not the notes')."""
    total, stack, seen = 0, [root], {id(obj) for obj in skip}
    while stack:
        obj = stack.pop()
        if id(obj) in seen or not gc.is_tracked(obj) or callable(obj):
            continue
        seen.add(id(obj))
        referents = gc.get_referents(obj)
        total += len(referents)
        stack += referents
    return total
