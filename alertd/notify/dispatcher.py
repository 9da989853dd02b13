"""The dispatcher: sends what the outbox holds, with retries, per-channel lanes and a clock.

How the daemon drives it:

    dispatcher = Dispatcher(settings, Outbox(settings.state.path), clock)
    task = asyncio.create_task(dispatcher.run())  # first resumes every pending row
    ...  # per request: engine + enqueue(connection, notifications) in one transaction, commit
    dispatcher.submit(notifications)              # then: they go out at once, no polling
    dispatcher.wake()                             # or: rows were added some other way, read them
    dispatcher.depth                              # pending notifications (for backpressure)
    await dispatcher.drain(grace)                 # on shutdown; `run()` returns

Each channel has its own lane: its ready notifications, `concurrency` workers and a rate limit
(`[dispatch]`, overridable per `[channels.NAME]`), so a slow or dead provider only holds up
itself. A lane sends the most urgent priority first (`urgent`, `high`, `medium`, `low`) and the
oldest first within one, retries included: an urgent page waits for nothing but the sends
already in flight, however large a storm of lesser ones is queued before it. After a
failed attempt the retry policy decides: try again after a delay, or give up as `failed` /
`dead`. The delay is counted on the monotonic clock in memory, so a wall clock stepped an hour
neither sends every waiting retry at once nor holds them back an hour; the row keeps the wall
time it falls due at, which a restart reads (and the API shows). Committed notifications are
handed over in memory (`submit`), so the hot path never reads the outbox back; it is read at
start and on `wake()`.

Each attempt's outcome is appended to the outcome journal (alertd.notify.journal) as soon as the
provider answers, before the worker takes its next notification: from then on a kill -9 cannot
lose it, so after a crash only the sends that were in flight (at most a channel's
`concurrency`) go out again, with the same id (the webhook's `Idempotency-Key`). The outcomes
are written into the outbox table in batches by one recorder task, in a worker thread, so a
write waiting for the database lock (a group commit holds it while it syncs) never stalls the
event loop; at start, whatever the journal holds that the table lacks is written first.

When the database refuses the outcomes (a full disk, a read-only file: StateStoreError), sending
goes on: each outcome stays in memory (and in the journal, if it has room) and is written once
the database takes writes again, tried every RECORD_RETRY, backing off to RECORD_RETRY_MAX; the
refusal is reported to the state's health (alertd.state_health), which logs it once per outage.
The worst a kill -9 in an outage can do is what it does without one, plus sending again what
was sent since the journal stopped taking outcomes too.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import Counter
from collections.abc import Awaitable, Iterable, Mapping

from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import ConfigError, DispatchSettings, Settings
from alertd.engine.errors import StateStoreError
from alertd.metrics import DELIVERY_LATENCY, NOTIFICATIONS, OUTBOX_DEPTH
from alertd.model import PRIORITIES
from alertd.notify.channels import Channel, build_channel, build_channels
from alertd.notify.errors import ChannelConfigError, DeliveryError
from alertd.notify.journal import Journal
from alertd.notify.notification import PAGES, Notification
from alertd.notify.outbox import CLAIM_POLL, CLAIM_RENEW, AttemptResult, Outbox
from alertd.notify.retry import RetryPolicy, Verdict
from alertd.redact import public_recipient
from alertd.state_health import StateHealth
from alertd.wording import counted

log = logging.getLogger("alertd.notify")

LOAD_BATCH = 1000  # rows read from the outbox per query
RECORD_INTERVAL = 0.005  # seconds attempt results gather before they are committed together
RECORD_RETRY = 0.05  # seconds before a write the database refused is tried again
RECORD_RETRY_MAX = 1.0  # ... doubling while it keeps refusing (a full disk), up to this
EDITS_PAGES = frozenset({"slack"})  # kinds whose status updates edit the alert's pages
PAGE_WAIT = 0.1
"""Seconds a status update that edits its pages waits, again and again, while one of those
pages is still in hand (queued, in flight, or sent with its receipt not yet written)."""


class _Unavailable:
    """Stands in for a channel that cannot be built: each send fails, visibly."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    async def send(self, notification: Notification) -> str:
        raise DeliveryError(self.reason, retryable=False)

    async def aclose(self) -> None:
        return None


