"""Several daemons share one outbox on PostgreSQL: each pending row is claimed by one of them
(alertd.notify.outbox). A row is sent by the daemon that enqueued it; a claim that expires (its
daemon died) is taken over; only the holder of a claim records an outcome."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from aiohttp import web

from alertd.clock import FakeClock
from alertd.config import Settings
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.notification import Notification
from alertd.notify.outbox import CLAIM_LEASE, AttemptResult, Outbox
from alertd.notify.plan import plan
from alertd.notify.render import Renderer
from tests.notify.conftest import HttpServer, Request, make_alert, make_settings
from tests.waiting import until


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def nodes(tmp_path: Path, postgres_url: str) -> Iterator[list[Outbox]]:
    """Three daemons' outboxes on one database, each daemon in a folder of its own."""
    made = [Outbox(tmp_path / name / "alertd.db", url=postgres_url) for name in "abc"]
    yield made
    for outbox in made:
        outbox.close()


def settings_for(tmp_path: Path, url: str) -> Settings:
    return make_settings(
        tmp_path,
        dispatch={"backoff_initial": 1, "backoff_max": 60},
        channels={"webhook": {"url": url, "secret": "s3cret"}},
    )


def notifications(settings: Settings, count: int, now: float) -> list[Notification]:
    renderer = Renderer.load(settings.rules.templates, settings.notify)
    made: list[Notification] = []
    for n in range(count):
        alert = make_alert(id=f"01KDTEST00000000000000{n:04d}")
        made += plan(alert, settings, renderer, now)
    return made


def test_a_row_is_claimed_by_the_daemon_that_enqueued_it(
    tmp_path: Path, nodes: list[Outbox], clock: FakeClock
) -> None:
    a, b, _ = nodes
    settings = settings_for(tmp_path, "http://127.0.0.1:9/hook")
    made = notifications(settings, 3, clock.now())
    a.add(made)
    assert b.claim(clock.now(), 100) == []  # a holds them: a's dispatcher was handed them
    assert a.claim(clock.now(), 100) == []  # nor does a take them twice
    # a restarted (the same daemon: its folder): it takes its own claims back
    assert [n.id for n in a.claim(clock.now(), 100, own=True)] == [n.id for n in made]


def test_an_expired_claim_is_taken_over_and_only_its_holder_records(
    tmp_path: Path, nodes: list[Outbox], clock: FakeClock
) -> None:
    a, b, c = nodes
    settings = settings_for(tmp_path, "http://127.0.0.1:9/hook")
    (made,) = notifications(settings, 1, clock.now())
    a.add([made])
    later = clock.now() + CLAIM_LEASE + 1  # a died: its claim ran out
    (taken,) = b.claim(later, 100)
    assert taken.id == made.id
    assert c.claim(later, 100) == []  # b holds it now
    a.record([AttemptResult(taken.seq, "failed", 1, later, error="a's late outcome")])
    b.record([AttemptResult(taken.seq, "sent", 1, later, receipt="HTTP 200")])
    (state,) = a.states(make_alert(id="01KDTEST000000000000000000").id)
    assert (state.state, state.receipt, state.last_error) == ("sent", "HTTP 200", None)


def test_a_renewed_claim_is_not_taken_and_a_released_one_is_at_once(
    tmp_path: Path, nodes: list[Outbox], clock: FakeClock
) -> None:
    a, b, _ = nodes
    settings = settings_for(tmp_path, "http://127.0.0.1:9/hook")
    made = notifications(settings, 2, clock.now())
    a.add(made)
    assert a.renew_claims(clock.now() + CLAIM_LEASE - 1, [n.seq for n in made]) == 2
    assert b.claim(clock.now() + CLAIM_LEASE + 1, 100) == []  # renewed: still a's
    assert a.release_claims() == 2  # a stops
    assert [n.id for n in b.claim(clock.now(), 100)] == [n.id for n in made]


async def test_dispatchers_of_several_daemons_send_each_notification_once(
    tmp_path: Path, nodes: list[Outbox], clock: FakeClock, http_server: HttpServer
) -> None:
    """What a daemon that died had claimed is sent once by the others, between them."""
    dead, b, c = nodes
    settings = settings_for(tmp_path, f"{http_server.url}/hook")
    made = notifications(settings, 40, clock.now())
    dead.add(made)
    clock.advance(CLAIM_LEASE + 1)
    await asyncio.gather(
        Dispatcher(settings, b, clock).run(burst=True),
        Dispatcher(settings, c, clock).run(burst=True),
    )
    sent = sorted(request.headers["Idempotency-Key"] for request in http_server.requests)
    assert sent == sorted(n.id for n in made)
    assert b.pending_count() == 0


