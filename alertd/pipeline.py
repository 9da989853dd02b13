"""The evaluation and delivery stack `alertd run` holds: rules, engine, state, outbox, dispatcher.

    events -> Engine (windows in SQLite) -> fired alerts -> plan (render) -> outbox rows
           ^ committed before the 202: all of it is on disk            -> Dispatcher -> channels

The state store and the outbox share one SQLite file, so a batch's window changes, its alerts
and their notifications commit together or not at all; only after the commit is the dispatcher
handed the new notifications (in memory: it never reads the hot path back from the outbox).
Batches that arrive together share one commit (group commit, see `ingest`). The dispatcher
keeps its own connections for its bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alertd import metrics
from alertd.clock import Clock
from alertd.config import ConfigError, Settings
from alertd.daemon import RulesInvalid
from alertd.diagnostics import format_error
from alertd.dsl import RuleErrors, load_rules, mismatch_counts
from alertd.engine.engine import Engine
from alertd.engine.errors import InvalidBatch, InvalidEvent, StateStoreError
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import AlertQuery
from alertd.model import Alert, Decision, Rule
from alertd.notify.channels import ChannelConfigError, build_channels
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.errors import TemplateError, TemplateProblem
from alertd.notify.notification import Notification
from alertd.notify.outbox import Outbox, create_schema, enqueue
from alertd.notify.plan import plan
from alertd.notify.render import Renderer
from alertd.server.app import AlertPage, InvalidEvents
from alertd.server.views import alert_view, rule_view

log = logging.getLogger("alertd.daemon")


class Pipeline:
    """The daemon's Core. Not thread-safe: the daemon's event loop is its only caller."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        rules, self.renderer = load(settings)
        try:  # before the state is opened, so that a refusal leaves nothing behind
            channels = build_channels(settings, clock)
        except ChannelConfigError as error:
            raise ConfigError(f"{settings.source}: {error}") from None
        try:
            self.store = SQLiteStore(settings.state.path)
            create_schema(self.store.connection)
            self.outbox = Outbox(settings.state.path)
        except StateStoreError as error:
            raise ConfigError(str(error)) from None
        self.dispatcher = Dispatcher(settings, self.outbox, clock, channels=channels)
        self.engine = Engine.configured(RuleSet(rules), self.store, settings.engine, live=True)
        self._mismatches_seen: dict[str, int] = {}
        self._rule_errors_seen: dict[str, int] = {}
        self._waiting: list[_Ticket] = []
        self._committer: asyncio.Task[None] | None = None
        # The store's connection is used by one thing at a time: a group being committed (the
        # commit runs in a thread) or a query, an ack, a reload or a sweep.
        self._store_lock = asyncio.Lock()

    # --- events in ---------------------------------------------------------------------------

    async def ingest(self, events: list[dict[str, Any]], received_at: float) -> list[str]:
        """Evaluate and record a batch; returns once it is committed (group commit).

        Batches that arrive while the previous group is being written share one transaction
        and so one disk sync. Each batch is a savepoint of its own inside it, so a failing batch
        fails alone, and every batch is answered only after the commit. The commit (the sync)
        runs in a thread, so the event loop goes on serving and delivering meanwhile.
        """
        ticket = _Ticket(events, received_at, asyncio.get_running_loop().create_future())
        self._waiting.append(ticket)
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_groups(), name="group-commit")
        return await ticket.done

    def invalid_events(
        self, events: Sequence[dict[str, Any]], received_at: float
    ) -> list[dict[str, Any]]:
        """What `ingest` would refuse among these events, checked as it checks them."""
        errors: list[tuple[int, InvalidEvent]] = []
        for index, event in enumerate(events):
            try:
                self.engine.event_time(event, received_at)
            except InvalidEvent as error:
                errors.append((index, error))
        return _details(errors)

    async def _commit_groups(self) -> None:
        try:
            while self._waiting:
                async with self._store_lock:
                    group, self._waiting = self._waiting, []
                    outcomes = await self._commit(group)
                for ticket, outcome in zip(group, outcomes, strict=True):
                    if ticket.done.done():  # the client went away; its batch is recorded anyway
                        continue
                    if isinstance(outcome, Exception):
                        ticket.done.set_exception(outcome)
                    else:
                        ticket.done.set_result([alert.id for alert in outcome])
        finally:
            self._committer = None
            for ticket in self._waiting:  # only if this task itself was cancelled
                if not ticket.done.done():
                    ticket.done.cancel()

    async def _commit(self, group: list[_Ticket]) -> list[list[Alert] | Exception]:
        connection = self.store.connection
        connection.execute("BEGIN IMMEDIATE")  # batches below nest as savepoints
        recorded = [self._record(ticket) for ticket in group]
        try:
            await asyncio.to_thread(connection.execute, "COMMIT")
        except BaseException as error:
            connection.rollback()
            log.exception("cannot commit a group of batches", extra={"batches": len(group)})
            if not isinstance(error, Exception):
                raise
            return [error] * len(group)
        outcomes: list[list[Alert] | Exception] = []
        for outcome in recorded:
            if isinstance(outcome, Exception):
                outcomes.append(outcome)
                continue
            alerts, decisions, notifications = outcome
            self.dispatcher.submit(notifications)
            for alert in alerts:
                _log_alert(alert)
            self._count(decisions)
            outcomes.append(alerts)
        return outcomes

    def _record(
        self, ticket: _Ticket
    ) -> tuple[list[Alert], list[Decision], list[Notification]] | Exception:
        """One batch inside the group's transaction, in a savepoint of its own."""
        notifications: list[Notification] = []
        try:
            with self.store.transaction():
                decisions = self.engine.process_batch(ticket.events, ticket.received_at)
                alerts = [d.alert for d in decisions if d.alert is not None]
                if alerts:
                    notifications = [
                        n
                        for alert in alerts
                        for n in plan(alert, self.settings, self.renderer, ticket.received_at)
                    ]
                    enqueue(self.store.connection, notifications)
        except InvalidBatch as invalid:
            return InvalidEvents(_details(invalid.errors), len(ticket.events))
        except Exception as error:
            log.exception("cannot evaluate a batch", extra={"events": len(ticket.events)})
            return error
        return alerts, decisions, notifications

    def _count(self, decisions: Sequence[Any]) -> None:
        tally = Counter((d.rule_id, d.kind) for d in decisions)
        for (rule_id, kind), count in tally.items():
            metrics.RULE_DECISIONS.labels(rule_id, kind).inc(count)
        metrics.count_growth(metrics.EVALUATION_ERRORS, mismatch_counts(), self._mismatches_seen)
        metrics.count_growth(metrics.RULE_ERRORS, self.engine.rule_errors, self._rule_errors_seen)

    # --- queries -----------------------------------------------------------------------------

    async def alerts(self, query: AlertQuery) -> AlertPage:
        async with self._store_lock:
            page = self.store.list_alerts(query)
        return AlertPage([alert_view(r) for r in page.records], page.next_cursor)

    async def alert(self, alert_id: str) -> Mapping[str, Any] | None:
        async with self._store_lock:
            record = self.store.get_alert(alert_id)
        if record is None:
            return None
        return alert_view(record, self.outbox.states(alert_id))

    async def ack(self, alert_id: str, by: str) -> Mapping[str, Any] | None:
        async with self._store_lock:
            with self.store.transaction():
                record = self.store.ack_alert(alert_id, by, self.clock.now())
        if record is None:
            return None
        log.info("alert acknowledged", extra={"alert_id": alert_id, "by": by})
        return alert_view(record, self.outbox.states(alert_id))

    def rules(self) -> Sequence[Mapping[str, Any]]:
        return [rule_view(rule) for rule in self.engine.rules.rules]

    # --- rules -------------------------------------------------------------------------------

    async def reload_rules(self) -> int:
        rules, renderer = load(self.settings)
        async with self._store_lock:
            self.engine.replace_rules(RuleSet(rules))
        self.renderer = renderer
        return len(rules)

    # --- delivery and upkeep -----------------------------------------------------------------

    def outbox_depth(self) -> int:
        return self.dispatcher.depth

    async def sweep(self) -> None:
        """Evict expired windows; delete alerts and finished notifications past retention."""
        horizon = self.clock.now() - self.settings.state.retention
        async with self._store_lock:
            evicted = self.engine.sweep()
            with self.store.transaction():
                alerts = self.store.prune_alerts(horizon)
        notifications = self.outbox.purge(horizon)
        if evicted or alerts or notifications:
            log.info(
                "state swept",
                extra={"windows": evicted, "alerts": alerts, "notifications": notifications},
            )

    async def deliver(self) -> None:
        await self.dispatcher.run()

    async def drain(self, grace: float) -> None:
        await self.dispatcher.drain(grace)

    def close(self) -> None:
        self.outbox.close()
        self.store.close()


