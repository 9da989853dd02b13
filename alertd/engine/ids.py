"""Alert ids: ULIDs, so ids sort by the time the alert was raised and never collide.

The one module that imports python-ulid. Ids are stamped with the arrival time the caller
passes in (not a clock read here). Ids minted in the same millisecond continue the previous
one plus one, as the ULID spec's monotonic mode does: they still sort in the order they were
made, and only a new millisecond pays for fresh randomness and the library's (pure Python)
encoding. A whole batch arrives in one millisecond, so its alerts cost one library call.
"""

from __future__ import annotations

import itertools
import math
import threading

from ulid import ULID

_RANDOM_BYTES = 10
_TIMESTAMP_CHARS = 10  # of 26: the rest is the random part
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NEXT_DIGIT = dict(itertools.pairwise(_CROCKFORD))


class _Minter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._millis = -1
        self._last = ""

    def mint(self, received_at: float) -> str:
        seconds = max(0.0, float(received_at))
        millis = int(seconds * 1000)
        with self._lock:
            following = _successor(self._last) if millis == self._millis else None
            if following is None:  # a new millisecond (or, never in practice, overflow)
                following = str(ULID.from_timestamp(seconds))
                self._millis = millis
            self._last = following
            return following


def _successor(ulid: str) -> str | None:
    """The next ULID in the same millisecond; None when the random part is all used up."""
    head = ulid.rstrip("Z")
    if len(head) <= _TIMESTAMP_CHARS:
        return None
    carried = len(ulid) - len(head)
    return head[:-1] + _NEXT_DIGIT[head[-1]] + "0" * carried


_MINTER = _Minter()


def new_alert_id(received_at: float) -> str:
    """A fresh id stamped with `received_at` (epoch seconds)."""
    return _MINTER.mint(received_at)


def alert_id_floor(since: float) -> str:
    """The smallest id any alert received at or after `since` can have (millisecond precision)."""
    millis = max(0, math.floor(since * 1000))
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + bytes(_RANDOM_BYTES)))
