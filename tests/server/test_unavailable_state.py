"""The API while the state cannot be written: 503 with Retry-After and the reason, /readyz
saying why; a bug is a 500, never a 503 that asks the sender to retry."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from alertd import metrics
from alertd.engine.errors import StateStoreError
from alertd.state_health import StateProblem

from ..openapi_contract import assert_answer_documented
from .conftest import INGEST, Served, ServeFactory

EVENT = {"type": "safety_event", "vehicle_id": "v1", "severity": "critical"}
SINCE = datetime(2026, 1, 1, 10, 0, tzinfo=UTC).timestamp()


@pytest.fixture
async def served(serve: ServeFactory) -> AsyncIterator[Served]:
    async with serve() as running:
        yield running


async def test_a_batch_the_full_disk_refused_is_503_with_retry_after_and_the_reason(
    served: Served,
) -> None:
    refusals = metrics.INGEST_REJECTIONS.labels("unavailable")
    before = refusals._value.get()
    served.backend.fail_with = StateStoreError("var/alertd.db: cannot commit: full", "full")
    response = await served.client.post("/v1/events", json=EVENT, headers=INGEST)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"  # a full disk is not mended in a second
    assert response.json()["error"] == (
        "alertd cannot use its state right now (its disk is full); retry later"
    )
    assert "alertd.db" not in response.text  # the file is named in the log, not to senders
    assert_answer_documented("POST", "/v1/events", response)
    assert refusals._value.get() == before + 1


async def test_a_lock_held_elsewhere_asks_for_a_retry_in_a_second(served: Served) -> None:
    served.backend.fail_with = StateStoreError("var/alertd.db: database is locked", "busy")
    response = await served.client.post("/v1/events", json=EVENT, headers=INGEST)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "another writer held its lock too long" in response.json()["error"]


async def test_a_bug_in_recording_is_500(served: Served) -> None:
    served.backend.fail_with = sqlite3.OperationalError("no such table: outbox")
    response = await served.client.post("/v1/events", json=EVENT, headers=INGEST)
    assert response.status_code == 500
    assert "retry-after" not in response.headers


async def test_readyz_says_why_the_state_cannot_be_written(served: Served) -> None:
    served.backend.state = "unavailable"
    served.backend.problem = StateProblem("read_only", "var/alertd.db: disk I/O error", SINCE)
    response = await served.client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "state": {
            "reason": "read_only",
            "why": "it is read-only",
            "since": "2026-01-01T10:00:00.000Z",
        },
    }
    assert_answer_documented("GET", "/readyz", response)

    served.backend.state, served.backend.problem = "ready", None
    response = await served.client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