@dataclass(slots=True)
class _Ticket:
    """A batch waiting for its group's commit."""

    events: list[dict[str, Any]]
    received_at: float
    done: asyncio.Future[list[str]]


def _details(errors: Sequence[tuple[int, InvalidEvent]]) -> list[dict[str, Any]]:
    return [{"index": index, "error": str(error)} for index, error in errors]


def load(settings: Settings) -> tuple[list[Rule], Renderer]:
    """Rules and templates, parsed, checked and compiled. Raises RulesInvalid with every error."""
    errors: list[dict[str, Any]] = []
    rules: list[Rule] = []
    try:
        rules = load_rules(
            list(settings.rules.paths),
            channels=settings.channel_names(),
            groups=settings.recipients.keys(),
            timestamp_field=settings.engine.timestamp_field,
            templates=settings.rules.templates,
        )
    except RuleErrors as invalid:
        errors += [
            _error(e.path, e.line, e.column, e.message, e.suggestion) for e in invalid.errors
        ]
    try:
        renderer = Renderer.load(settings.rules.templates, settings.notify)
    except TemplateError as invalid:
        errors += [_template_error(problem) for problem in invalid.problems]
    if errors:
        raise RulesInvalid(errors)
    return rules, renderer


def _template_error(problem: TemplateProblem) -> dict[str, Any]:
    """A template file's problem at its line (1 when Jinja gives none; Jinja gives no column);
    a setting's problem (`[notify] timezone`) with no position."""
    if not Path(problem.path).is_file():
        return _error(problem.path, 0, 0, problem.message)
    return _error(problem.path, problem.line or 1, 1, problem.message)


def _error(
    path: str, line: int, column: int, message: str, hint: str | None = None
) -> dict[str, Any]:
    """One error as the API and the log show it, the path relative to the working folder; its
    hint, when there is one, on a second line of the text, as `alertd check` prints it."""
    with contextlib.suppress(ValueError):
        path = str(Path(path).relative_to(Path.cwd()))
    return {
        "path": path,
        "line": line,
        "column": column,
        "message": message,
        "text": format_error(path, line, column, message, hint),
    }


def _log_alert(alert: Alert) -> None:
    log.info(
        "alert fired",
        extra={
            "alert_id": alert.id,
            "rule": alert.rule_id,
            "priority": alert.priority,
            "key": alert.key,
            "suppressed_count": alert.suppressed_count,
            "channels": [target.channel for target in alert.notify],
        },
    )
