"""Alert ids: ULIDs, so ids sort by the time the alert was raised and never collide.

The one module that imports python-ulid. Ids are stamped with the arrival time the caller
passes in (not a clock read here). Ids minted in the same millisecond continue the previous
one plus one, as the ULID spec's monotonic mode does: they still sort in the order they were
made, and only a new millisecond pays for fresh randomness and the library's (pure Python)
encoding. A whole batch arrives in one millisecond, so its alerts cost one library call and
then a few string operations each.

An engine mints with its own `AlertIds` (one caller at a time, so no lock: a lock costs more
than the rest of minting); `new_alert_id` serves everyone else, under a lock. Two minters in
the same millisecond start from independent random points 2**80 apart on average, as ULIDs
made by two processes do.
"""

from __future__ import annotations

import itertools
import math
import os
import threading

from ulid import ULID

_RANDOM_BYTES = 10
_TIMESTAMP_CHARS = 10  # of 26: the rest is the random part
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NEXT_DIGIT = dict(itertools.pairwise(_CROCKFORD))
_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]  # 10 bits each
_TAIL_CHARS = 4  # the last characters, counted as an int: 20 bits
_TAIL_LIMIT = len(_CROCKFORD) ** _TAIL_CHARS


class AlertIds:
    """Mints alert ids for one caller at a time: `ids(received_at)`."""

    __slots__ = ("_head", "_millis", "_tail")

    def __init__(self) -> None:
        self._millis = -1
        self._head = ""  # the latest id but its last _TAIL_CHARS characters
        self._tail = 0  # the value of those characters

    def __call__(self, received_at: float) -> str:
        millis = int(received_at * 1000) if received_at > 0 else 0
        following = None
        if millis == self._millis:
            tail = self._tail + 1
            if tail < _TAIL_LIMIT:
                self._tail = tail
                return self._head + _PAIRS[tail >> 10] + _PAIRS[tail & 1023]
            following = _successor(self._head + "Z" * _TAIL_CHARS)  # carry into the head
        if following is None:  # a new millisecond (or, never in practice, overflow)
            # Fresh randomness of our own: the library's generator continues its own latest
            # id, which another minter may be counting up from in this very millisecond.
            following = str(ULID.from_bytes(millis.to_bytes(6, "big") + os.urandom(_RANDOM_BYTES)))
            self._millis = millis
        self._head = following[:-_TAIL_CHARS]
        self._tail = _value(following[-_TAIL_CHARS:])
        return following


def _value(digits: str) -> int:
    value = 0
    for digit in digits:
        value = value * len(_CROCKFORD) + _CROCKFORD.index(digit)
    return value


def _successor(ulid: str) -> str | None:
    """The next ULID in the same millisecond; None when the random part is all used up."""
    head = ulid.rstrip("Z")
    if len(head) <= _TIMESTAMP_CHARS:
        return None
    carried = len(ulid) - len(head)
    return head[:-1] + _NEXT_DIGIT[head[-1]] + "0" * carried


_SHARED = AlertIds()
_SHARED_LOCK = threading.Lock()


def new_alert_id(received_at: float) -> str:
    """A fresh id stamped with `received_at` (epoch seconds). Thread-safe."""
    with _SHARED_LOCK:
        return _SHARED(received_at)


def alert_id_floor(since: float) -> str:
    """The smallest id any alert received at or after `since` can have (millisecond precision)."""
    millis = max(0, math.floor(since * 1000))
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + bytes(_RANDOM_BYTES)))
