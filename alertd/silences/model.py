"""Silences as plain data: what one says, its state at a moment, and what covered an alert.

A silence holds from `starts_at` (inclusive) to `ends_at` (exclusive), wall time in epoch
seconds; expiring it moves `ends_at` to the moment it was expired. Its state is only a function
of the time: `pending` before it starts, `active` while it holds, `expired` after. So nothing
has to run when a silence starts or ends: whoever asks, asks at a moment.

A maintenance window of oncall.toml (alertd.oncall.maintenance) is listed as a silence too,
`kind` `maintenance`, id `maintenance:NAME`, its times those of its current or next opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from alertd.oncall.model import Matcher

SilenceState = Literal["pending", "active", "expired"]
SILENCE_STATES: tuple[SilenceState, ...] = ("active", "pending", "expired")

SilenceKind = Literal["silence", "maintenance"]

MAINTENANCE_PREFIX = "maintenance:"
"""`silenced_by` and the listed id of a maintenance window: `maintenance:NAME`."""

SILENCE_VIAS: tuple[str, ...] = ("api", "cli", "web")
"""Through what a silence can be made: the HTTP API, the command line, the web console."""


@dataclass(frozen=True, slots=True)
class Silence:
    """One silence: all of its matchers must hold for an alert it covers."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str  # for a maintenance window: the on-call file's name
    comment: str
    created_at: float | None  # None for a maintenance window (the file says when it recurs)
    updated_at: float | None
    created_via: str | None = "api"
    kind: SilenceKind = "silence"
    recurs: str | None = None  # a maintenance window's days, hours and zone, as written

    def state(self, now: float) -> SilenceState:
        if now < self.starts_at:
            return "pending"
        if now < self.ends_at:
            return "active"
        return "expired"


@dataclass(frozen=True, slots=True)
class Listed:
    """A silence as it is at the moment it was read: its state then."""

    silence: Silence
    state: SilenceState


@dataclass(frozen=True, slots=True)
class Cover:
    """What silenced an alert: `by` is the silence's id or `maintenance:NAME` (the alert's
    `silenced_by`), with who made it, through what, and why."""

    by: str
    created_by: str | None
    created_via: str | None
    comment: str

    @property
    def maintenance(self) -> str | None:
        """The maintenance window's name, when a window covered it."""
        if not self.by.startswith(MAINTENANCE_PREFIX):
            return None
        return self.by.removeprefix(MAINTENANCE_PREFIX)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a silence as it was asked for: which field (`matchers[1].value`,
    `ends_at`), and what."""

    field: str
    error: str


class InvalidSilence(ValueError):
    """A silence that cannot be made as asked: every problem found (the API's 400)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.error}" for p in problems))
        self.problems = tuple(problems)


class SilenceRefused(Exception):
    """An action that does not apply to a silence (expiring a maintenance window); the message
    says why."""
