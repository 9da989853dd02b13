"""The one place that decides whether a failed send is tried again, and when.

Retryable: connection errors and timeouts (the channel modules raise those as retryable
`DeliveryError`s), HTTP 5xx, 408, 425 and 429. Everything else — a 400 for a bad payload, a 401
for a wrong token, a 404 for an unknown device — fails at once: sending it again would fail again.

The wait between attempts is tenacity's exponential backoff with full jitter, unless the provider
said how long to wait (`Retry-After`), which is honoured as given. A notification that keeps
failing is given up ("dead") after `max_attempts` attempts or once it is older than `max_age`.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import tenacity
from tenacity.wait import wait_base

from alertd.config import DispatchSettings
from alertd.notify.errors import DeliveryError

RETRYABLE_STATUSES = frozenset({408, 425, 429})
MAX_DETAIL_CHARS = 300  # of a provider's error body kept in last_error


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status means "try again later"."""
    return status >= 500 or status in RETRYABLE_STATUSES


def http_error(
    status: int, headers: Mapping[str, str], detail: str, now: float, *, provider: str
) -> DeliveryError:
    """The `DeliveryError` for an HTTP answer that was not a success."""
    detail = " ".join(detail.split())[:MAX_DETAIL_CHARS]
    message = f"{provider} answered HTTP {status}" + (f": {detail}" if detail else "")
    return DeliveryError(
        message,
        retryable=is_retryable_status(status),
        retry_after=parse_retry_after(_header(headers, "Retry-After"), now),
        status=status,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (some clients hand over plain dicts)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), else None."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


NotificationState = Literal["pending", "sent", "failed", "dead"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a notification after a failed attempt."""

    state: NotificationState  # "pending": try again after `delay` seconds
    delay: float = 0.0


class _WaitRetryAfter(wait_base):
    """The provider's `Retry-After` when it sent one, else the fallback backoff."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, DeliveryError) and error.retry_after is not None:
            return error.retry_after
        return float(self.fallback(retry_state))


def _retryable(error: BaseException) -> bool:
    return isinstance(error, DeliveryError) and error.retryable


class RetryPolicy:
    """Turns (error, attempts so far, age) into a `Verdict`, using tenacity's strategies.

    The attempts themselves are not run by tenacity: each attempt's outcome is recorded in the
    durable outbox, so a retry survives a restart; tenacity decides retry, stop and wait.
    """

    def __init__(
        self,
        *,
        max_attempts: int = 8,
        max_age: float = 86_400.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
    ) -> None:
        self.max_age = max_age
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retryable),
            stop=tenacity.stop_after_attempt(max(1, max_attempts)),
            wait=_WaitRetryAfter(
                tenacity.wait_random_exponential(
                    multiplier=backoff_initial, max=backoff_max, min=backoff_initial
                )
            ),
        )

    @classmethod
    def from_settings(cls, dispatch: DispatchSettings) -> RetryPolicy:
        return cls(
            max_attempts=dispatch.max_attempts,
            max_age=dispatch.max_age,
            backoff_initial=dispatch.backoff_initial,
            backoff_max=dispatch.backoff_max,
        )

    def after_failure(self, error: DeliveryError, attempts: int, age: float) -> Verdict:
        """`attempts` counts the one that just failed; `age` is seconds since the enqueue."""
        state = tenacity.RetryCallState(self._retrying, fn=None, args=(), kwargs={})
        state.attempt_number = attempts
        state.set_exception((type(error), error, error.__traceback__))
        if not self._retrying.retry(state):
            return Verdict("failed")
        if self._retrying.stop(state) or age >= self.max_age:
            return Verdict("dead")
        return Verdict("pending", float(self._retrying.wait(state)))