async def test_a_restarted_daemon_takes_its_claims_back_and_sends_each_once(
    tmp_path: Path,
    nodes: list[Outbox],
    clock: FakeClock,
    http_server: HttpServer,
    postgres_url: str,
) -> None:
    """Killed, then started again in its folder (the same daemon), it takes back what it had
    claimed; a row it commits as its dispatcher starts is both handed over in memory and taken
    back by that first look, and still goes out once."""
    a = nodes[0]
    settings = settings_for(tmp_path, f"{http_server.url}/hook")
    made = notifications(settings, 3, clock.now())
    a.add(made[:2])  # claimed, then the daemon was killed
    restarted = Outbox(a.path, url=postgres_url)
    dispatcher = Dispatcher(settings, restarted, clock)
    restarted.add(made[2:])  # committed as the dispatcher starts: handed over, and in the table
    dispatcher.submit(made[2:])
    await dispatcher.run(burst=True)
    restarted.close()
    sent = sorted(request.headers["Idempotency-Key"] for request in http_server.requests)
    assert sent == sorted(n.id for n in made)


async def test_a_claimed_row_never_handed_over_is_sent_once_its_lease_runs_out(
    tmp_path: Path, nodes: list[Outbox], clock: FakeClock, http_server: HttpServer
) -> None:
    """A COMMIT cut off before its answer, found committed too late (alertd.engine.pg_store):
    its batch was refused, yet its rows are in the outbox, claimed by this daemon, and its
    dispatcher was never handed them. They are not renewed with the rows it holds: once their
    lease runs out, a look for expired claims takes them, while the daemon lives."""
    a = nodes[0]
    settings = settings_for(tmp_path, f"{http_server.url}/hook")
    handed, orphaned = notifications(settings, 2, clock.now())
    dispatcher = Dispatcher(settings, a, clock)
    a.add([handed])
    dispatcher.submit([handed])
    running = asyncio.create_task(dispatcher.run())
    try:
        await until(lambda: len(http_server.requests) == 1, "the handed-over notification")
        a.add([orphaned])  # committed, never submitted
        # The fake clock moves on as the dispatcher sleeps between its looks.
        await until(lambda: len(http_server.requests) == 2, "the orphaned row, after its lease")
        assert clock.now() >= orphaned.created_at + CLAIM_LEASE
        await until(lambda: a.pending_count() == 0, "both outcomes recorded")
    finally:
        await dispatcher.stop()
        await running
    sent = [request.headers["Idempotency-Key"] for request in http_server.requests]
    assert sent == [handed.id, orphaned.id]


async def test_a_held_row_whose_claim_ran_out_is_not_taken_twice(
    tmp_path: Path, nodes: list[Outbox], clock: FakeClock, http_server: HttpServer
) -> None:
    """The database was away longer than a lease (no renewal went through): the rows the
    dispatcher holds, waiting to retry, have expired claims. Its own look for expired claims
    takes none of them again: each goes out once more after its backoff, not twice."""
    a = nodes[0]
    settings = settings_for(tmp_path, f"{http_server.url}/hook")
    made = notifications(settings, 3, clock.now())
    answers = iter([500, 500, 500])

    async def fail_first(request: Request) -> web.StreamResponse:
        return web.json_response({}, status=next(answers, 200))

    http_server.handler = fail_first
    dispatcher = Dispatcher(settings, a, clock)
    a.add(made)
    dispatcher.submit(made)
    renewals: list[int] = []
    renew = a.renew_claims

    def expire_instead(now: float, seqs: Sequence[int]) -> int:
        """The renewals that did not go through: every claim runs out instead."""
        renewals.append(len(seqs))
        a.connection.execute("UPDATE outbox SET claim_expires_at = 0 WHERE state = 'pending'")
        a.connection.commit()
        return 0

    a.renew_claims = expire_instead  # type: ignore[method-assign]
    running = asyncio.create_task(dispatcher.run())
    try:
        await until(lambda: a.pending_count() == 0, "every row sent and recorded")
    finally:
        await dispatcher.stop()
        await running
        a.renew_claims = renew  # type: ignore[method-assign]
    assert renewals, "the claims were never due for renewal"
    sent = Counter(request.headers["Idempotency-Key"] for request in http_server.requests)
    assert sent == {n.id: 2 for n in made}, sent