class _RateLimiter:
    """Spaces sends at least 1/rate seconds apart on the clock; rate 0 means no limit."""

    def __init__(self, rate: float, clock: Clock) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.next_free = 0.0

    async def acquire(self) -> None:
        if not self.interval:
            return
        now = self.clock.monotonic()
        slot = max(now, self.next_free)
        self.next_free = slot + self.interval
        if slot > now:
            await self.clock.sleep(slot - now)


class _Lane:
    """One channel's ready notifications, workers and rate limit.

    `ready` is a heap: the most urgent priority first, the oldest first within one (retries
    keep their creation time, so one that falls due goes ahead of younger notifications).
    """

    def __init__(self, channel: Channel, concurrency: int, rate: float, clock: Clock) -> None:
        self.channel = channel
        self.concurrency = max(1, concurrency)
        self.limiter = _RateLimiter(rate, clock)
        self.ready: list[tuple[int, float, int, Notification]] = []
        self.has_ready = asyncio.Event()
        self.busy = 0
        # Metric children looked up once: labels() costs more than the increment.
        self.sent = NOTIFICATIONS.labels(channel=channel.name, outcome="sent")
        self.latency = DELIVERY_LATENCY.labels(channel=channel.name)

    @property
    def idle(self) -> bool:
        return self.busy == 0 and not self.ready

    def put(self, notification: Notification) -> None:
        rank = _RANK.get(notification.priority, len(_RANK))
        heapq.heappush(self.ready, (rank, notification.created_at, notification.seq, notification))
        self.has_ready.set()

    async def wait_ready(self) -> None:
        while not self.ready:
            self.has_ready.clear()
            await self.has_ready.wait()


_RANK = {priority: rank for rank, priority in enumerate(reversed(PRIORITIES))}  # urgent: 0


