"""Whether the state store takes writes now: its outages, each logged when it begins and ends.

Every writer of the state reports what its writes did: the pipeline (group commits, acks,
reloads, sweeps and the probe the daemon runs) and the dispatcher's recorder of delivery
outcomes. `failed(error)` with the StateStoreError a write raised, `succeeded()` after a
write that changed something (a commit that changed nothing wrote nothing, and proves
nothing). An outage begins at the first failure. Meanwhile `/readyz` answers 503 with its
reason, `alertd_state_unavailable` is 1, and the pipeline counts the requests it refused
(`refused`); every write is still tried, and one refused continues the same outage.

When it ends: a batch of events that commits (`succeeded(intake=True)`) ends it at once, being
the write that was refused. Any other write (the daemon's probe, a delivery outcome, a sweep)
ends it too, except during a full disk when a batch was refused less than QUIET ago. A disk
can have room for a one-row probe and not for a sender's batch: were the probe to end the
outage, each probe would end it and each retry begin a new one (/readyz flapping 200/503, two
log lines and an outage counted per retry). The probe still ends it by itself once no batch
has been refused for QUIET, so a node that a load balancer stopped sending to, because of its
/readyz, turns ready again without one.

The log has two lines per outage, whatever the traffic: when it begins (the cause) and when it
ends (how long it lasted, how many requests were refused); a change of cause in between is a
third. Store-agnostic: it knows StateStoreError and its reason, which every store raises.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from alertd import metrics
from alertd.clock import Clock
from alertd.engine.errors import WHY, StateReason, StateStoreError

log = logging.getLogger("alertd.state")

QUIET = 10.0
"""Seconds without a batch refused after which a write other than a batch may end a full
disk's outage: twice the Retry-After (5 s) the refused are told, so that a sender retrying
as told is refused again (the outage going on) before a probe can end it."""


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
        self._last_refused = -math.inf  # when a batch was last refused (monotonic clock)

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
        self._last_refused = self.clock.monotonic()

    def succeeded(self, intake: bool = False) -> None:
        """A write that changed something committed (`intake`: a batch of events): the
        outage, if any, is over, unless the disk is full and this write proves less than the
        batch refused lately (see the module's docstring)."""
        problem = self._problem
        if problem is None:
            return
        if (
            not intake
            and problem.reason == "full"
            and self.clock.monotonic() - self._last_refused < QUIET
        ):
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
