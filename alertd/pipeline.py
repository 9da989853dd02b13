"""The core of `alertd run` (alertd.core.Core): rules, engine, state, outbox, dispatcher, and
the incidents that follow the pages (alertd.incidents: acks, escalation, timers).

    events -> Engine (windows in SQLite) -> fired alerts -> Incidents (plan, render) -> outbox
           ^ committed before the 202: all of it is on disk         -> Dispatcher -> channels
    act (API, CLI, ...) and due timers -> Incidents -> alert, timeline, outbox, next timer
    a rule's `resolve` (decisions, timers) -> RuleResolving -> Incidents.act(resolve)
    silences (API, CLI, console) -> Silences (table, and an index in memory) <- Incidents asks

The state store and the outbox share one SQLite file, so a batch's window changes, its alerts
and their notifications commit together or not at all; only after the commit is the dispatcher
handed the new notifications (in memory: it never reads the hot path back from the outbox).
Batches that arrive together share one commit (group commit, see `ingest`); every write's BEGIN
and COMMIT run in a worker thread (`_transact`). The dispatcher keeps its own connections for
its bookkeeping. One daemon per state file: the pipeline holds its lock while it runs.

When the state cannot be written (a full disk, a read-only file, an I/O error: StateStoreError),
the batches that could not be recorded are refused (the API's 503), nothing of them is kept, and
every write reports to `health` (alertd.state_health), which logs the outage once and tells
/readyz; the next batch that commits ends it, as does any other write that commits, but on a
full disk only once no batch has been refused for a while (`check_state` tries one when
nothing else does).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from alertd import metrics
from alertd.clock import Clock, SteadyClock
from alertd.config import ConfigError, Settings, StateSettings
from alertd.core import (
    Acted,
    AlertChange,
    AlertDetail,
    ChangePage,
    RuleProblem,
    RulesInvalid,
    SilenceExpired,
    Tried,
)
from alertd.dsl import RuleErrors, load_draft, load_rules, mismatch_counts
from alertd.dsl.schema_check import schema_problems
from alertd.engine.absence import ABSENT
from alertd.engine.engine import Engine, tally
from alertd.engine.errors import InvalidBatch, InvalidEvent, StateStoreError
from alertd.engine.ids import new_alert_id
from alertd.engine.ruleset import RuleSet
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import AlertPage, AlertQuery, AlertRecord, Timer
from alertd.engine.touched import touched
from alertd.engine.verdicts import WhatIf, what_if
from alertd.eventschema import load_schema
from alertd.feed import ChangeFeed
from alertd.incidents import (
    Action,
    ActionRefused,
    Incidents,
    Setup,
    TimerLoop,
    Timers,
    TimerSource,
    Transition,
    full_timeline,
)
from alertd.incidents.lifecycle import DONE
from alertd.incidents.resolving import RuleResolving
from alertd.model import Alert, Decision, DecisionKind, GroupKey, Key, Rule, shown_path
from alertd.notify.channels import ChannelConfigError, build_channels
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.errors import TemplateError, TemplateProblem
from alertd.notify.notification import DeliveryState, Notification
from alertd.notify.outbox import Outbox, OutboxLog, create_schema, node_name, purge
from alertd.notify.render import Renderer
from alertd.oncall import OnCall, escalation_policies, load_oncall, recipient_groups
from alertd.respond.codes import CodeLookup, ReplyCodes
from alertd.respond.links import link_secret
from alertd.respond.stamp import Stamper
from alertd.silences import Listed, Silences, SilenceState, SilenceTable, read_draft
from alertd.sqlitedb import StateLock, write_probe
from alertd.state_health import StateHealth, StateProblem
from alertd.storms.held import HeldLog
from alertd.storms.holds import Holds

log = logging.getLogger("alertd.daemon")

T = TypeVar("T")

DRAFT_PATH = "playground.rules"  # what errors in rules tried before they are saved call them

CLOCK_STEP = 1.0
"""Seconds the wall clock must have been stepped by for the steady clock's distance from it to
be recorded again (NTP slews the two clocks alike; only a step moves them apart)."""

SWEEP_BATCH = 250
"""Rows of each kind (windows, alerts, alert changes, notifications) one slice of the sweep
deletes, each slice a transaction: a flood's slices took at most 4.3 ms of the event loop's
CPU with 250, 9.5 ms with 500 (bench/flood_bench.py)."""

FEED_POLL = 0.1
"""Seconds between readings of the alert change feed while a reader waits for changes, when
several daemons share the state (PostgreSQL: alertd.feed): other daemons' changes, and this
one's once they are final. Not a NOTIFY per commit: PostgreSQL serializes the commits of every
transaction that notifies (one lock for them all), which would serialize every node's commits."""

