"""Several real `alertd run` nodes on one PostgreSQL database (a schema of the test's own),
events of the same keys sent to all of them at once: every key pages exactly once per window,
a counting window counts every node's events, and an escalation step runs once.

Each node has its own folder and config, as on its own machine; they share the database and
the receivers only.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..sse import events_of
from .conftest import (
    ADMIN,
    CRITICAL,
    INGEST,
    RULES,
    Alertd,
    Receiver,
    add_oncall,
    two_steps,
    write_setup,
)

pytestmark = pytest.mark.e2e

BURST = """\
rule braking_burst {
  name     "Braking burst"
  when     type == "harsh_braking"
  priority high
  count    5 within 10m by vehicle_id
  suppress 10m by vehicle_id
  notify   webhook
}
"""
STEP = 3  # seconds from an escalation's first step to its second
ESCALATING = """\
rule escalating {
  name     "Escalating"
  when     type == "door_open"
  priority urgent
  suppress 10m by vehicle_id
  escalate ops
}
"""
ONCALL = two_steps(STEP)

Start = Callable[[int], Coroutine[Any, Any, list[Alertd]]]


@pytest.fixture
async def start_nodes(
    tmp_path: Path, receiver: Receiver, second: Receiver, postgres_url: str
) -> AsyncIterator[Start]:
    """Start N nodes at once (so their migrations meet at the advisory lock)."""
    started: list[Alertd] = []

    async def start(count: int) -> list[Alertd]:
        nodes = []
        for number in range(1, count + 1):
            home = tmp_path / f"node{number}"
            write_setup(home, receiver.url, state=f'url = "{postgres_url}"')
            (home / "rules" / "safety.rules").write_text(RULES + BURST + ESCALATING)
            add_oncall(home, ONCALL, partner_url=second.url)
            nodes.append(Alertd(home))
        started.extend(nodes)
        await asyncio.gather(*(node.start() for node in nodes))
        return nodes

    try:
        yield start
    finally:
        for node in started:
            node.kill()


async def post_everywhere(
    nodes: list[Alertd], events: list[tuple[int, dict[str, Any]]]
) -> list[list[str]]:
    """Send each (node index, event) at once, all concurrently; return each one's alerts."""
    clients = [node.client() for node in nodes]
    try:

        async def post(index: int, event: dict[str, Any]) -> list[str]:
            answer = await clients[index].post("/v1/events", json=event, headers=INGEST)
            assert answer.status_code == 202, answer.text
            alerts: list[str] = answer.json()["alerts"]
            return alerts

        return await asyncio.gather(*(post(index, event) for index, event in events))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


async def all_alerts(node: Alertd) -> list[dict[str, Any]]:
    async with node.client() as client:
        answer = await client.get("/v1/alerts", params={"limit": 1000}, headers=ADMIN)
    assert answer.status_code == 200
    alerts: list[dict[str, Any]] = answer.json()["alerts"]
    return alerts


async def settled(node: Alertd, alert_ids: list[str], sends: int) -> list[dict[str, Any]]:
    """Each alert's detail once each has `sends` notifications and all are recorded sent."""
    deadline = time.monotonic() + 30
    async with node.client() as client:
        while True:
            found = []
            for alert_id in alert_ids:
                answer = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
                found.append(answer.json())
            if all(
                len(a["notifications"]) >= sends
                and all(n["state"] == "sent" for n in a["notifications"])
                for a in found
            ):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"not every notification was sent: {found}")
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("count", [2, 3])
async def test_every_key_pages_once_and_counting_windows_count_across_nodes(
    count: int, start_nodes: Start, receiver: Receiver
) -> None:
    nodes = await start_nodes(count)
    keys = [f"v-{k}" for k in range(20)]
    # Every node takes every key's event, twice, all at the same moment.
    events = [
        (index, {**CRITICAL, "vehicle_id": key})
        for _ in range(2)
        for key in keys
        for index in range(count)
    ]
    answers = await post_everywhere(nodes, events)
    fired = Counter(
        event["vehicle_id"] for (_, event), alerts in zip(events, answers, strict=True) if alerts
    )
    assert fired == Counter(keys)  # one 202 of all 2N per key said "fired"

    # Five harsh brakings per vehicle, spread over the nodes, sent at once: no node sees five,
    # the window does. Four for the last vehicle: it does not fire.
    braking = [
        (i % count, {"type": "harsh_braking", "vehicle_id": f"b-{b}"})
        for b in range(4)
        for i in range(5 if b < 3 else 4)
    ]
    answers = await post_everywhere(nodes, braking)
    bursts = Counter(
        event["vehicle_id"] for (_, event), alerts in zip(braking, answers, strict=True) if alerts
    )
    assert bursts == Counter(["b-0", "b-1", "b-2"])

    listed = await all_alerts(nodes[-1])  # any node shows every node's alerts
    assert sorted(a["key"][0] for a in listed) == sorted([*keys, "b-0", "b-1", "b-2"])
    await settled(nodes[0], [a["id"] for a in listed], sends=1)
    paged = Counter(n["body"]["key"][0] for n in receiver.received)
    assert paged == Counter([*keys, "b-0", "b-1", "b-2"])  # each key paged once, by one node
    assert len({n["headers"]["idempotency-key"] for n in receiver.received}) == len(paged)


