"""A real `alertd run` whose state's file system fills up, or turns read-only, under it.

It answers 503 with Retry-After and keeps nothing it could not record, /readyz says why,
nothing crashes, sends go on and their outcomes are kept until they can be written, it logs
the outage once when it begins and once when it ends, and it takes events again by itself
once there is room (the next POST is 202, /readyz is 200), without a restart.

The state lives on a file system of the test's own (tests/filesystems.py: a 2 MiB tmpfs to
fill, an ext4 image that an error turns read-only); mounting them needs root, as CI has.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN, CRITICAL, INGEST, Alertd, Receiver, write_setup
from tests.filesystems import ext4_image, fill, read_only_after_an_error, small_tmpfs
from tests.waiting import until

pytestmark = pytest.mark.e2e

OUTAGE_BEGAN = "the state store cannot be written; events are refused until it can"
OUTAGE_ENDED = "the state store can be written again"
DEADLINE = 20.0  # seconds: far above what any wait here takes


def event(vehicle: str) -> dict[str, Any]:
    return {**CRITICAL, "vehicle_id": vehicle}


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Return once `check()` is true; fail after DEADLINE saying what was awaited."""
    deadline = time.monotonic() + DEADLINE
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {DEADLINE:g}s for {what}")
        await asyncio.sleep(0.02)


async def delivery(client: httpx.AsyncClient, alert_id: str) -> tuple[str, int]:
    """The state and attempts of the alert's one notification, as the outbox table has them."""
    detail = (await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)).json()
    (notification,) = detail["notifications"]
    return notification["state"], notification["attempts"]


async def metric(client: httpx.AsyncClient, name: str) -> float:
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} in /metrics")


def lines(daemon: Alertd, msg: str) -> list[dict[str, Any]]:
    return [line for line in daemon.log() if line.get("msg") == msg]


def errors_besides_the_outage(daemon: Alertd) -> list[dict[str, Any]]:
    """Error lines other than the outage's own and the outcome journal's (it shares the disk):
    no traceback, no line per refused request."""
    return [
        line
        for line in daemon.log()
        if line["level"] in ("error", "critical")
        and line["msg"] != OUTAGE_BEGAN
        and not line["msg"].startswith("cannot journal delivery outcomes")
    ]


@asynccontextmanager
async def running(home: Path, receiver: Receiver) -> AsyncIterator[Alertd]:
    write_setup(home, receiver.url)
    daemon = Alertd(home)
    await daemon.start()
    try:
        yield daemon
    finally:
        daemon.kill()


@contextmanager
def state_on_a_small_disk(home: Path) -> Iterator[Path]:
    with small_tmpfs(home / "var", size="2m") as folder:
        yield folder


async def test_a_full_disk_refuses_events_says_why_and_takes_them_again_without_a_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    with state_on_a_small_disk(tmp_path) as var:
        async with running(tmp_path, receiver) as daemon, daemon.client() as client:
            before = await client.post("/v1/events", json=event("v-before"), headers=INGEST)
            assert before.status_code == 202
            (first,) = before.json()["alerts"]
            await receiver.wait_for(1)
            await eventually(
                lambda: _is(delivery(client, first), ("sent", 1)), "the first outcome recorded"
            )

            filler = fill(var)
            for n in range(5):
                refused = await client.post("/v1/events", json=event(f"v-{n}"), headers=INGEST)
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "5"
                assert "its disk is full" in refused.json()["error"]
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "unavailable"
            assert ready.json()["state"]["reason"] == "full"
            assert await metric(client, "alertd_state_unavailable") == 1
            assert await metric(client, 'alertd_state_outages_total{reason="full"}') == 1
            assert daemon.process is not None and daemon.process.poll() is None

            filler.unlink()  # space returns
            taken = await client.post("/v1/events", json=event("v-0"), headers=INGEST)
            assert taken.status_code == 202
            (second,) = taken.json()["alerts"]  # the refused batch left no window: it fires
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
            assert await metric(client, "alertd_state_unavailable") == 0
            notifications = await receiver.wait_for(2)
            # Nothing refused was kept: no page for v-1 .. v-4, one for v-0 once it was taken.
            assert [n["body"]["alert_id"] for n in notifications] == [first, second]

        (began,) = lines(daemon, OUTAGE_BEGAN)
        assert began["reason"] == "full"
        assert "database or disk is full" in began["error"]
        (ended,) = lines(daemon, OUTAGE_ENDED)
        assert ended["refused_requests"] == 5
        assert ended["seconds"] > 0
        assert errors_besides_the_outage(daemon) == []