TIMER_BATCH = 50
"""Timers run per transaction; when more are due, another transaction follows at once, after
the event loop has served what waits. An escalation step costs ~0.2 ms of the loop (render,
outbox row, alert, timeline, next timer): 50 keep a sweep's hold on it near 10 ms in a
catch-up (bench/escalation_bench.py; 500 held it ~90 ms)."""

TIMER_SLICE = 0.003
"""Seconds after which a timer sweep takes no more timers (the one under way finishes): a
group's release renders one message of all its alerts, ~3 ms for 30, so 50 releases held the
loop 135 ms in a flood; the longest slice is this plus one release: 10.8 ms of CPU with 5 ms,
6.8 ms with 3 ms, in the same flood on a busy machine (bench/flood_bench.py)."""


class Pipeline:
    """The daemon's Core, in plain data. Not thread-safe: the event loop is its only caller."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        rules, self.renderer, self.oncall = load(settings)
        try:  # before the state is opened, so that a refusal leaves nothing behind
            channels = build_channels(settings, clock)
        except ChannelConfigError as error:
            raise ConfigError(f"{settings.source}: {error}") from None
        state = settings.state
        try:
            self._link_secret = link_secret(settings)
        except OSError as error:
            raise ConfigError(f"cannot make the action links' secret: {error}") from None
        # One daemon per SQLite file; on PostgreSQL, as many as share the database, and
        # each one's outcome journal (beside `path`) is its own.
        try:
            self._file_lock = None if state.url else StateLock(state.path)
        except StateStoreError as error:
            raise ConfigError(str(error)) from None
        try:
            self.store = open_store(state)
            create_schema(self.store.connection)
            self.feed = ChangeFeed(self.store.connection)
            self.outbox = Outbox(state.path, busy_timeout=state.busy_timeout, url=state.url or None)
        except StateStoreError as error:
            if self._file_lock is not None:
                self._file_lock.release()
            raise ConfigError(str(error)) from None
        self.health = StateHealth(clock)
        self.dispatcher = Dispatcher(
            settings, self.outbox, clock, channels=channels, health=self.health
        )
        # The steady clock goes on at the distance from the wall clock the last run recorded.
        self._steady_ahead = self.store.steady_ahead()
        self.steady = SteadyClock(clock, self._steady_ahead)
        self.timers = Timers(self.store, self.steady)
        # Event time's now is the steady clock's: absent rules' deadlines (timers, in event
        # time) are held to it, and an event without a timestamp is stamped with its arrival
        # on it, so that a step of the wall clock neither makes every key's newest match look
        # an hour old nor stamps matches an hour off (alertd.clock.SteadyClock). A deadline
        # that passed while the daemon was down waits one more DURATION from now
        # (alertd.engine.absence).
        self.engine = Engine.configured(
            RuleSet(rules),
            self.store,
            settings.engine,
            live=True,
            timers=self.timers,
            wall=self.steady.now,
            started=self.steady.now(),
            stamp=self.steady.from_wall,
        )
        self.timers.handle(ABSENT, self._absence_due)
        self._timer_decisions: list[Decision] = []  # of the sweep under way, for after it
        self.silences = Silences(SilenceTable(self.store.connection), self.oncall)
        self.silences.load(clock.now())
        self.incidents = Incidents(
            self.store,
            OutboxLog(self.store.connection),
            self.timers,
            clock,
            Setup(settings, self.renderer, self.oncall),
            silences=self.silences,
        )
        # Alerts recorded silenced in the transaction under way, counted once it commits.
        self._silenced: list[AlertRecord] = []
        self.incidents.silenced_listeners.append(self._silenced.append)
        # Every source of timers the timer loop sleeps for: the timer table (escalation steps
        # and whatever else sets a timer), and the engine's deadlines once it keeps some.
        self.resolving = RuleResolving(self.store, self.timers, self._resolve_as_rule)
        self.incidents.resolved_listeners.append(lambda record, _via: self.resolving.closed(record))
        self.timer_sources: list[TimerSource] = [self.timers]
        self.timer_loop = TimerLoop(clock, self.steady, self.next_timer_due, self.run_due_timers)
        self.timers.on_set(self.timer_loop.nearer)
        self.incidents.change_listeners.append(self.feed.record)
        self.held = HeldLog(self.store.connection)
        self.holds = Holds(self.store, self.held, self.timers, clock, lambda: self.incidents.setup)
        self.incidents.holds = self.holds
        self.reply_codes = ReplyCodes(self.store.connection)
        self.incidents.stamps.append(Stamper(settings, self.reply_codes, self._link_secret))
        self.incidents.resolved_listeners.append(self._free_reply_codes)
        self._mismatches_seen: dict[str, int] = {}
        self._rule_errors_seen: dict[str, int] = {}
        self._waiting: list[_Ticket] = []
        self._committer: asyncio.Task[None] | None = None
        self._following: asyncio.Task[None] | None = None  # see `wait_for_changes`
        self._feed_readers = 0
        # The store's connection is used by one thing at a time: a group of batches being
        # committed, a query, an ack, a reload or a sweep.
        self._store_lock = asyncio.Lock()

    def _free_reply_codes(self, record: AlertRecord, via: str) -> None:
        """An alert resolved: its SMS reply codes are free for the next alerts."""
        self.reply_codes.free(record.alert.id, self.clock.now())

    # --- events in ---------------------------------------------------------------------------

    async def ingest(self, events: list[dict[str, Any]], received_at: float) -> list[str]:
        """Evaluate and record a batch; returns once it is committed (group commit).

        The batch is validated first, before it waits for anything or opens anything: an
        invalid one raises InvalidBatch at once. Batches that arrive while the previous group
        is being written share one transaction and so one disk sync; each is a savepoint of
        its own inside it, so a failing batch fails alone. Every batch is answered: with its
        alerts once the commit is done, or with StateStoreError (the API's 503) when its group
        could not be recorded.
        """
        times = self.engine.validate(events, received_at)
        ticket = _Ticket(events, times, received_at, asyncio.get_running_loop().create_future())
        self._waiting.append(ticket)
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_groups(), name="group-commit")
        return await ticket.done

    def invalid_events(
        self, events: Sequence[dict[str, Any]], received_at: float
    ) -> Sequence[tuple[int, InvalidEvent]]:
        """What `ingest` would refuse among these events, checked as it checks them."""
        try:
            self.engine.validate(events, received_at)
        except InvalidBatch as invalid:
            return invalid.errors
        return ()

    async def explain(self, event: dict[str, Any], received_at: float) -> WhatIf:
        async with self._store_lock:  # the windows as committed, not a group half-staged
            return what_if(self.engine, event, received_at)

    async def try_rules(self, text: str, event: dict[str, Any], received_at: float) -> Tried:
        settings = self.settings
        rules, errors = load_draft(
            text,
            DRAFT_PATH,
            shared=list(settings.rules.paths),
            channels=settings.channel_names(),
            groups=recipient_groups(settings.recipients, self.oncall),
            timestamp_field=settings.engine.timestamp_field,
            templates=settings.rules.templates,
            policies=escalation_policies(self.oncall),
        )
        if not errors and settings.rules.schema is not None:
            schema, _ = load_schema(settings.rules.schema)  # its own errors: alertd check's
            if schema is not None:
                errors = schema_problems(rules, schema)
        if errors:
            return Tried(tuple(error.format() for error in errors))
        if not rules:
            return Tried(
                (f"{DRAFT_PATH}: error: no rule: write one, such as rule r {{ when ... }}",)
            )
        async with self._store_lock:
            return Tried((), what_if(self.engine, event, received_at, RuleSet(rules)))

    async def _commit_groups(self) -> None:
        """Commit the waiting batches a group at a time until none wait. Every batch taken is
        answered, whatever fails; if this task is cancelled, those not answered are cancelled."""
        group: list[_Ticket] = []
        try:
            while self._waiting:
                async with self._store_lock:
                    group, self._waiting = self._waiting, []
                    try:
                        staged = await self._transact(
                            partial(self._stage, group), hold=self._keys_of(group), intake=True
                        )
                    except Exception as error:
                        self._refuse(group, error)
                        continue
                    finally:
                        self._silenced.clear()
                self._hand_over(group, staged)
        finally:
            self._committer = None
            for ticket in (*group, *self._waiting):
                if not ticket.done.done():
                    ticket.done.cancel()

    async def _transact(
        self, work: Callable[[], T], hold: Collection[tuple[str, Key]] = (), intake: bool = False
    ) -> T:
        """`work()` inside one store transaction, with the store lock held.

        BEGIN (which waits for the write lock, up to the busy timeout), holding the keys
        `hold` (which waits for other daemons' transactions on them: alertd.engine.pg_store)
        and COMMIT (the disk sync) run in a worker thread, so the event loop goes on serving
        and delivering meanwhile; `work` runs on the loop. When anything fails, nothing is
        kept. Whether the state took the write is reported to `health` (`intake`: the write
        is a group of batches of events, which ends an outage whatever the others do).
        """
        store = self.store
        changes = store.connection.total_changes
        try:
            await _in_thread(store.begin)
            if hold:
                await _in_thread(partial(store.hold_keys, hold))
            result = work()
            await _in_thread(store.commit)
        except BaseException as error:
            store.rollback()  # a no-op when BEGIN failed or COMMIT rolled back itself
            self.feed.rolled_back()
            if isinstance(error, StateStoreError):
                self.health.failed(error)
            raise
        self.feed.committed()
        if store.connection.total_changes != changes:  # it wrote: the state takes writes
            self.health.succeeded(intake)
        return result

    def _keys_of(self, group: list[_Ticket]) -> Collection[tuple[str, Key]]:
        """The keys whose windows the group may touch, when other daemons write them too (see
        alertd.engine.pg_store); none to hold when this daemon is the only writer."""
        if not self.store.shared:
            return ()
        return touched(self.engine.rules, (event for ticket in group for event in ticket.events))

    def _stage(self, group: list[_Ticket]) -> list[_Staged | Exception]:
        return [self._stage_one(ticket) for ticket in group]

    def _stage_one(self, ticket: _Ticket) -> _Staged | Exception:
        """One batch inside the group's transaction, in a savepoint of its own."""
        notifications: list[Notification] = []
        mark = len(self._silenced)
        try:
            with self.store.transaction():
                recorded = self.engine.record_valid(ticket.events, ticket.times, ticket.received_at)
                alerts = recorded.alerts
                self.feed.record_all([(alert.id, "fired", ticket.received_at) for alert in alerts])
                by_id = self.engine.rules.by_id
                if alerts:
                    notifications = self.incidents.fired(
                        [
                            (alert, _policy(_grouped(alert, by_id.get(alert.rule_id))))
                            for alert in alerts
                        ],
                        ticket.received_at,
                    )
                # After `fired`: an alert that fired and resolved in one batch was paged first.
                notifications += self.resolving.decided(recorded.decisions, by_id)
        except StateStoreError as error:  # the state's condition, not the batch's fault
            self.health.failed(error)
            del self._silenced[mark:]
            return error
        except Exception as error:
            log.exception("cannot evaluate a batch", extra={"events": len(ticket.events)})
            del self._silenced[mark:]
            return error
        return _Staged(alerts, recorded.counts, notifications, self._silenced[mark:])

    def _hand_over(self, group: list[_Ticket], staged: list[_Staged | Exception]) -> None:
        """After the commit: answer each batch, hand its notifications to the dispatcher and
        count its decisions; then, once the answers are on their way, log its alerts.

        The batch is on disk by now, so it is answered as accepted whatever happens next: a
        503 would have the sender retry it, and page twice. Should handing over fail, the
        dispatcher reads the notifications back from the outbox instead. The log lines (one
        per alert, ~8 us each: 4 ms for a batch of 500) wait for the next turn of the event
        loop, so neither the 202 nor an urgent page of the batch waits for them.
        """
        fired: list[Alert] = []
        for ticket, outcome in zip(group, staged, strict=True):
            if isinstance(outcome, Exception):
                if isinstance(outcome, StateStoreError):
                    self.health.refused()
                _settle(ticket, outcome)
                continue
            _settle(ticket, [alert.id for alert in outcome.alerts])
            try:
                self.dispatcher.submit(outcome.notifications)
                _count_silenced(outcome.silenced)
                self._count(outcome.counts)
            except Exception:
                log.exception("cannot hand a recorded batch over; reading the outbox instead")
                self.dispatcher.wake()
            silenced = {record.alert.id for record in outcome.silenced}
            fired += [alert for alert in outcome.alerts if alert.id not in silenced]
        if fired:
            asyncio.get_running_loop().call_soon(_log_alerts, fired)

    def _refuse(self, group: list[_Ticket], error: Exception) -> None:
        """A group could not be recorded (nothing of it was): each batch is refused with the
        error, the API's 503 when the state cannot be written (logged once per outage, by
        `health`), or its 500 for any other error (a bug, logged here)."""
        if isinstance(error, StateStoreError):
            self.health.refused(len(group))
        else:
            log.error(
                "cannot record a group of batches; each is refused",
                exc_info=error,
                extra={"batches": len(group), "error": str(error)},
            )
        for ticket in group:
            _settle(ticket, error)

    def _count(self, counts: Mapping[tuple[str, DecisionKind], int]) -> None:
        """Count decisions, `{(rule id, kind): n}`, and the errors rules met meanwhile."""
        for (rule_id, kind), count in counts.items():
            metrics.RULE_DECISIONS.labels(rule_id, kind).inc(count)
        metrics.count_growth(metrics.EVALUATION_ERRORS, mismatch_counts(), self._mismatches_seen)
        metrics.count_growth(metrics.RULE_ERRORS, self.engine.rule_errors, self._rule_errors_seen)

    # --- queries -----------------------------------------------------------------------------

    async def alerts(self, query: AlertQuery) -> AlertPage:
        async with self._store_lock:
            return self.store.list_alerts(query)

    async def alert(self, alert_id: str) -> AlertDetail | None:
        async with self._store_lock:
            return self._detail(alert_id)

    def _detail(self, alert_id: str) -> AlertDetail | None:
        record = self.store.get_alert(alert_id)
        if record is None:
            return None
        deliveries = [self._on_wall_clock(d) for d in self.outbox.states(alert_id)]
        timeline = full_timeline(record, self.store.timeline(alert_id), deliveries)
        due = self.incidents.next_step_due(alert_id)
        if due is not None:
            due = self.steady.to_wall(due)
        return AlertDetail(record, deliveries, timeline, due)

    def _on_wall_clock(self, delivery: DeliveryState) -> DeliveryState:
        """A held notification's release time is its timer's, on the steady clock: shown as
        the wall clock reads it."""
        if delivery.state != "held" or delivery.next_attempt_at is None:
            return delivery
        return replace(delivery, next_attempt_at=self.steady.to_wall(delivery.next_attempt_at))

    async def act(self, alert_id: str, action: Action, by: str, via: str) -> Acted | None:
        """One action on an alert, in a transaction of its own; its notifications go to the
        dispatcher once it commits. Raises ActionRefused (alertd.incidents), changing nothing."""
        async with self._store_lock:
            done = await self._transact(partial(self.incidents.act, alert_id, action, by, via))
            detail = None if done is None else self._detail(alert_id)
        if done is None or detail is None:
            return None
        self.dispatcher.submit(done.notifications)
        _log_transition(done, by, via)
        return Acted(detail, done.changed, done.message)

    def _resolve_as_rule(self, alert_id: str, rule_id: str, via: str) -> list[Notification]:
        """A rule's `resolve` (via rule or timer) resolves its alert, as any resolve does."""
        try:
            done = self.incidents.act(alert_id, "resolve", rule_id, via)
        except ActionRefused:  # never for a resolve; should the table change, nothing to do
            return []
        if done is None:  # pruned meanwhile
            return []
        if done.changed:
            _log_transition(done, rule_id, via)
        return list(done.notifications)

    async def reply_code(self, number: str, code: int) -> CodeLookup:
        async with self._store_lock:
            return self.reply_codes.lookup(number, code)

    def person_at(self, channel: str, address: str) -> str | None:
        if self.oncall is None:
            return None
        person = self.oncall.owner(channel, self.settings.channel_kind(channel), address)
        return None if person is None else person.id

    def rules(self) -> Sequence[Rule]:
        return self.engine.rules.rules

    async def alert_changes(self, after: int | None, limit: int) -> ChangePage:
        async with self._store_lock:
            if self.store.shared:  # other daemons' changes too (no NOTIFY tells of them)
                self.feed.refresh()
            position = self.feed.position(after)
            if after is None:
                return ChangePage((), position.cursor, position.complete)
            changes = self.feed.after(position.cursor, limit)
            records = {c.alert_id: self.store.get_alert(c.alert_id) for c in changes}
        found = [
            AlertChange(c.cursor, c.change, c.at, record)
            for c in changes
            if (record := records[c.alert_id]) is not None  # None: pruned meanwhile
        ]
        cursor = changes[-1].cursor if changes else position.cursor
        return ChangePage(found, cursor, position.complete)

    async def wait_for_changes(self, after: int) -> None:
        if not self.store.shared:  # every change is this daemon's: its commits wake readers
            await self.feed.wait_past(after)
            return
        self._feed_readers += 1
        if self._following is None:
            self._following = asyncio.create_task(self._follow_feed(), name="feed-follow")
        try:
            await self.feed.wait_past(after)
        finally:
            self._feed_readers -= 1

    async def _follow_feed(self) -> None:
        """Read the feed's newest final change every FEED_POLL seconds while readers wait."""
        try:
            while self._feed_readers:
                try:
                    async with self._store_lock:
                        self.feed.refresh()
                except StateStoreError:  # the state cannot be read now: try again later
                    pass
                await asyncio.sleep(FEED_POLL)
        finally:
            self._following = None

    # --- rules -------------------------------------------------------------------------------

    async def reload_rules(self) -> int:
        rules, renderer, oncall = load(self.settings)
        async with self._store_lock:
            previous = self.engine.rules
            try:
                await self._transact(lambda: self.engine.replace_rules(RuleSet(rules)))
            except BaseException:  # nothing of the reload was kept: the old rules go on
                self.engine.keep_rules(previous)
                raise
            self.renderer, self.oncall = renderer, oncall
            self.incidents.setup = Setup(self.settings, renderer, oncall)
            self.silences.use_oncall(oncall)
        return len(rules)

    # --- silences ----------------------------------------------------------------------------

    async def add_silence(self, request: Mapping[str, Any], via: str | None = None) -> Listed:
        """Check and store a silence (alertd.silences.drafts); from the commit on, it silences.
        Raises InvalidSilence with every problem, storing nothing."""
        now = self.clock.now()
        silence = read_draft(request, now, new_alert_id(now), via=via)
        async with self._store_lock:
            await self._transact(partial(self.silences.table.add, silence))
            self.silences.remember(silence)
        log.info(
            "silence added",
            extra={
                "silence": silence.id,
                "by": silence.created_by,
                "via": silence.created_via,
                "state": silence.state(now),
            },
        )
        return Listed(silence, silence.state(now))

    async def silences_listed(self, state: SilenceState | None = None) -> list[Listed]:
        async with self._store_lock:
            return self.silences.listed(self.clock.now(), state)

    async def silence(self, silence_id: str) -> Listed | None:
        async with self._store_lock:
            return self.silences.get(silence_id, self.clock.now())

    async def expire_silence(self, silence_id: str) -> SilenceExpired | None:
        """End a silence now. None if there is none; SilenceRefused for a maintenance window."""
        now = self.clock.now()
        async with self._store_lock:
            done = await self._transact(partial(self.silences.expire, silence_id, now))
            if done is None:
                return None
            silence, changed = done
            if changed:
                self.silences.remember(silence)
        if changed:
            log.info("silence expired", extra={"silence": silence_id})
        return SilenceExpired(Listed(silence, silence.state(now)), changed)

    # --- delivery and upkeep -----------------------------------------------------------------

    def outbox_depth(self) -> int:
        return self.dispatcher.depth

    def state_problem(self) -> StateProblem | None:
        return self.health.problem

    async def check_state(self) -> None:
        """During an outage, write a probe row: the outage ends if the state takes it (on a
        full disk, once no batch has been refused for state_health.QUIET). Else ask
        the database whether it answers (a read: a database server can go away while nothing
        is written, and /readyz should say so before an event finds out). Raises
        StateStoreError, an outage's beginning when it is the first."""
        now = self.clock.now()
        async with self._store_lock:
            if self.health.problem is not None:
                await self._transact(lambda: write_probe(self.store.connection, now))
                return
            connection = self.store.connection
            try:
                await _in_thread(lambda: connection.execute("SELECT 1").fetchone())
            except StateStoreError as error:
                self.health.failed(error)
                raise

    async def sweep(self) -> None:
        """Evict expired windows; delete alerts, finished notifications and silences that ended
        past retention.

        In slices of at most SWEEP_BATCH rows of each, each slice a transaction of its own
        with the event loop free in between, so that a flood of keys expiring, or a day of
        alerts leaving the retention, never holds up ingest for long.
        """
        now = self.clock.now()
        horizon = now - self.settings.state.retention
        batch = SWEEP_BATCH

        def sweep_slice(first: bool) -> tuple[int, int, int, int, int]:
            silences = self.silences.prune(now, horizon) if first else 0  # few: at once
            if first:
                self.held.prune_sends(horizon)  # few: each cap forgets its own as it goes
            windows = self.engine.sweep(limit=batch)
            alerts = self.store.prune_alerts(horizon, batch)
            if alerts:
                self.reply_codes.prune()  # the codes of the alerts gone
            changes = self.feed.prune(horizon, batch)
            notifications = purge(self.store.connection, horizon, batch)
            return windows, alerts, changes, notifications, silences

        evicted = alerts = notifications = silences = 0
        first = True
        while True:
            async with self._store_lock:
                swept = await self._transact(partial(sweep_slice, first))
            first = False
            evicted, alerts, notifications = (
                evicted + swept[0],
                alerts + swept[1],
                notifications + swept[3],
            )
            silences += swept[4]
            if max(swept[:4]) < batch:
                break
            await asyncio.sleep(0)  # let the batches waiting for the store in first
        if evicted or alerts or notifications or silences:
            log.info(
                "state swept",
                extra={
                    "windows": evicted,
                    "alerts": alerts,
                    "notifications": notifications,
                    "silences": silences,
                },
            )

    async def deliver(self) -> None:
        await self.dispatcher.run()

    async def drain(self, grace: float) -> None:
        await self.dispatcher.drain(grace)

    async def run_timers(self) -> None:
        """The timer loop; and, when several daemons share the state, the listener that wakes
        it and the dispatcher when another daemon set a timer or let go of notifications."""
        if not self.settings.state.url:
            await self.timer_loop.run()
            return
        from alertd.pgdb import Listener  # noqa: PLC0415 (psycopg: ~0.1 s)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.timer_loop.run(), name="timer-loop")
            tasks.create_task(Listener(self.settings.state.url).run(self._told), name="listener")

    def _told(self, payload: str) -> None:
        """Another daemon said what it did (alertd.pgdb.Listener); "": it may have, unheard."""
        if payload in ("", "timers"):
            self.timer_loop.nearer(-math.inf)
        if payload in ("", "outbox"):
            self.dispatcher.wake()

    async def next_timer_due(self) -> float | None:
        """The earliest due of every timer source (steady time). The timer loop asks at every
        wake, so a step of the wall clock is recorded here (see `_record_clock_step`)."""
        async with self._store_lock:
            await self._record_clock_step()
            dues = [due for source in self.timer_sources if (due := source.next_due()) is not None]
        return min(dues, default=None)

    async def _record_clock_step(self) -> None:
        """When the wall clock was stepped, record how far the steady clock now is from it,
        so that the next run goes on with the same timeline and every due stored before keeps
        its delay (alertd.clock.SteadyClock). With the store lock held."""
        ahead = self.steady.ahead()
        if abs(ahead - self._steady_ahead) < CLOCK_STEP:
            return
        try:
            await self._transact(partial(self._clock_stepped, ahead, ahead - self._steady_ahead))
        except StateStoreError:
            return  # the state's outage, reported by `health`; tried again at the next wake
        log.warning(
            "the wall clock was stepped; timers go on counting their delays",
            extra={"step": round(self._steady_ahead - ahead, 3), "steady_ahead": round(ahead, 3)},
        )
        self._steady_ahead = ahead

    def _clock_stepped(self, ahead: float, shift: float) -> None:
        """Record the steady clock's new distance from the wall clock, and move the timers
        set for a time of the wall clock by as much (quiet hours' ends), in one transaction."""
        self.store.set_steady_ahead(ahead)
        self.holds.wall_clock_stepped(shift)

    async def run_due_timers(self, now: float | None = None) -> bool:
        """Run what is due at `now` (steady time; default: now) in one transaction, then hand
        its notifications to the dispatcher. True when more was due than one sweep takes."""
        if now is None:
            now = self.steady.now()

        def sweep(now: float) -> tuple[list[Notification], bool]:
            started = self.clock.monotonic()
            notifications: list[Notification] = []
            more = False
            for source in self.timer_sources:
                run = source.run_due(now, TIMER_BATCH, TIMER_SLICE)
                notifications += run.notifications
                more |= run.more
            metrics.TIMER_SWEEP_SECONDS.observe(self.clock.monotonic() - started)
            return notifications, more

        async with self._store_lock:
            try:
                notifications, more = await self._transact(partial(sweep, now))
                silenced = list(self._silenced)
                decided = list(self._timer_decisions)
            finally:
                self._silenced.clear()
                self._timer_decisions.clear()
        self.dispatcher.submit(notifications)
        _count_silenced(silenced)
        for decision in decided:
            if decision.alert is not None:
                _log_alert(decision.alert)
        self._count(tally(decided))
        return more

    def _absence_due(self, timer: Timer) -> list[Notification]:
        """An absent rule's deadline fell due (in the sweep's transaction): page for the key's
        silence when it fired."""
        decision = self.engine.absence_due(timer)
        if decision is None or decision.alert is None:
            return []
        alert, now = decision.alert, self.clock.now()
        self._timer_decisions.append(decision)
        self.feed.record(alert.id, "fired", now)
        policy = _policy(self.engine.rules.by_id.get(alert.rule_id))
        return self.incidents.fired([(alert, policy)], now)

    def close(self) -> None:
        self.outbox.close()
        self.store.close()
        if self._file_lock is not None:
            self._file_lock.release()


@dataclass(slots=True)
class _Ticket:
    """A batch waiting for its group's commit, validated: `times` are its events' times."""

    events: list[dict[str, Any]]
    times: list[float]
    received_at: float
    done: asyncio.Future[list[str]]


@dataclass(frozen=True, slots=True)
class _Staged:
    """What a batch recorded in its group's transaction, to hand over once it commits."""

    alerts: list[Alert]
    counts: Counter[tuple[str, DecisionKind]]  # its decisions, by rule and kind
    notifications: list[Notification]
    silenced: list[AlertRecord]  # of `alerts`, those a silence covered


def _settle(ticket: _Ticket, outcome: list[str] | Exception) -> None:
    if ticket.done.done():  # the client went away; its batch is recorded anyway
        return
    if isinstance(outcome, Exception):
        ticket.done.set_exception(outcome)
    else:
        ticket.done.set_result(outcome)


async def _in_thread(call: Callable[[], None]) -> None:
    """`call()` in a worker thread. Cancelled meanwhile, it still waits for the call to end
    before it raises CancelledError, so the store is never used by two threads at once."""
    running = asyncio.ensure_future(asyncio.to_thread(call))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait([running])
        raise


def open_store(state: StateSettings) -> SQLiteStore:
    """The state store `[state]` names: PostgreSQL's at `url`, else SQLite's at `path`.
    Raises StateStoreError."""
    if state.url:
        from alertd.engine.pg_store import PostgresStore  # noqa: PLC0415 (psycopg: ~0.1 s)

        return PostgresStore(state.url, lock_timeout=state.busy_timeout, node=node_name(state.path))
    return SQLiteStore(state.path, busy_timeout=state.busy_timeout)


def load(settings: Settings) -> tuple[list[Rule], Renderer, OnCall | None]:
    """Rules, templates and the on-call file, parsed, checked and compiled. Raises
    RulesInvalid with every error."""
    oncall, oncall_errors = load_oncall(settings)
    errors: list[RuleProblem] = [
        _problem(e.path, e.line, e.column, e.message, e.suggestion) for e in oncall_errors
    ]
    rules: list[Rule] = []
    try:
        rules = load_rules(
            list(settings.rules.paths),
            channels=settings.channel_names(),
            groups=recipient_groups(settings.recipients, oncall),
            timestamp_field=settings.engine.timestamp_field,
            templates=settings.rules.templates,
            policies=escalation_policies(oncall),
        )
    except RuleErrors as invalid:
        errors += [
            _problem(e.path, e.line, e.column, e.message, e.suggestion) for e in invalid.errors
        ]
    try:
        renderer = Renderer.load(settings.rules.templates, settings.notify)
    except TemplateError as invalid:
        errors += [_template_error(problem) for problem in invalid.problems]
    if errors:
        raise RulesInvalid(errors)
    return rules, renderer, oncall


def _grouped(alert: Alert, rule: Rule | None) -> Rule | None:
    """Give the alert the group its rule's `group by` puts it in (alertd.storms); the rule."""
    if rule is not None and rule.group is not None:
        alert.group = GroupKey(rule.group.key(alert.event), rule.group.wait)
    return rule


def _policy(rule: Rule | None) -> str | None:
    """The escalation policy a fired alert's rule names, if any."""
    return None if rule is None else rule.escalate


def _template_error(problem: TemplateProblem) -> RuleProblem:
    """A template file's problem at its line (1 when Jinja gives none; Jinja gives no column);
    a setting's problem (`[notify] timezone`) with no position."""
    if not Path(problem.path).is_file():
        return _problem(problem.path, 0, 0, problem.message)
    return _problem(problem.path, problem.line or 1, 1, problem.message)


def _problem(
    path: str, line: int, column: int, message: str, hint: str | None = None
) -> RuleProblem:
    """One problem, its path relative to the working folder (as `alertd check` shows it)."""
    return RuleProblem(shown_path(path), line, column, message, hint)


def _log_transition(done: Transition, by: str, via: str) -> None:
    alert = done.record.alert
    metrics.ALERT_ACTIONS.labels(done.action, via, "changed" if done.changed else "repeat").inc()
    log.info(
        f"alert {DONE[done.action]}" if done.changed else "alert unchanged",
        extra={
            "alert_id": alert.id,
            "detail": done.message,
            "rule": alert.rule_id,
            "action": done.action,
            "by": by,
            "via": via,
            "changed": done.changed,
            "status": done.record.status,
            "notifications": len(done.notifications),
        },
    )


def _log_alerts(alerts: list[Alert]) -> None:
    for alert in alerts:
        _log_alert(alert)


def _count_silenced(records: Sequence[AlertRecord]) -> None:
    """Count and log alerts recorded silenced (as they fired, or at an escalation step)."""
    for record in records:
        alert = record.alert
        metrics.ALERTS_SILENCED.labels(alert.rule_id).inc()
        log.info(
            "alert silenced",
            extra={
                "alert_id": alert.id,
                "rule": alert.rule_id,
                "priority": alert.priority,
                "key": alert.key,
                "silenced_by": record.silenced_by,
            },
        )


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
