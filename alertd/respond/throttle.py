"""A per-key rate limit: at most `limit` uses in any `window` seconds, on the clock.

Replies by SMS are limited per phone number, so that an auto-responder answering alertd's
answers (and alertd answering it) stops after a few rounds, and one phone cannot keep the
state busy.
"""

from __future__ import annotations

from collections import deque

from alertd.clock import Clock


class Throttle:
    """Sliding-window counts per key; keys idle for a window are forgotten."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._uses: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count a use of `key` now; False (not counted) when it has had `limit` already."""
        now = self.clock.monotonic()
        self._forget_idle(now)
        uses = self._uses.setdefault(key, deque())
        while uses and uses[0] <= now - self.window:
            uses.popleft()
        if len(uses) >= self.limit:
            return False
        uses.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        if len(self._uses) < 1024:
            return
        idle = [k for k, uses in self._uses.items() if not uses or uses[-1] <= now - self.window]
        for key in idle:
            del self._uses[key]
