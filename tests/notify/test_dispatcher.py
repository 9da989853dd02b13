"""The dispatcher against a real local webhook receiver: retries, faults, restarts, lanes."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from alertd.clock import SYSTEM_CLOCK, FakeClock
from alertd.config import Settings
from alertd.metrics import NOTIFICATIONS, TEMPLATE_ERRORS
from alertd.model import NotifyTarget
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.journal import Journal
from alertd.notify.outbox import Outbox
from tests.notify.conftest import (
    HttpServer,
    Request,
    answers,
    enqueue_alert,
    make_alert,
    make_settings,
)
from tests.waiting import until


def webhook_settings(tmp_path: Path, url: str, **dispatch: Any) -> Settings:
    return make_settings(
        tmp_path,
        dispatch={"backoff_initial": 1, "backoff_max": 60, **dispatch},
        channels={"webhook": {"url": url, "secret": "s3cret"}},
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "alertd.db")


async def test_500_then_200_is_one_delivery_after_two_attempts(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox, clock: FakeClock
) -> None:
    http_server.handler = answers(500)
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    (nid,) = enqueue_alert(outbox, settings, make_alert(), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    assert len(http_server.requests) == 2
    assert {r.headers["Idempotency-Key"] for r in http_server.requests} == {nid}
    (state,) = outbox.states(make_alert().id)
    assert (state.state, state.attempts, state.receipt) == ("sent", 2, "HTTP 200")
    assert state.last_error is None
    assert outbox.pending_count() == 0


async def test_429_with_retry_after_waits_at_least_that_long(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox, clock: FakeClock
) -> None:
    seen: list[float] = []

    async def handle(request: Request) -> web.StreamResponse:
        seen.append(clock.now())
        if len(seen) == 1:
            return web.Response(status=429, headers={"Retry-After": "2"}, text="slow down")
        return web.Response(status=204)

    http_server.handler = handle
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook", backoff_initial=0.01)
    enqueue_alert(outbox, settings, make_alert(), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 2.0  # on the fake clock: the test did not sleep 2 s
    assert max(clock.sleeps) >= 2.0
    (state,) = outbox.states(make_alert().id)
    assert (state.state, state.attempts) == ("sent", 2)


async def test_400_fails_at_once_without_a_retry(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox, clock: FakeClock
) -> None:
    http_server.handler = answers(400)
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    enqueue_alert(outbox, settings, make_alert(), clock.now())
    before = NOTIFICATIONS.labels(channel="webhook", outcome="failed")._value.get()
    await Dispatcher(settings, outbox, clock).run(burst=True)
    assert len(http_server.requests) == 1
    (state,) = outbox.states(make_alert().id)
    assert (state.state, state.attempts) == ("failed", 1)
    assert state.last_error == (
        f'webhook {http_server.url}/hook answered HTTP 400: {{"error": "status 400"}}'
    )
    assert NOTIFICATIONS.labels(channel="webhook", outcome="failed")._value.get() == before + 1


async def test_connection_refused_is_retried_until_dead_with_its_error(
    tmp_path: Path, outbox: Outbox, clock: FakeClock, unused_tcp_port: int
) -> None:
    settings = webhook_settings(
        tmp_path, f"http://127.0.0.1:{unused_tcp_port}/hook", max_attempts=3
    )
    enqueue_alert(outbox, settings, make_alert(), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    (state,) = outbox.states(make_alert().id)
    assert (state.state, state.attempts) == ("dead", 3)
    assert state.last_error is not None
    assert state.last_error.startswith(
        f"webhook http://127.0.0.1:{unused_tcp_port}/hook: cannot connect"
    )
    assert len(clock.sleeps) >= 2  # it waited between the attempts


async def test_attempts_exhausted_makes_the_row_dead_with_its_last_error(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox, clock: FakeClock
) -> None:
    http_server.handler = answers(500, 502, 503, 504)
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook", max_attempts=4)
    enqueue_alert(outbox, settings, make_alert(), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    assert len(http_server.requests) == 4
    (state,) = outbox.states(make_alert().id)
    assert (state.state, state.attempts) == ("dead", 4)
    assert (
        state.last_error
        == f'webhook {http_server.url}/hook answered HTTP 504: {{"error": "status 504"}}'
    )


async def test_pending_rows_are_delivered_after_the_dispatcher_restarts(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    arrived = asyncio.Event()

    async def hang(request: Request) -> web.StreamResponse:
        arrived.set()
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    http_server.handler = hang
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    alert = make_alert(notify=(NotifyTarget("webhook"),))
    enqueue_alert(outbox, settings, alert, SYSTEM_CLOCK.now())
    first = Dispatcher(settings, outbox)
    running = asyncio.create_task(first.run())
    await asyncio.wait_for(arrived.wait(), 10)
    await first.stop()  # as if killed mid-request: nothing was recorded
    await running
    assert [(s.state, s.attempts) for s in outbox.states(alert.id)] == [("pending", 0)]

    http_server.handler = None  # the receiver is healthy again
    again = Dispatcher(settings, Outbox(outbox.path))
    await again.run(burst=True)
    assert [(s.state, s.attempts) for s in outbox.states(alert.id)] == [("sent", 1)]
    assert orjson.loads(http_server.requests[-1].body)["alert_id"] == alert.id


async def test_a_retry_waiting_for_its_time_survives_a_restart(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    http_server.handler = answers((503, {"Retry-After": "30"}))
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    alert = make_alert()
    enqueue_alert(outbox, settings, alert, SYSTEM_CLOCK.now())
    first = Dispatcher(settings, outbox)  # the real clock: it would wait 30 s
    running = asyncio.create_task(first.run())
    await until(lambda: outbox.states(alert.id)[0].attempts, "the first attempt to be recorded")
    await first.stop()
    await running
    (state,) = outbox.states(alert.id)
    assert (state.state, state.attempts) == ("pending", 1)
    assert state.next_attempt_at is not None
    assert state.next_attempt_at >= SYSTEM_CLOCK.now() + 29

    clock = FakeClock(start=SYSTEM_CLOCK.now())
    await Dispatcher(settings, Outbox(outbox.path), clock).run(burst=True)
    assert [(s.state, s.attempts) for s in outbox.states(alert.id)] == [("sent", 2)]
    assert max(clock.sleeps) >= 29  # the restarted dispatcher still waited for its time


class JumpingClock(FakeClock):
    """Steps the wall clock `jump` seconds as the dispatcher first waits for a retry, and
    wakes it a second later, as anything else would (a new notification, a retry due)."""

    def __init__(self, jump: float) -> None:
        super().__init__()
        self.jump = jump
        self.jumped = False

    async def sleep(self, seconds: float) -> None:
        if seconds >= 2 and not self.jumped:
            self.jumped = True
            self.step_wall(self.jump)
            seconds = 1.0
        await super().sleep(seconds)


@pytest.mark.parametrize("jump", [3600.0, -3600.0], ids=["forward", "back"])
async def test_a_wall_clock_that_jumps_neither_sends_a_retry_early_nor_holds_it(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox, jump: float
) -> None:
    clock = JumpingClock(jump)
    attempts: list[float] = []  # monotonic times

    async def handle(request: Request) -> web.StreamResponse:
        attempts.append(clock.monotonic())
        if len(attempts) == 1:
            return web.Response(status=503, headers={"Retry-After": "30"})
        return web.Response(status=204)

    http_server.handler = handle
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    alert = make_alert()
    enqueue_alert(outbox, settings, alert, clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    assert clock.jumped
    assert len(attempts) == 2
    waited = attempts[1] - attempts[0]
    assert 30 <= waited < 31  # forward: not at the next wake; back: not an hour late
    (state,) = outbox.states(alert.id)
    assert (state.state, state.attempts) == ("sent", 2)


async def test_a_template_error_still_delivers_the_fallback(
    tmp_path: Path,
    http_server: HttpServer,
    outbox: Outbox,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = tmp_path / "templates" / "broken" / "webhook"
    broken.mkdir(parents=True)
    (broken / "body.json").write_text('{"n": {{ event.count + "x" }}}')
    settings = make_settings(
        tmp_path,
        rules={"templates": str(tmp_path / "templates")},
        channels={"webhook": {"url": f"{http_server.url}/hook"}},
    )
    # Only the broken override exists: every other part would also be missing.
    alert = make_alert(template="broken", event={"count": 3})
    errors_before = TEMPLATE_ERRORS.labels(channel="webhook")._value.get()
    with caplog.at_level(logging.ERROR, logger="alertd.notify"):
        enqueue_alert(outbox, settings, alert, clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    (request,) = http_server.requests
    body = orjson.loads(request.body)
    assert body["fallback"] is True
    assert body["alert_id"] == alert.id and body["event"] == {"count": 3}
    assert TEMPLATE_ERRORS.labels(channel="webhook")._value.get() == errors_before + 1
    assert "broken/webhook/body.json:1: error: unsupported operand type" in caplog.text
    assert [s.state for s in outbox.states(alert.id)] == ["sent"]


async def test_a_dead_provider_does_not_hold_up_another_channel(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    stuck = HttpServer()
    release = asyncio.Event()

    async def hang(request: Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(status=200)

    stuck.handler = hang
    await stuck.start()
    settings = make_settings(
        tmp_path,
        dispatch={"concurrency": 2},
        channels={
            "webhook": {"url": f"{stuck.url}/hook"},
            "partner": {"kind": "webhook", "url": f"{http_server.url}/partner"},
        },
    )
    for i in range(5):
        alert = make_alert(id=f"01KDSLOW{i}", notify=(NotifyTarget("webhook"),))
        enqueue_alert(outbox, settings, alert, SYSTEM_CLOCK.now())
    fast = [make_alert(id=f"01KDFAST{i}", notify=(NotifyTarget("partner"),)) for i in range(5)]
    for alert in fast:
        enqueue_alert(outbox, settings, alert, SYSTEM_CLOCK.now())
    dispatcher = Dispatcher(settings, outbox)
    running = asyncio.create_task(dispatcher.run())
    await until(lambda: len(http_server.requests) == 5, "the fast channel's five notifications")
    assert len(stuck.requests) == 2  # its two workers are stuck; the rest wait their turn
    release.set()
    await dispatcher.drain(grace=10)
    await running
    await stuck.stop()
    assert outbox.pending_count() == 0


async def test_drain_gives_up_after_the_grace_period_and_keeps_the_rest_pending(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    arrived = asyncio.Event()

    async def hang(request: Request) -> web.StreamResponse:
        arrived.set()
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    http_server.handler = hang
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    enqueue_alert(outbox, settings, make_alert(), SYSTEM_CLOCK.now())
    dispatcher = Dispatcher(settings, outbox)
    running = asyncio.create_task(dispatcher.run())
    await asyncio.wait_for(arrived.wait(), 10)
    await dispatcher.drain(grace=0.2)
    await running
    assert [s.state for s in outbox.states(make_alert().id)] == ["pending"]


async def _first_attempt_failed(outbox: Outbox, alert_id: str) -> None:
    """Wait until the dispatcher has recorded a failed first attempt (a retry is scheduled)."""
    await until(lambda: outbox.states(alert_id)[0].attempts, "the first attempt to be recorded")


async def _waiting_to_retry(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> tuple[Dispatcher, asyncio.Task[None], str]:
    """A running dispatcher whose one notification failed its first attempt and now waits to
    be retried (when, the receiver's Retry-After says)."""
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    alert = make_alert()
    enqueue_alert(outbox, settings, alert, SYSTEM_CLOCK.now())
    dispatcher = Dispatcher(settings, outbox)
    running = asyncio.create_task(dispatcher.run())
    await _first_attempt_failed(outbox, alert.id)
    return dispatcher, running, alert.id


async def test_drain_waits_for_a_retry_that_comes_due_within_the_grace_period(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    http_server.handler = answers((503, {"Retry-After": "1"}))  # then 200
    dispatcher, running, alert_id = await _waiting_to_retry(tmp_path, http_server, outbox)
    await dispatcher.drain(grace=10)
    await running
    assert len(http_server.requests) == 2
    assert [(s.state, s.attempts) for s in outbox.states(alert_id)] == [("sent", 2)]
    assert dispatcher.depth == 0


async def test_drain_leaves_a_retry_due_after_the_grace_period_pending(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    http_server.handler = answers((503, {"Retry-After": "30"}))
    dispatcher, running, alert_id = await _waiting_to_retry(tmp_path, http_server, outbox)
    (waiting,) = outbox.states(alert_id)
    await asyncio.wait_for(dispatcher.drain(grace=0.5), 10)  # not the 30 s to the retry
    await running
    assert len(http_server.requests) == 1
    (state,) = outbox.states(alert_id)
    assert (state.state, state.attempts) == ("pending", 1)
    assert state.next_attempt_at == waiting.next_attempt_at  # resumed on the next start
    assert dispatcher.depth == 1


async def test_a_drain_cut_short_by_a_drain_of_0_leaves_the_waiting_retry_pending(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    """What the daemon does on a second stop signal: cancel the long drain, drain for 0 s."""
    http_server.handler = answers((503, {"Retry-After": "8"}))
    dispatcher, running, alert_id = await _waiting_to_retry(tmp_path, http_server, outbox)
    long_drain = asyncio.create_task(dispatcher.drain(grace=60))
    await asyncio.sleep(0)  # the drain begins, and waits for the retry, due in 8 s
    assert not long_drain.done()
    long_drain.cancel()
    await asyncio.wait_for(dispatcher.drain(grace=0), 5)
    await asyncio.wait_for(running, 5)
    assert len(http_server.requests) == 1
    (state,) = outbox.states(alert_id)
    assert (state.state, state.attempts) == ("pending", 1)


async def started(
    settings: Settings, outbox: Outbox, http_server: HttpServer
) -> tuple[Dispatcher, asyncio.Task[None]]:
    """A running dispatcher that has read the outbox at start: the row that was there (alert
    01KDSTART) has gone out."""
    enqueue_alert(outbox, settings, make_alert(id="01KDSTART"), SYSTEM_CLOCK.now())
    dispatcher = Dispatcher(settings, outbox)
    running = asyncio.create_task(dispatcher.run())
    await until(lambda: len(http_server.requests) == 1, "the row there at start to go out")
    await until(lambda: dispatcher.depth == 0, "the dispatcher to have its answer")
    return dispatcher, running


async def test_new_rows_go_out_when_woken(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    dispatcher, running = await started(settings, outbox, http_server)
    enqueue_alert(outbox, settings, make_alert(), SYSTEM_CLOCK.now())
    assert dispatcher.depth == 0  # committed, but the dispatcher has not been told yet
    dispatcher.wake()
    await until(lambda: len(http_server.requests) == 2, "the new row to go out")
    await dispatcher.drain(grace=5)
    await running
    assert dispatcher.depth == 0


async def test_submitted_notifications_go_out_once_even_if_the_outbox_is_read_too(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox
) -> None:
    from alertd.notify.outbox import enqueue
    from alertd.notify.plan import plan
    from alertd.notify.render import Renderer

    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    renderer = Renderer.load(settings.rules.templates, settings.notify)
    dispatcher, running = await started(settings, outbox, http_server)
    batches = []
    for i in range(3):  # as the daemon does: enqueue in a transaction, commit, submit
        batch = plan(make_alert(id=f"01KDSUBMIT{i}"), settings, renderer, SYSTEM_CLOCK.now())
        with outbox.connection:
            outbox.connection.execute("BEGIN")
            enqueue(outbox.connection, batch)
        batches.append(batch)
    dispatcher.wake()  # someone else also says "read the outbox"
    for batch in batches:
        dispatcher.submit(batch)
    await dispatcher.drain(grace=5)
    await running
    keys = sorted(r.headers["Idempotency-Key"] for r in http_server.requests)
    assert keys == ["01KDSTART.1", "01KDSUBMIT0.1", "01KDSUBMIT1.1", "01KDSUBMIT2.1"]
    assert outbox.pending_count() == 0
    assert dispatcher.depth == 0


async def test_rate_limit_spaces_sends_on_the_clock(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox, clock: FakeClock
) -> None:
    settings = make_settings(
        tmp_path, channels={"webhook": {"url": f"{http_server.url}/hook", "rate_limit": 10}}
    )
    for i in range(5):
        enqueue_alert(outbox, settings, make_alert(id=f"01KDRATE{i}"), clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    assert len(http_server.requests) == 5
    assert sum(clock.sleeps) == pytest.approx(0.4)


async def test_a_channel_without_config_fails_visibly(
    tmp_path: Path, outbox: Outbox, clock: FakeClock
) -> None:
    settings = make_settings(tmp_path, channels={})
    alert = make_alert(notify=(NotifyTarget("slack"),))
    enqueue_alert(outbox, settings, alert, clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    (state,) = outbox.states(alert.id)
    assert (state.state, state.last_error) == ("failed", "[channels.slack] is not configured")


async def test_a_channel_whose_lane_cannot_be_built_fails_visibly_and_others_still_send(
    tmp_path: Path, http_server: HttpServer, outbox: Outbox, clock: FakeClock
) -> None:
    # Settings made in code skip the file's checks: the dispatcher must survive them anyway.
    checked = make_settings(
        tmp_path,
        channels={
            "webhook": {"url": f"{http_server.url}/hook"},
            "partner": {"kind": "webhook", "url": f"{http_server.url}/partner"},
        },
    )
    broken = {**checked.channels["webhook"], "concurrency": "abc"}
    settings = replace(checked, channels={**checked.channels, "webhook": broken})
    alert = make_alert(notify=(NotifyTarget("webhook"), NotifyTarget("partner")))
    enqueue_alert(outbox, settings, alert, clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    webhook, partner = outbox.states(alert.id)
    assert (webhook.state, webhook.last_error) == (
        "failed",
        f"{tmp_path / 'alertd.toml'}: [channels.webhook] concurrency: "
        "expected a whole number, got 'abc'",
    )
    assert partner.state == "sent"
    assert [r.path for r in http_server.requests] == ["/partner"]


async def test_delivery_logs_and_errors_show_a_webhook_url_without_its_credentials(
    tmp_path: Path,
    http_server: HttpServer,
    outbox: Outbox,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    http_server.handler = answers(500)
    secret_url = http_server.url.replace("://", "://bob:hunter2@") + "/hook?token=abc123"
    settings = webhook_settings(tmp_path, secret_url)
    enqueue_alert(outbox, settings, make_alert(), clock.now())
    with caplog.at_level(logging.INFO, logger="alertd.notify"):
        await Dispatcher(settings, outbox, clock).run(burst=True)
    assert [r.query for r in http_server.requests] == [{"token": "abc123"}] * 2  # sent as is
    retried, sent = (r.getMessage() for r in caplog.records if r.name == "alertd.notify")
    public = f"'{http_server.url}/hook'"
    assert f"webhook notification {make_alert().id}.1 to {public} failed (attempt 1)" in retried
    assert f"webhook {http_server.url}/hook answered HTTP 500" in retried
    assert f"to {public} sent (attempt 2)" in sent
    assert "hunter2" not in caplog.text and "abc123" not in caplog.text


async def test_a_push_recipient_is_logged_as_a_short_prefix(
    tmp_path: Path, outbox: Outbox, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path, dispatch={"dry_run": True}, channels={"push": {"topic": "fleet-alerts-7f3a"}}
    )
    alert = make_alert(notify=(NotifyTarget("push"),))
    enqueue_alert(outbox, settings, alert, clock.now())
    with caplog.at_level(logging.INFO, logger="alertd.notify"):
        await Dispatcher(settings, outbox, clock).run(burst=True)
    assert f"dry run: push notification {alert.id}.1 to 'flee…'" in caplog.text
    assert f"push notification {alert.id}.1 to 'flee…' sent" in caplog.text
    assert "fleet-alerts-7f3a" not in caplog.text


async def test_dry_run_logs_every_notification_instead_of_sending(
    tmp_path: Path, outbox: Outbox, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path,
        dispatch={"dry_run": True},
        channels={"sms": {"to": ["+15550100002"]}, "slack": {"channel": "#fleet"}},
    )
    alert = make_alert(notify=(NotifyTarget("sms"), NotifyTarget("slack")))
    enqueue_alert(outbox, settings, alert, clock.now())
    with caplog.at_level(logging.INFO, logger="alertd.notify.console"):
        await Dispatcher(settings, outbox, clock).run(burst=True)
    assert [(s.channel, s.state, s.receipt) for s in outbox.states(alert.id)] == [
        ("sms", "sent", "logged (dry run)"),
        ("slack", "sent", "logged (dry run)"),
    ]
    assert "dry run: sms notification 01KDTEST0000000000000000AA.1 to '+15550100002'" in caplog.text
    assert "[HIGH] Critical Safety Event: V-17, D-4" in caplog.text


async def test_dry_run_reports_a_channel_with_no_recipient_as_such(
    tmp_path: Path, outbox: Outbox, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, dispatch={"dry_run": True}, channels={"push": {}})
    alert = make_alert(notify=(NotifyTarget("push"),))
    enqueue_alert(outbox, settings, alert, clock.now())
    with caplog.at_level(logging.INFO, logger="alertd.notify"):
        await Dispatcher(settings, outbox, clock).run(burst=True)
    (state,) = outbox.states(alert.id)
    assert (state.state, state.last_error) == (
        "failed",
        "[channels.push] has no recipient configured (dry run: nothing was sent)",
    )
    console, dispatcher = (r.getMessage() for r in caplog.records if r.name.startswith("alertd"))
    assert console.startswith(
        f"dry run: push notification {alert.id}.1 has no recipient configured: it would not be "
        "delivered: {"
    )
    assert dispatcher.startswith(
        f"push notification {alert.id}.1 (no recipient configured): failed after 1 attempt: "
    )
    assert "''" not in caplog.text


async def test_an_outcome_the_table_never_got_is_taken_from_the_journal_at_the_next_start(
    tmp_path: Path, http_server: HttpServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    outbox = Outbox(tmp_path / "alertd.db", busy_timeout=0.05)
    alert = make_alert()
    enqueue_alert(outbox, settings, alert, clock.now())
    other_writer = sqlite3.connect(outbox.path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")  # the recorder cannot write, as if killed first
    with caplog.at_level(logging.ERROR, logger="alertd.state"):
        await Dispatcher(settings, outbox, clock).run(burst=True)
    assert "the state store cannot be written" in caplog.text
    assert [(s.state, s.attempts) for s in outbox.states(alert.id)] == [("pending", 0)]
    other_writer.rollback()

    again = Outbox(outbox.path)
    await Dispatcher(settings, again, clock).run(burst=True)
    assert len(http_server.requests) == 1  # not sent again
    (state,) = again.states(alert.id)
    assert (state.state, state.attempts, state.receipt) == ("sent", 1, "HTTP 200")
    assert not Journal(outbox.path).left_over()  # a clean stop leaves no journal behind


async def test_a_journal_that_cannot_be_written_is_logged_once_and_sending_goes_on(
    tmp_path: Path,
    http_server: HttpServer,
    outbox: Outbox,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = webhook_settings(tmp_path, f"{http_server.url}/hook")
    (tmp_path / "alertd.db.outcomes").mkdir()  # not a file: every append fails
    alerts = [make_alert(id=f"01KDNOJOURNAL{i}") for i in range(3)]
    for alert in alerts:
        enqueue_alert(outbox, settings, alert, clock.now())
    with caplog.at_level(logging.ERROR, logger="alertd.notify"):
        await Dispatcher(settings, outbox, clock).run(burst=True)
    assert len(http_server.requests) == 3
    assert [s.state for a in alerts for s in outbox.states(a.id)] == ["sent"] * 3
    failures = [r for r in caplog.records if "cannot journal" in r.getMessage()]
    assert len(failures) == 1
    assert "Is a directory" in failures[0].getMessage()
