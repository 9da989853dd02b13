"""A real `alertd run` killed with SIGKILL just after it delivered: what it had delivered is not
sent again after the restart (each outcome was journaled the moment the receiver answered)."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import ADMIN, CRITICAL, INGEST, Alertd, Receiver
from tests.waiting import until


def sent_lines(alertd: Alertd) -> int:
    return sum(line.get("outcome") == "sent" for line in alertd.log())


async def test_a_kill_9_just_after_deliveries_sends_none_of_them_again(
    alertd: Alertd, receiver: Receiver
) -> None:
    events = [{**CRITICAL, "vehicle_id": f"v-{i}"} for i in range(20)]
    async with alertd.client() as client:
        response = await client.post("/v1/events", json=events, headers=INGEST)
        alert_ids = response.json()["alerts"]
    assert len(alert_ids) == 20
    # The dispatcher logs a delivery once its outcome is journaled; the recorder writes it into
    # the outbox table a few milliseconds later, and the kill comes before it has.
    await until(lambda: sent_lines(alertd) == 20, "twenty deliveries")
    alertd.kill()
    await alertd.start()

    async with alertd.client() as client:
        for _ in range(400):  # a repeat would be sent before its row showed "sent"
            answers = [await client.get(f"/v1/alerts/{i}", headers=ADMIN) for i in alert_ids]
            states = [n["state"] for a in answers for n in a.json()["notifications"]]
            if states == ["sent"] * 20:
                break
            await asyncio.sleep(0.05)
        assert states == ["sent"] * 20
    assert len(receiver.received) == 20
    keys = {r["headers"]["idempotency-key"] for r in receiver.received}
    assert keys == {f"{alert_id}.1" for alert_id in alert_ids}
