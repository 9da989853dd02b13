"""The core: the evaluation and delivery stack as the HTTP API and the daemon call it.

    alertd.server (HTTP, JSON views)     alertd.daemon (lifecycle, signals, shedding, reloads)
                         \\                   /
                          Core  (this protocol; alertd.pipeline implements it)
                         /        |         \\
                   engine    state store    notify (outbox, dispatcher)

One interface, in plain data: the core answers with records (`AlertRecord`, `AlertDetail`,
`Rule`), never with the API's JSON, and knows nothing of HTTP. Its refusals are exceptions the
callers turn into answers:

    InvalidBatch      (alertd.engine.errors)  an event it cannot evaluate: the API's 400
    StateStoreError   (alertd.engine.errors)  the state cannot be used now: the API's 503,
                                              and an outage /readyz reports (state_problem)
    RulesInvalid      (here)                  broken rules, templates or on-call file: 422 on
                                              a reload, exit 1 at start
    ActionRefused     (alertd.incidents)      an action that does not apply to the alert as
                                              it is (ack of a resolved alert): the API's 409
    InvalidSilence    (alertd.silences)       a silence that cannot be made as asked: 400
    SilenceRefused    (alertd.silences)       expiring a maintenance window: 409

Nothing in or below the core imports alertd.server or alertd.daemon (tests/test_imports.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from alertd.diagnostics import format_error
from alertd.engine.errors import InvalidEvent
from alertd.engine.state import AlertPage, AlertQuery, AlertRecord, TimelineEntry
from alertd.engine.verdicts import WhatIf
from alertd.incidents.lifecycle import Action
from alertd.model import Rule
from alertd.notify.notification import DeliveryState
from alertd.respond.codes import CodeLookup
from alertd.silences.model import Listed, SilenceState
from alertd.state_health import StateProblem


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One error in the rules or templates, where it is (line and column 0 when unknown)."""

    path: str
    line: int
    column: int
    message: str
    hint: str | None = None

    @property
    def text(self) -> str:
        """As `alertd check` prints it: `path:line:col: error: message`, then the hint."""
        return format_error(self.path, self.line, self.column, self.message, self.hint)


class RulesInvalid(Exception):
    """The rules or templates cannot be loaded: every problem found."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        super().__init__(f"{len(problems)} rule errors")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    rules: int  # rules now running
    problems: Sequence[RuleProblem] = ()  # why the new set was refused

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """An alert, with the delivery state of each of its notifications (creation order), its
    timeline (oldest first) and when its next escalation step is due (None: none pending)."""

    record: AlertRecord
    deliveries: Sequence[DeliveryState]
    timeline: Sequence[TimelineEntry] = ()
    next_step_due: float | None = None


@dataclass(frozen=True, slots=True)
class Acted:
    """An action on an alert: the alert after it, whether it changed anything (a repeat, such
    as a second ack, does not), and what happened in words."""

    detail: AlertDetail
    changed: bool
    message: str


@dataclass(frozen=True, slots=True)
class AlertChange:
    """A change of an alert (alertd.feed), with the alert as it is now."""

    cursor: int
    change: str  # fired, acked, ...
    at: float
    record: AlertRecord


@dataclass(frozen=True, slots=True)
class ChangePage:
    """Alert changes past a cursor, oldest first. `cursor` is where to ask from next (the last
    change's, or the reader's own when there was none); `complete` is False when changes past
    the reader's cursor were pruned before it read them (the reader should start over)."""

    changes: Sequence[AlertChange]
    cursor: int
    complete: bool = True


@dataclass(frozen=True, slots=True)
class SilenceExpired:
    """A silence after an expire, and whether that changed it (one already over does not)."""

    listed: Listed
    changed: bool


@dataclass(frozen=True, slots=True)
class Tried:
    """Rules tried on an event before they are saved anywhere: their errors as `alertd check`
    prints them (`playground.rules:2:14: error: ...`, the line, a caret, a hint), and when
    they have none, what they would do with the event now."""

    errors: Sequence[str]
    outcome: WhatIf | None = None