class Dispatcher:
    """Delivers the outbox's pending notifications until drained or stopped.

    `channels` replaces the channels built from the config (tests, `send-test`); `health`
    is told whether the database takes the outcomes (the pipeline's, shared with its writes).
    """

    def __init__(
        self,
        settings: Settings,
        outbox: Outbox,
        clock: Clock = SYSTEM_CLOCK,
        *,
        channels: Mapping[str, Channel] | None = None,
        health: StateHealth | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.clock = clock
        self.health = health if health is not None else StateHealth(clock)
        self.policy = RetryPolicy.from_settings(settings.dispatch)
        self._channels: dict[str, Channel] = (
            dict(channels) if channels is not None else build_channels(settings, clock)
        )
        self._lanes: dict[str, _Lane] = {}
        # A heap by due time on the monotonic clock (the row has the wall time).
        self._retries: list[tuple[float, int, Notification]] = []
        self._high_water = 0  # the last outbox seq loaded
        self._pending = 0  # loaded and not yet finished
        # The rows this dispatcher holds, from when it takes them until their last outcome is
        # written, each with its `_page_of` if it is a page its status updates edit
        # (EDITS_PAGES). Several daemons: only these claims are renewed, and a look for
        # expired claims never takes one of them twice (its claim may have run out during an
        # outage). An update waits while `_paging` counts a page of its own in hand, so that
        # it finds the page's receipt and edits it rather than posting a message of its own.
        self._in_hand: dict[int, tuple[str, str, str] | None] = {}
        self._paging: Counter[tuple[str, str, str]] = Counter()
        self._results: list[AttemptResult] = []
        self._writing: asyncio.Future[Exception | None] | None = None  # `_batch_writing`
        self._refusals = 0  # writes of outcomes refused in a row
        self._batch_writing: list[AttemptResult] = []
        self._journal = Journal(outbox.path)
        self._journal_failing = False  # the last append failed (logged once until one works)
        self._recorded = 0  # outcomes written into the outbox table since the journal began
        self._inbox: list[Notification] = []  # committed and submitted, not yet scheduled
        # Several daemons (outbox.claims): when to look next for rows whose claim expired,
        # and to renew this daemon's claims (on the monotonic clock); the first look takes
        # this daemon's own claims too (a previous run of it made them).
        self._next_claim_look = 0.0
        self._next_renewal = 0.0
        self._claimed_own = False
        # The rows of this daemon that the first look took back: one committed just then may
        # be submitted too, and must not be scheduled twice.
        self._taken_back: set[int] = set()
        self._read_outbox = True  # rows may be in the outbox that were not submitted
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopped = asyncio.Event()
        self._watch_idle = False  # wake the scheduler after every send (burst and drain)
        self._draining = False
        self._drain_deadline = 0.0  # on the monotonic clock; retries due after it are left
        self._stopping = False
        self._running = False
        self._tasks: asyncio.TaskGroup | None = None
        self._workers: list[asyncio.Task[None]] = []

    # -- the daemon's interface ----------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Pending notifications the dispatcher holds (waiting, in flight or retrying)."""
        return self._pending

    def submit(self, notifications: Iterable[Notification]) -> None:
        """These were just committed to the outbox: send them now.

        Each must carry its row's `seq` (as `enqueue` sets it); one without falls back to
        reading the outbox.
        """
        for notification in notifications:
            if notification.hold:  # held back (alertd.storms): its release submits it
                continue
            if notification.seq:
                self._inbox.append(notification)
            else:
                self._read_outbox = True
        self._wake.set()

    def wake(self) -> None:
        """New rows were committed some other way: read the outbox and send them now."""
        self._read_outbox = True
        self._wake.set()

    async def run(self, *, burst: bool = False) -> None:
        """Deliver until `drain()`/`stop()`; with `burst`, until no pending row is left.

        Starts by loading every pending row, so notifications left by a previous run (a crash,
        a shutdown, retries waiting for their time) go out first.
        """
        self._running = True
        self._watch_idle = burst
        recovered = False
        try:
            recovered = await self._recover()
            if recovered:
                async with asyncio.TaskGroup() as tasks:
                    self._tasks = tasks
                    recorder = tasks.create_task(self._write_results_forever())
                    await self._schedule(burst=burst)
                    for worker in self._workers:
                        worker.cancel()
                    recorder.cancel()
        finally:
            self._tasks = None
            if self._writing is not None:  # a write the cancelled recorder left running
                await asyncio.wait([self._writing])
                if not self._written(self._batch_writing, self._writing.result()):
                    self._results[:0] = self._batch_writing
            batch = self._take_results()
            written = self._written(batch, self._write_results(batch))
            self._journal.close(all_recorded=recovered and written)
            if self.outbox.claims and recovered and written:  # what is left, another may send
                with contextlib.suppress(StateStoreError):
                    self.outbox.release_claims()
            for channel in {id(c): c for c in self._all_channels()}.values():
                with contextlib.suppress(Exception):
                    await channel.aclose()
            self._running = False
            self._stopped.set()

    async def _recover(self) -> bool:
        """Write into the outbox the outcomes a previous process journaled but had not
        recorded (it was killed), before any pending row is read; then start a new journal.
        Tries again while the database is busy; False if stopped before it could."""
        left_over = self._journal.left_over()
        while not self._written(left_over, await asyncio.to_thread(self._write_results, left_over)):
            if self._stopping:
                return False
            await _first(self._wake.wait(), asyncio.sleep(self._retry_delay()))
        if left_over:
            log.info("outcomes of the previous run recorded", extra={"outcomes": len(left_over)})
        try:
            self._journal.clear()
        except OSError as error:  # appends go on after the old lines: replayed in order
            log.error("cannot clear the outcome journal: %s", error)
        return True

    async def drain(self, grace: float) -> None:
        """Keep sending for up to `grace` seconds, then stop; `run()` returns.

        What is queued goes out, and so do retries that come due within the grace period (the
        drain waits for them); it ends early once nothing is left to send before the deadline.
        Whatever is not delivered by then (in flight, queued, or waiting to retry after the
        deadline) stays pending in the outbox for the next start.
        """
        self._drain_deadline = self.clock.monotonic() + grace
        self._draining = True
        self._watch_idle = True
        self._wake.set()
        if self._running:
            await _first(self._idle.wait(), self.clock.sleep(grace))
        await self.stop()

    async def stop(self) -> None:
        """Stop at once: in-flight sends are cancelled and stay pending."""
        self._stopping = True
        self._wake.set()
        if self._running:
            await self._stopped.wait()

    # -- scheduling ----------------------------------------------------------------------------

    async def _schedule(self, *, burst: bool) -> None:
        while not self._stopping:
            self._wake.clear()
            claims_due = (
                self._look_after_claims(self.clock.monotonic()) if self.outbox.claims else None
            )
            if self._read_outbox:
                self._read_outbox = False
                self._load_new()  # sets `_read_outbox` again if the database refused
            if self._inbox:
                self._schedule_submitted()
            now = self.clock.monotonic()
            self._release_due(now)
            lanes_idle = all(lane.idle for lane in self._lanes.values())
            if lanes_idle and (
                (self._draining and not self._retry_due_before_deadline())
                or (burst and not self._retries)
            ):
                self._idle.set()
                return
            delay = self._retries[0][0] - now if self._retries else None
            if self._read_outbox:  # reading it failed: try again shortly
                delay = min(delay, RECORD_RETRY_MAX) if delay is not None else RECORD_RETRY_MAX
            if claims_due is not None:
                delay = min(delay, claims_due) if delay is not None else claims_due
            if delay is None:
                await self._wake.wait()
            else:
                await _first(self._wake.wait(), self.clock.sleep(delay))

    def _retry_due_before_deadline(self) -> bool:
        """While draining: is the next retry due before the drain's deadline (worth waiting)?"""
        return bool(self._retries) and self._retries[0][0] <= self._drain_deadline

    def _load_new(self) -> None:
        while True:
            try:
                rows = self._read_pending()
            except StateStoreError as error:  # an I/O error: what was read is kept, and the
                self.health.failed(error)  # rest read once the database lets it
                self._read_outbox = True
                return
            self._take(rows)
            if len(rows) < LOAD_BATCH:
                break

    def _read_pending(self) -> list[Notification]:
        """The next pending rows to take: those past the last one read; or, when several
        daemons share the outbox, rows this one claims (never those another holds)."""
        if not self.outbox.claims:
            return self.outbox.pending_after(self._high_water, LOAD_BATCH)
        if self._claimed_own:
            rows = self.outbox.claim(self.clock.now(), LOAD_BATCH)
            return [n for n in rows if n.seq not in self._in_hand]
        # At start: every row this daemon's previous run held, at once (a second look with
        # `own` would take the same rows again), then the others' as usual.
        rows = self.outbox.claim(self.clock.now(), -1, own=True)
        self._taken_back.update(n.seq for n in rows)
        self._claimed_own = True
        return rows

    def _schedule_submitted(self) -> None:
        """The inbox, less what the outbox was read past (`_load_new` took those already).
        Claimed rows are never read twice: the inbox's are this daemon's claims, which
        `claim` passes by."""
        inbox, self._inbox = self._inbox, []
        if self.outbox.claims:
            fresh = []
            for notification in inbox:
                if notification.seq in self._taken_back:  # the first look took it already
                    self._taken_back.discard(notification.seq)
                else:
                    fresh.append(notification)
            self._take(fresh)
            return
        self._take([n for n in inbox if n.seq > self._high_water])

    def _look_after_claims(self, now: float) -> float:
        """Several daemons: renew this one's claims, and look for rows whose claim expired,
        each when its time comes; return the seconds until the next time."""
        if now >= self._next_renewal:
            self._next_renewal = now + CLAIM_RENEW
            try:
                self.outbox.renew_claims(self.clock.now(), list(self._in_hand))
            except StateStoreError as error:
                self.health.failed(error)
        if now >= self._next_claim_look:
            self._next_claim_look = now + CLAIM_POLL
            self._read_outbox = True
        return max(0.0, min(self._next_renewal, self._next_claim_look) - now)

    def _take(self, notifications: list[Notification]) -> None:
        """Schedule rows read or submitted: a row's wall time to try it at (a retry's, from a
        previous run) becomes a wait on the monotonic clock."""
        now, monotonic = self.clock.now(), self.clock.monotonic()
        for notification in notifications:
            self._high_water = max(self._high_water, notification.seq)
            self._pending += 1
            page = None
            if notification.kind in EDITS_PAGES and notification.notice in PAGES:
                page = _page_of(notification)
                self._paging[page] += 1
            self._in_hand[notification.seq] = page
            wait = notification.next_attempt_at - now
            if wait > 0:
                heapq.heappush(self._retries, (monotonic + wait, notification.seq, notification))
            else:
                self._lane(notification.channel).put(notification)
        OUTBOX_DEPTH.set(self._pending)

    def _release_due(self, now: float) -> None:
        """Retries whose time has come join their lanes, each in its priority's place."""
        while self._retries and self._retries[0][0] <= now:
            _due, _seq, notification = heapq.heappop(self._retries)
            self._lane(notification.channel).put(notification)

    def _lane(self, name: str) -> _Lane:
        lane = self._lanes.get(name)
        if lane is not None:
            return lane
        channel, dispatch = self._lane_parts(name)
        lane = _Lane(channel, dispatch.concurrency, dispatch.rate_limit, self.clock)
        self._lanes[name] = lane
        assert self._tasks is not None, "lanes are only made while running"
        for _ in range(lane.concurrency):
            self._workers.append(self._tasks.create_task(self._work(lane)))
        return lane

    def _lane_parts(self, name: str) -> tuple[Channel, DispatchSettings]:
        """The channel and its dispatch settings. One that cannot be built becomes a channel
        whose every send fails with the reason, so it never stops the dispatcher."""
        try:
            dispatch = self.settings.channel_dispatch(name)
            channel = self._channels.get(name)
            if channel is None:
                channel = self._channels[name] = build_channel(name, self.settings, self.clock)
        except (ChannelConfigError, ConfigError) as exc:
            return _Unavailable(name, str(exc)), self.settings.dispatch
        except Exception as exc:  # a bug in a channel's constructor
            log.exception("cannot build channel %s", name)
            return _Unavailable(name, f"cannot build the channel: {exc!r}"), self.settings.dispatch
        return channel, dispatch

    def _all_channels(self) -> list[Channel]:
        return list(self._channels.values())

    # -- sending -------------------------------------------------------------------------------

    async def _work(self, lane: _Lane) -> None:
        while True:
            notification = await self._next(lane)
            lane.busy += 1
            try:
                await self._deliver(lane, notification)
            finally:
                lane.busy -= 1
                if self._watch_idle:
                    self._wake.set()

    async def _next(self, lane: _Lane) -> Notification:
        """The lane's most urgent notification, once the rate limit lets one go: chosen only
        then, so an urgent one waits for nothing but the sends already in flight."""
        while True:
            await lane.wait_ready()
            if lane.limiter.interval:
                await lane.limiter.acquire()
            self._release_due(self.clock.monotonic())
            if lane.ready:  # another worker may have taken the last one meanwhile
                return heapq.heappop(lane.ready)[-1]

    async def _deliver(self, lane: _Lane, notification: Notification) -> None:
        attempts = notification.attempts + 1
        age = self.clock.now() - notification.created_at
        if age >= self.policy.max_age:
            error = DeliveryError("expired before it could be delivered", retryable=False)
            self._finish(notification, Verdict("dead"), attempts - 1, error)
            return
        if notification.kind in EDITS_PAGES and notification.notice not in PAGES:
            if self._paging[_page_of(notification)]:  # the page first: this edits it
                waiting = (self.clock.monotonic() + PAGE_WAIT, notification.seq, notification)
                heapq.heappush(self._retries, waiting)
                self._wake.set()
                return
            notification.earlier = self._page_receipts(notification)
        try:
            receipt = await lane.channel.send(notification)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a bug in a channel must not stop its lane
            log.exception("channel %s raised an unexpected error", notification.channel)
            error = DeliveryError(f"unexpected error: {exc!r}", retryable=True)
        else:
            self._sent(lane, notification, attempts, receipt)
            return
        now = self.clock.now()
        verdict = self.policy.after_failure(error, attempts, now - notification.created_at)
        if verdict.state != "pending":
            self._finish(notification, verdict, attempts, error)
            return
        due = now + verdict.delay  # on the row: for a restart, and for people
        self._queue_result(
            AttemptResult(
                notification.seq, "pending", attempts, now, str(error), next_attempt_at=due
            )
        )
        notification.attempts = attempts
        notification.next_attempt_at = due
        waiting = (self.clock.monotonic() + verdict.delay, notification.seq, notification)
        heapq.heappush(self._retries, waiting)
        self._wake.set()
        NOTIFICATIONS.labels(channel=notification.channel, outcome="retried").inc()
        log.warning(
            "%s notification %s %s failed (attempt %d), retrying in %.1fs: %s",
            notification.channel,
            notification.id,
            _to(notification),
            attempts,
            verdict.delay,
            error,
            extra=_fields(notification, "retried", attempts, str(error)),
        )

    def _page_receipts(self, notification: Notification) -> tuple[str, ...]:
        """The receipts of the pages a status update edits in place; none when the outbox
        cannot be read now (the update is then posted as a message of its own)."""
        try:
            return tuple(
                self.outbox.receipts(
                    notification.alert_id, notification.channel, notification.recipient
                )
            )
        except StateStoreError as error:
            self.health.failed(error)
            return ()

    def _sent(self, lane: _Lane, notification: Notification, attempts: int, receipt: str) -> None:
        now = self.clock.now()
        self._queue_result(AttemptResult(notification.seq, "sent", attempts, now, receipt=receipt))
        self._pending -= 1
        OUTBOX_DEPTH.set(self._pending)
        lane.sent.inc()
        lane.latency.observe(max(0.0, now - notification.created_at))
        log.info(
            "%s notification %s %s sent (attempt %d): %s",
            notification.channel,
            notification.id,
            _to(notification),
            attempts,
            receipt,
            extra=_fields(notification, "sent", attempts, None),
        )

    def _finish(
        self, notification: Notification, verdict: Verdict, attempts: int, error: DeliveryError
    ) -> None:
        now = self.clock.now()
        self._queue_result(
            AttemptResult(notification.seq, verdict.state, attempts, now, str(error))
        )
        self._pending -= 1
        OUTBOX_DEPTH.set(self._pending)
        NOTIFICATIONS.labels(channel=notification.channel, outcome=verdict.state).inc()
        log.error(
            "%s notification %s %s: %s after %s: %s",
            notification.channel,
            notification.id,
            _to(notification),
            verdict.state,
            counted(attempts, "attempt"),
            error,
            extra=_fields(notification, verdict.state, attempts, str(error)),
        )

    # -- recording -----------------------------------------------------------------------------

    def _queue_result(self, result: AttemptResult) -> None:
        """Keep an outcome: in the journal at once (a kill -9 cannot lose it from then on),
        in the outbox table with the recorder's next batch."""
        try:
            self._journal.append(result)
        except OSError as error:
            if not self._journal_failing:
                log.error("cannot journal delivery outcomes: %s", error)
            self._journal_failing = True
        else:
            self._journal_failing = False
        self._results.append(result)
        self._flush.set()

    async def _write_results_forever(self) -> None:
        while True:
            await self._flush.wait()
            # Let results gather for a moment: one commit per batch, not per send.
            await asyncio.sleep(RECORD_INTERVAL)
            self._flush.clear()
            self._batch_writing = self._take_results()
            self._writing = asyncio.ensure_future(
                asyncio.to_thread(self._write_results, self._batch_writing)
            )
            error = await asyncio.shield(self._writing)  # on cancel, `run()` waits for it
            self._writing = None
            if self._written(self._batch_writing, error):
                self._recorded += len(self._batch_writing)
                self._journal.recorded(self._recorded)
            else:  # kept, in memory and in order, to be written with the next batch
                self._results[:0] = self._batch_writing
                await asyncio.sleep(self._retry_delay())
                self._flush.set()

    def _take_results(self) -> list[AttemptResult]:
        batch, self._results = self._results, []
        return batch

    def _write_results(self, batch: list[AttemptResult]) -> Exception | None:
        """Write one batch (in a worker thread, or at the end of `run()`); the error that
        stopped it, for `_written` to report on the event loop."""
        try:
            self.outbox.record(batch)
        except Exception as error:  # whatever it is, the recorder goes on: the batch is kept
            return error
        return None

    def _written(self, batch: list[AttemptResult], error: Exception | None) -> bool:
        """Whether `batch` was written, `error` being what `_write_results` returned; tells the
        state's health (the database refused) or the log (a bug, with its traceback)."""
        if error is None:
            self._refusals = 0
            if batch:
                self.health.succeeded()
            self._let_go(batch)
            return True
        self._refusals += 1
        if isinstance(error, StateStoreError):
            self.health.failed(error)
        else:
            log.error(
                "cannot record %s; will retry",
                counted(len(batch), "delivery result"),
                exc_info=error,
            )
        return False

    def _let_go(self, written: list[AttemptResult]) -> None:
        """The rows whose last outcome was just written are no longer in hand."""
        for result in written:
            if result.state == "pending":
                continue
            page = self._in_hand.pop(result.seq, None)
            if page is not None:
                self._paging[page] -= 1
                if not self._paging[page]:
                    del self._paging[page]

    def _retry_delay(self) -> float:
        """Seconds before a refused write is tried again: RECORD_RETRY, doubled for each
        refusal in a row, up to RECORD_RETRY_MAX."""
        return min(RECORD_RETRY_MAX, RECORD_RETRY * (1 << min(8, max(0, self._refusals - 1))))


def _page_of(notification: Notification) -> tuple[str, str, str]:
    """What a page and the status updates that edit it share: alert, channel, recipient."""
    return (notification.alert_id, notification.channel, notification.recipient)


def _to(notification: Notification) -> str:
    """Whom a notification was for, as its log line says it: `to '+15550100002'`."""
    if not notification.recipient:
        return "(no recipient configured)"
    return f"to {public_recipient(notification.kind, notification.recipient)!r}"


def _fields(
    notification: Notification, outcome: str, attempts: int, error: str | None
) -> dict[str, object]:
    """Structured fields of a delivery log line."""
    return {
        "notification_id": notification.id,
        "alert_id": notification.alert_id,
        "channel": notification.channel,
        "outcome": outcome,
        "attempt": attempts,
        "error": error,
    }


async def _first(*awaitables: Awaitable[object]) -> None:
    """Wait until the first of these finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
