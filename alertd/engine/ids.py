"""Alert ids: ULIDs, so ids sort by the time the alert was raised and never collide.

The one module that imports python-ulid. Ids are stamped with the arrival time the caller
passes in (not a clock read here), and ids made in the same millisecond still increase.
"""

from __future__ import annotations

import math

from ulid import ULID

_RANDOM_BYTES = 10


def new_alert_id(received_at: float) -> str:
    """A fresh id stamped with `received_at` (epoch seconds)."""
    return str(ULID.from_timestamp(max(0.0, float(received_at))))


def alert_id_floor(since: float) -> str:
    """The smallest id any alert received at or after `since` can have (millisecond precision)."""
    millis = max(0, math.floor(since * 1000))
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + bytes(_RANDOM_BYTES)))