class Core(Protocol):
    """Rules, engine, state store, outbox and dispatcher, behind one interface."""

    async def ingest(self, events: list[dict[str, Any]], received_at: float) -> list[str]:
        """Evaluate a batch and durably record its alerts and notifications together.

        Returns the ids of the alerts it fired, once committed. Raises InvalidBatch (recording
        nothing) when any event cannot be evaluated, StateStoreError when the batch could not
        be recorded (nothing of it was).
        """
        ...

    def invalid_events(
        self, events: Sequence[dict[str, Any]], received_at: float
    ) -> Sequence[tuple[int, InvalidEvent]]:
        """Each event `ingest` would refuse (its index, why), recording nothing."""
        ...

    async def explain(self, event: dict[str, Any], received_at: float) -> WhatIf:
        """What the event would do if it arrived now: the verdict of every rule of its scope,
        against the running rules and their live windows. Changes nothing (no window, alert,
        timer or metric). Raises InvalidEvent for an event `ingest` would refuse."""
        ...

    async def try_rules(self, text: str, event: dict[str, Any], received_at: float) -> Tried:
        """Rules written in `text`, checked with the lists and macros of the running rule files
        (and the event schema, if any), and when they check, the event's verdicts against them
        and the live windows of their ids, as `explain` gives them. Saves and changes nothing.
        Raises InvalidEvent for an event `ingest` would refuse."""
        ...

    async def alerts(self, query: AlertQuery) -> AlertPage: ...

    async def alert(self, alert_id: str) -> AlertDetail | None: ...

    async def act(self, alert_id: str, action: Action, by: str, via: str) -> Acted | None:
        """Do `action` (ack, unack, resolve, escalate) to an alert as `by` through `via` (api,
        cli, sms, slack, email, web). None if there is no such alert; raises ActionRefused
        when the action does not apply to it as it is, changing nothing."""
        ...

    async def reply_code(self, number: str, code: int) -> CodeLookup:
        """What an SMS reply code stands for on a phone number (alertd.respond.codes)."""
        ...

    def person_at(self, channel: str, address: str) -> str | None:
        """The id of the person of the on-call file whose address on `channel` is `address`
        (a phone number, a Slack user id, an email address); None when it is nobody's."""
        ...

    def rules(self) -> Sequence[Rule]:
        """The rules running now."""
        ...

    async def add_silence(self, request: Mapping[str, Any], via: str | None = None) -> Listed:
        """Make a silence from a request in the API's shape (alertd.silences.drafts), through
        `via` (web; None: the request's own `via`, api or cli). Raises InvalidSilence with
        every problem, storing nothing."""
        ...

    async def silences_listed(self, state: SilenceState | None = None) -> list[Listed]:
        """Every silence kept, and every maintenance window, in the API's order."""
        ...

    async def silence(self, silence_id: str) -> Listed | None:
        """One silence, or a maintenance window by `maintenance:NAME`; None if there is none."""
        ...

    async def expire_silence(self, silence_id: str) -> SilenceExpired | None:
        """End a silence now. None if there is none; raises SilenceRefused for a maintenance
        window."""
        ...

    async def alert_changes(self, after: int | None, limit: int) -> ChangePage:
        """Up to `limit` alert changes past the cursor `after`, oldest first. None is "from
        now": no changes, and the newest cursor to ask from next."""
        ...

    async def wait_for_changes(self, after: int) -> None:
        """Return once a change past the cursor `after` is committed (at once if one is)."""
        ...

    async def reload_rules(self) -> int:
        """Load, check and compile the configured rules and templates; swap them in if valid.

        Returns how many rules now run. Raises RulesInvalid, changing nothing.
        """
        ...

    def outbox_depth(self) -> int:
        """Notifications waiting to be delivered."""
        ...

    def state_problem(self) -> StateProblem | None:
        """Why the state cannot be written now (since its last write failed), else None."""
        ...

    async def check_state(self) -> None:
        """Try a write to the state during an outage, so that it can end when nothing else
        writes; outside one, whether its database answers. Raises StateStoreError if not."""
        ...

    async def sweep(self) -> None:
        """Evict expired windows and what is past retention."""
        ...

    async def deliver(self) -> None:
        """Send pending notifications (those left by a previous run first) until drained."""
        ...

    async def run_timers(self) -> None:
        """Run timers (escalation steps, ...) as they fall due, until cancelled."""
        ...

    async def drain(self, grace: float) -> None:
        """Send for up to `grace` seconds more, then end `deliver()`; the rest stays pending."""
        ...

    def close(self) -> None: ...
