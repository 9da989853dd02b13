"""`alertd run` on PostgreSQL end to end: a real process, real HTTP, a real database (a schema
of the test's own), a real webhook receiver; events in, the notification out, the ack, and
the state kept across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..waiting import eventually
from .conftest import ADMIN, CRITICAL, INGEST, Alertd, Receiver, write_setup

pytestmark = pytest.mark.e2e


async def test_an_event_in_a_notification_out_an_ack_and_a_restart(
    tmp_path: Path, receiver: Receiver, postgres_url: str
) -> None:
    write_setup(tmp_path, receiver.url, state=f'url = "{postgres_url}"')
    alertd = Alertd(tmp_path)
    await alertd.start()
    try:
        async with alertd.client() as client:
            response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
            assert response.status_code == 202
            (alert_id,) = response.json()["alerts"]
            (notification,) = await receiver.wait_for(1)
            assert notification["body"]["alert_id"] == alert_id
            assert notification["headers"]["idempotency-key"].startswith(alert_id)

            async def sent(count: int) -> bool | None:
                detail = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
                states = [n["state"] for n in detail.json()["notifications"]]
                return states == ["sent"] * count or None

            await eventually(lambda: sent(1), "the notification recorded sent")
            acked = await client.post(
                f"/v1/alerts/{alert_id}/ack", json={"by": "ops"}, headers=ADMIN
            )
            assert acked.status_code == 200
            assert acked.json()["status"] == "acked"
            told = await receiver.wait_for(2)  # the ack is told to whom the alert paged
            assert [n["body"]["notice"] for n in told] == ["fired", "acked"]
            await eventually(lambda: sent(2), "both recorded sent")  # none in flight at the kill

        alertd.kill()  # kill -9: the 202 meant recorded, in PostgreSQL
        await alertd.start()
        async with alertd.client() as client:
            again = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
            assert again.json()["alerts"] == []  # suppressed: the window outlived the process
            detail = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
            assert detail.json()["status"] == "acked"
            assert not (tmp_path / "var" / "alertd.db").exists()  # nothing went to SQLite
        assert len(receiver.received) == 2
    finally:
        alertd.kill()
