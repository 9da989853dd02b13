"""The retry policy: which failures are tried again, when, and when to give up."""

from __future__ import annotations

import pytest

from alertd.notify.errors import DeliveryError
from alertd.notify.retry import RetryPolicy, http_error, is_retryable_status, parse_retry_after

NOW = 1_767_225_600.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (408, True), (429, True), (400, False),
     (401, False), (403, False), (404, False), (410, False), (301, False)],
)  # fmt: skip
def test_statuses_worth_retrying(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert parse_retry_after("2", NOW) == 2.0
    assert parse_retry_after(" 7 ", NOW) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_http_error_carries_status_detail_and_retry_after() -> None:
    error = http_error(429, {"retry-after": "2"}, "slow down\n please", NOW, provider="slack")
    assert str(error) == "slack answered HTTP 429: slow down please"
    assert error.retryable
    assert error.retry_after == 2.0
    assert error.status == 429


def test_a_permanent_error_fails_at_once() -> None:
    policy = RetryPolicy(max_attempts=5)
    verdict = policy.after_failure(DeliveryError("bad", retryable=False), attempts=1, age=0)
    assert verdict.state == "failed"


def test_retryable_errors_back_off_exponentially_within_bounds() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_initial=1.0, backoff_max=30.0)
    error = DeliveryError("down", retryable=True)
    delays = [policy.after_failure(error, attempts=n, age=0).delay for n in range(1, 10)]
    for attempt, delay in enumerate(delays, start=1):
        assert 1.0 <= delay <= min(30.0, 2 ** (attempt - 1))
    assert max(delays) > 4  # it does grow


def test_retry_after_is_honoured_instead_of_the_backoff() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_initial=0.1, backoff_max=0.5)
    error = DeliveryError("rate limited", retryable=True, retry_after=2.0)
    verdict = policy.after_failure(error, attempts=1, age=0)
    assert verdict.state == "pending"
    assert verdict.delay == 2.0


def test_gives_up_as_dead_after_max_attempts_or_max_age() -> None:
    policy = RetryPolicy(max_attempts=3, max_age=60)
    error = DeliveryError("down", retryable=True)
    assert policy.after_failure(error, attempts=2, age=0).state == "pending"
    assert policy.after_failure(error, attempts=3, age=0).state == "dead"
    assert policy.after_failure(error, attempts=1, age=61).state == "dead"