async def test_readiness_returns_by_itself_when_space_does_with_no_event_to_try(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A load balancer sends nothing to a node whose /readyz is 503: the daemon itself tries a
    write every second, and is ready again once the space has returned and no batch has been
    refused for alertd.state_health.QUIET (10 s): a probe proves less than a batch."""
    with state_on_a_small_disk(tmp_path) as var:
        async with running(tmp_path, receiver) as daemon, daemon.client() as client:
            filler = fill(var)
            refused = await client.post("/v1/events", json=event("v-1"), headers=INGEST)
            assert refused.status_code == 503
            assert (await client.get("/readyz")).status_code == 503

            filler.unlink()
            await eventually(
                lambda: _status_is(client.get("/readyz"), 200), "/readyz to be 200 again"
            )
            taken = await client.post("/v1/events", json=event("v-1"), headers=INGEST)
            assert taken.status_code == 202
        (ended,) = lines(daemon, OUTAGE_ENDED)
        assert ended["refused_requests"] == 1
        assert errors_besides_the_outage(daemon) == []


async def test_an_outcome_the_full_disk_refused_is_written_when_space_returns_and_not_resent(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The provider answers while the disk is full: the outcome cannot be written (nor
    journaled), so it is kept in memory; the notification is not sent again meanwhile, the
    outcome is written once there is room, and a restart after that does not send it again."""
    receiver.gate = asyncio.Event()  # the receiver holds its answer until the disk is full
    with state_on_a_small_disk(tmp_path) as var:
        async with running(tmp_path, receiver) as daemon:
            async with daemon.client() as client:
                taken = await client.post("/v1/events", json=event("v-1"), headers=INGEST)
                (alert_id,) = taken.json()["alerts"]
                await until(lambda: receiver.arrivals == 1, "the send to arrive")
                filler = fill(var)
                receiver.gate.set()  # the provider answers: sent
                await receiver.wait_for(1)
                await eventually(
                    lambda: _status_is(client.get("/readyz"), 503), "the outcome's outage"
                )
                assert await delivery(client, alert_id) == ("pending", 0)  # not in the table

                filler.unlink()
                await eventually(
                    lambda: _is(delivery(client, alert_id), ("sent", 1)), "the outcome written"
                )
                assert (await client.get("/readyz")).status_code == 200
                assert receiver.arrivals == 1

            daemon.send_signal(signal.SIGTERM)
            assert await daemon.wait() == 0
            await daemon.start()
            async with daemon.client() as client:
                later = await client.post("/v1/events", json=event("v-2"), headers=INGEST)
                (later_id,) = later.json()["alerts"]
                # Had the first been pending still, it would go out first (older, as urgent).
                notifications = await receiver.wait_for(2)
                assert [n["body"]["alert_id"] for n in notifications] == [alert_id, later_id]
            assert receiver.arrivals == 2


async def test_a_state_whose_file_system_turns_read_only_is_refused_and_nothing_crashes(
    tmp_path: Path, receiver: Receiver
) -> None:
    with ext4_image(tmp_path / "var", tmp_path / "state.img") as var:
        async with running(tmp_path, receiver) as daemon, daemon.client() as client:
            taken = await client.post("/v1/events", json=event("v-before"), headers=INGEST)
            assert taken.status_code == 202
            await receiver.wait_for(1)

            read_only_after_an_error(var)
            for n in range(3):
                refused = await client.post("/v1/events", json=event(f"v-{n}"), headers=INGEST)
                assert refused.status_code == 503
                assert "it is read-only" in refused.json()["error"]
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()["state"]["reason"]) == (503, "read_only")
            assert (await client.get("/healthz")).status_code == 200  # alive, not ready

            daemon.send_signal(signal.SIGTERM)
            assert await daemon.wait() == 0  # a clean stop, whatever it could not write
        (began,) = lines(daemon, OUTAGE_BEGAN)
        assert began["reason"] == "read_only"
        assert len(receiver.received) == 1  # nothing refused was sent


async def _is(answer: Awaitable[object], expected: object) -> bool:
    return await answer == expected


async def _status_is(response: Awaitable[httpx.Response], status: int) -> bool:
    return (await response).status_code == status


async def test_a_disk_with_room_for_a_probe_but_not_for_a_batch_stays_unready_and_logs_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A nearly full disk: the probe (one small row) fits, the sender's batch does not. The
    outage must not end at each probe and begin again at each retry (two log lines and an
    outage counted per retry, /readyz flapping 200/503 under the load balancer)."""
    batch = [{**event(f"v-{n}"), "kind": "x" * 1500} for n in range(50)]  # ~80 kB of events
    with state_on_a_small_disk(tmp_path) as var:
        async with running(tmp_path, receiver) as daemon, daemon.client() as client:
            filler = fill(var)
            with filler.open("r+b") as file:  # leave 64 kB: room for a probe, not the batch
                file.truncate(filler.stat().st_size - 65536)
            for _ in range(3):
                refused = await client.post("/v1/events", json=batch, headers=INGEST)
                assert refused.status_code == 503
                await asyncio.sleep(1.5)  # the daemon's probe runs every second meanwhile
                assert (await client.get("/readyz")).status_code == 503
            assert await metric(client, 'alertd_state_outages_total{reason="full"}') == 1
        assert len(lines(daemon, OUTAGE_BEGAN)) == 1
