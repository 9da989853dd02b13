"""Two real `alertd run` nodes on a PostgreSQL server of the test's own (tests/pgserver.py),
restarted under load, and stopped then started: the nodes answer 503 with Retry-After while it
is down, carry on by themselves once it is back, and nothing accepted is lost (each key
accepted is paged exactly once; nothing refused is recorded)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import psycopg
import pytest

from ..pgserver import private_server
from ..waiting import eventually, until
from .conftest import CRITICAL, INGEST, Alertd, Receiver, write_setup
from .retrying import RetryingClients

pytestmark = pytest.mark.e2e


async def test_a_database_restarted_under_load_loses_nothing_accepted(
    tmp_path: Path, receiver: Receiver
) -> None:
    with private_server() as server:
        nodes = []
        for number in (1, 2):
            home = tmp_path / f"node{number}"
            write_setup(home, receiver.url, state=f'url = "{server.url}"')
            nodes.append(Alertd(home))
        try:
            for node in nodes:
                await node.start()
            clients = RetryingClients(nodes)
            await until(lambda: len(clients.accepted) >= 20, "events accepted")
            # pg_ctl in a thread: the receiver and the clients live in this event loop, and a
            # receiver that cannot answer for as long as a restart takes (seconds under load)
            # has its pages time out and go again, as a send the daemon gave up on may.
            await asyncio.to_thread(server.pg_ctl, "restart", "--mode", "fast")  # cuts all
            accepted = len(clients.accepted)
            await until(lambda: len(clients.accepted) >= accepted + 20, "accepted after")
            await clients.stop()

            await asyncio.to_thread(server.pg_ctl, "stop", "--mode", "fast")
            for node in nodes:
                async with node.client() as client:
                    refused = await client.post(
                        "/v1/events", json={**CRITICAL, "vehicle_id": "down"}, headers=INGEST
                    )
                    assert refused.status_code == 503
                    assert float(refused.headers["Retry-After"]) > 0

                    async def down(client: httpx.AsyncClient = client) -> bool | None:
                        answer = await client.get("/readyz")
                        return answer.status_code == 503 or None

                    await eventually(down, "/readyz to report the database gone")
            await asyncio.to_thread(server.pg_ctl, "start")
            again = RetryingClients(nodes, prefix="again")
            await until(lambda: len(again.accepted) >= 20, "events accepted again")
            await again.stop()

            everything = clients.accepted + again.accepted
            notes = await receiver.wait_for(len(everything), timeout=60)
            paged = [n["body"]["key"][0] for n in notes]
            assert sorted(paged) == sorted(everything)  # each accepted key once, no other
            with psycopg.connect(server.url) as db:
                (alerts,) = db.execute("SELECT count(*) FROM alerts").fetchone() or (0,)
            assert alerts == len(everything)  # nothing refused was recorded
        finally:
            for node in nodes:
                node.kill()
