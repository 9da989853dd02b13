"""How a store that writes rows lays out a counting window's times, so that what it writes
for a batch costs what the batch changed, not what the window holds.

A window's matches are numbered over its life (its `dropped` is the number of its oldest
match still in it). Its row holds the newest times, from match `tail_from` on (at most
`CHUNK` of them once the window is large), with the events it keeps; the older times lie in
rows of exactly `CHUNK` times each, keyed by the number of their first match, written once
and deleted when every match in them has slid out. So a window of 100,000 matches that takes
a batch of 100 in order rewrites its row (at most `CHUNK` times and the events) and, now and
then, adds one chunk and deletes another. A late match placed among the chunked times moves
every later one: its chunks are written again (rare: late events land near the newest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from alertd.engine.windows import (
    NOT_REORDERED,
    CountWindow,
    count_window,
    window_matches,
    window_times,
)
from alertd.model import Event

CHUNK = 256
"""Times per chunk row: 4-5 KiB of JSON, about a page; a window under this is one row."""


@dataclass(slots=True)
class Chunked:
    """Where a window's times are on disk, when some are in chunks: chunk rows start at
    match `chunks_from` (every CHUNK matches), the row's own times at `tail_from`."""

    chunks_from: int
    tail_from: int


@dataclass(slots=True)
class Plan:
    """What to write for one window: its row's times from match `tail_from` on, chunk rows
    to add (first match, times), and chunks to delete: every one (`clear`) or those whose
    first match is at or below `cut` (None: none)."""

    tail_from: int
    tail: list[float]
    chunks: list[tuple[int, list[float]]] = field(default_factory=list)
    clear: bool = False
    cut: int | None = None


def plan(window: CountWindow, chunked: Chunked | None) -> tuple[Plan, Chunked | None, CountWindow]:
    """The rows to write for `window`, whose times are on disk as `chunked` says (None: all
    in its row, or never written), where they will be once written, and the window as it is
    once written (no late match moved anything since)."""
    within, times, start, first, reordered_from, events = window
    end = first + window_matches(window)
    clear = False
    cut = None
    if chunked is not None:
        if reordered_from < chunked.tail_from or first >= chunked.tail_from:
            clear, chunked = True, None  # a late match moved chunked times, or all slid out
        elif first >= chunked.chunks_from + CHUNK:  # whole chunks slid out
            cut = first - CHUNK
            chunked.chunks_from += (first - chunked.chunks_from) // CHUNK * CHUNK
    tail_from = first if chunked is None else chunked.tail_from
    chunks = []
    while end - tail_from > CHUNK:
        chunks.append(
            (tail_from, window_times(window, tail_from - first, tail_from + CHUNK - first))
        )
        tail_from += CHUNK
    if chunks and chunked is None:
        chunked = Chunked(chunks[0][0], tail_from)
    elif chunked is not None:
        chunked.tail_from = tail_from
    tail = window_times(window, tail_from - first)
    written = (within, times, start, first, NOT_REORDERED, events)
    return Plan(tail_from, tail, chunks, clear, cut), chunked, written


def assemble(
    within: float,
    events: Iterable[Event],
    *,
    first: int,
    tail_from: int,
    tail: Sequence[float],
    chunks: Sequence[tuple[int, Sequence[float]]],
) -> tuple[CountWindow, Chunked | None]:
    """A window read back from its row and its chunk rows (by first match, in order)."""
    if not chunks:  # then the row holds every time from its first match on
        return count_window(within, tail[first - tail_from :], events, dropped=first), None
    times = [time for _, part in chunks for time in part]
    times += tail
    window = count_window(within, times[first - chunks[0][0] :], events, dropped=first)
    return window, Chunked(chunks[0][0], tail_from)
