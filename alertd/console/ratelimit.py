"""Sign-in attempts, limited per client address and per name, so that passwords and tokens
cannot be guessed at speed (and argon2, which costs CPU on purpose, cannot be made to burn it).

Each key (`addr:127.0.0.1`, `name:alice`) may fail `limit` times within `window` seconds; past
that, sign-in from that address or for that name is refused, before any password is checked,
until the oldest failure leaves the window. A success clears the name's failures (not the
address's: one person signing in must not reset a guesser on the same network). In memory: a
restart forgets, which costs an attacker a restart of alertd per window.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from alertd.clock import Clock

ADDRESS_LIMIT = 20  # failures per address and window: a shared office NAT has room
NAME_LIMIT = 5  # failures per name and window
WINDOW = 15 * 60.0
MAX_KEYS = 10_000  # keys remembered; the least recently failed are forgotten first


class LoginLimiter:
    def __init__(
        self,
        clock: Clock,
        *,
        address_limit: int = ADDRESS_LIMIT,
        name_limit: int = NAME_LIMIT,
        window: float = WINDOW,
    ) -> None:
        self.clock = clock
        self.limits = {"addr": address_limit, "name": name_limit}
        self.window = window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str, name: str | None) -> float | None:
        """Seconds until an attempt from `address` for `name` (None: no name, such as an
        admin token) is allowed; None: now."""
        now = self.clock.monotonic()
        waits = [
            self._wait(key, self.limits[key.partition(":")[0]], now) for key in _keys(address, name)
        ]
        longest = max(waits)
        return longest if longest > 0 else None

    def failed(self, address: str, name: str | None) -> None:
        now = self.clock.monotonic()
        for key in _keys(address, name):
            times = self._failures.pop(key, None) or deque()
            times.append(now)
            self._failures[key] = times  # now the most recent
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"name:{name.lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        return 0.0 if len(times) < limit else times[len(times) - limit] + self.window - now


def _keys(address: str, name: str | None) -> list[str]:
    return [f"addr:{address}"] if name is None else [f"addr:{address}", f"name:{name.lower()}"]
