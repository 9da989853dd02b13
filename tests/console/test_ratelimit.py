"""Sign-in attempts limited per address and per name (alertd.console.ratelimit), on a fake clock."""

from __future__ import annotations

from alertd.clock import FakeClock
from alertd.console.ratelimit import LoginLimiter


def limiter(clock: FakeClock) -> LoginLimiter:
    return LoginLimiter(clock, address_limit=4, name_limit=2, window=60)


def test_a_name_is_refused_after_its_failures_until_the_oldest_leaves_the_window() -> None:
    clock = FakeClock()
    limits = limiter(clock)
    limits.failed("10.0.0.1", "alice")
    clock.advance(10)
    assert limits.retry_after("10.0.0.2", "alice") is None
    limits.failed("10.0.0.2", "Alice")  # names are limited whatever their case
    assert limits.retry_after("10.0.0.3", "alice") == 50  # the first failure leaves at 60
    assert limits.retry_after("10.0.0.3", "bob") is None
    clock.advance(50)
    assert limits.retry_after("10.0.0.3", "alice") is None


def test_an_address_is_refused_whatever_name_it_tries() -> None:
    clock = FakeClock()
    limits = limiter(clock)
    for name in ("a", "b", "c", "d"):
        limits.failed("10.0.0.1", name)
    assert limits.retry_after("10.0.0.1", "e") == 60
    assert limits.retry_after("10.0.0.1", None) == 60  # a token attempt: the address alone
    assert limits.retry_after("10.0.0.2", "e") is None


def test_a_success_clears_the_name_but_not_the_address() -> None:
    clock = FakeClock()
    limits = limiter(clock)
    limits.failed("10.0.0.1", "alice")
    limits.failed("10.0.0.1", "alice")
    limits.succeeded("alice")
    assert limits.retry_after("10.0.0.9", "alice") is None
    limits.failed("10.0.0.1", "x")
    limits.failed("10.0.0.1", "y")
    assert limits.retry_after("10.0.0.1", "z") == 60