async def test_an_escalation_step_runs_once_across_three_nodes(
    start_nodes: Start, receiver: Receiver, second: Receiver
) -> None:
    nodes = await start_nodes(3)
    keys = [f"d-{k}" for k in range(6)]
    events = [(i, {"type": "door_open", "vehicle_id": key}) for key in keys for i in range(3)]
    answers = await post_everywhere(nodes, events)
    alert_ids = [alert for alerts in answers for alert in alerts]
    assert len(alert_ids) == len(keys)

    await second.wait_for(len(keys), timeout=30)  # each alert's second step
    details = await settled(nodes[1], alert_ids, sends=2)
    for detail in details:
        steps = [e for e in detail["timeline"] if e["action"] == "escalated"]
        assert [(e["via"], e["detail"]["step"]) for e in steps] == [("rule", 1), ("timer", 2)]
        assert detail["escalation"]["step"] == 2
    assert sorted(n["body"]["alert_id"] for n in second.received) == sorted(alert_ids)
    assert sorted(n["body"]["alert_id"] for n in receiver.received) == sorted(alert_ids)
    assert all(n["body"]["notice"] == "escalated" for n in second.received)


async def test_a_nodes_stream_shows_every_nodes_changes_once(start_nodes: Start) -> None:
    """Node 2's /v1/alerts/stream follows the changes both nodes make, concurrently: alerts
    fired on either and acks on node 1, each once, none missed (rows of transactions that
    commit out of order are read in the feed's order, once final)."""
    nodes = await start_nodes(2)
    keys = [f"s-{k}" for k in range(40)]
    async with (
        httpx.AsyncClient(base_url=nodes[1].url, headers=ADMIN, timeout=30) as http,
        http.stream("GET", "/v1/alerts/stream") as stream,
    ):
        received = events_of(stream.aiter_lines())
        assert (await anext(received))["event"] == "ready"
        answers = await post_everywhere(
            nodes, [(k % 2, {**CRITICAL, "vehicle_id": key}) for k, key in enumerate(keys)]
        )
        fired = [alert for alerts in answers for alert in alerts]
        async with nodes[0].client() as client:
            acks = await asyncio.gather(
                *(
                    client.post(f"/v1/alerts/{alert_id}/ack", json={"by": "ops"}, headers=ADMIN)
                    for alert_id in fired[::2]
                )
            )
        assert all(answer.status_code == 200 for answer in acks)
        expected = [("fired", a) for a in fired] + [("acked", a) for a in fired[::2]]
        seen: list[dict[str, Any]] = []

        async def read() -> None:
            async for item in received:
                seen.append(item)
                if len(seen) == len(expected):
                    return

        await asyncio.wait_for(read(), 30)
    changes = [(item["data"]["change"], item["data"]["alert"]["id"]) for item in seen]
    assert sorted(changes) == sorted(expected)  # each once, from both nodes
    assert len({item["id"] for item in seen}) == len(seen)  # cursors never repeat
    for alert_id in fired[::2]:  # an alert's changes in the order they happened
        assert changes.index(("fired", alert_id)) < changes.index(("acked", alert_id))
