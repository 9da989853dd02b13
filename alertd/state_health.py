"""Whether the state store takes writes now: its outages, each logged when it begins and ends.

Every writer of the state reports what its writes did: the pipeline (group commits, acks,
reloads, sweeps and the probe the daemon runs) and the dispatcher's recorder of delivery
outcomes. `failed(error)` with the StateStoreError a write raised, `succeeded()` after a
write that changed something (a commit that changed nothing wrote nothing, and proves
nothing). An outage begins at the first failure and ends at the next success. Meanwhile
`/readyz` answers 503 with its reason, `alertd_state_unavailable` is 1, and the pipeline
counts the requests it refused (`refused`).

The log has two lines per outage, whatever the traffic: when it begins (the cause) and when it
ends (how long it lasted, how many requests were refused); a change of cause in between is a
third. Store-agnostic: it knows StateStoreError and its reason, which every store raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alertd import metrics
from alertd.clock import Clock
from alertd.engine.errors import WHY, StateReason, StateStoreError

log = logging.getLogger("alertd.state")


@dataclass(frozen=True, slots=True)
class StateProblem:
    """An outage of the state store, as /readyz shows it: the reason, the last error's message
    and when the outage began (wall time)."""

    reason: StateReason
    error: str
    since: float


class StateHealth:
    """The state store's outages, from what its writers report. Event loop only."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._problem: StateProblem | None = None
        self._began = 0.0  # on the monotonic clock
        self._refused = 0  # requests refused during this outage

    @property
    def problem(self) -> StateProblem | None:
        """The outage going on, or None when the last write succeeded."""
        return self._problem

    def failed(self, error: StateStoreError) -> None:
        """A write failed for `error`: an outage begins, or goes on (with its latest error)."""
        problem = self._problem
        if problem is None:
            self._problem = StateProblem(error.reason, str(error), self.clock.now())
            self._began = self.clock.monotonic()
            self._refused = 0
            metrics.STATE_UNAVAILABLE.set(1)
            metrics.STATE_OUTAGES.labels(error.reason).inc()
            log.error(
                "the state store cannot be written; events are refused until it can",
                extra={"reason": error.reason, "why": WHY[error.reason], "error": str(error)},
            )
            return
        if error.reason != problem.reason:
            log.error(
                "the state store still cannot be written, for another reason",
                extra={"reason": error.reason, "why": WHY[error.reason], "error": str(error)},
            )
        self._problem = StateProblem(error.reason, str(error), problem.since)

    def refused(self, requests: int = 1) -> None:
        """Requests were answered 503 because their batch could not be recorded."""
        self._refused += requests

    def succeeded(self) -> None:
        """A write that changed something committed: the outage, if any, is over."""
        problem = self._problem
        if problem is None:
            return
        self._problem = None
        metrics.STATE_UNAVAILABLE.set(0)
        log.info(
            "the state store can be written again",
            extra={
                "reason": problem.reason,
                "seconds": round(self.clock.monotonic() - self._began, 3),
                "refused_requests": self._refused,
            },
        )
