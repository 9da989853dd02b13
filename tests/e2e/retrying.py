"""Clients that send events of new keys all along, each retrying what was refused (a 503, or
a connection cut) until it is accepted, as a well-behaved sender does: for the tests that take
the database away under load."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from .conftest import CRITICAL, INGEST, Alertd


class RetryingClients:
    """`count` clients, client i sending to node i modulo the nodes; `accepted` lists the keys
    accepted (each fired one alert), `refusals` counts the answers that were 503."""

    def __init__(self, nodes: Sequence[Alertd], count: int = 4, prefix: str = "c") -> None:
        self.accepted: list[str] = []
        self.refusals = 0
        self._sending = True
        self._tasks = [
            asyncio.create_task(self._send(f"{prefix}{i}", nodes[i % len(nodes)]))
            for i in range(count)
        ]

    async def stop(self) -> None:
        """Stop sending, once each client's event under way is accepted."""
        self._sending = False
        await asyncio.gather(*self._tasks)

    async def _send(self, name: str, node: Alertd) -> None:
        async with node.client() as client:
            number = 0
            while self._sending:
                vehicle = f"{name}-{number}"
                unanswered = False  # a try went unanswered: it may have been recorded
                while True:
                    try:
                        answer = await client.post(
                            "/v1/events", json={**CRITICAL, "vehicle_id": vehicle}, headers=INGEST
                        )
                    except httpx.TransportError:
                        unanswered = True
                        await asyncio.sleep(0.05)
                        continue
                    if answer.status_code == 202:
                        fired = len(answer.json()["alerts"])
                        # a new key fires once
                        assert fired == 1 or (unanswered and fired == 0), (vehicle, answer.text)
                        self.accepted.append(vehicle)
                        break
                    assert answer.status_code == 503, answer.text
                    assert float(answer.headers["Retry-After"]) > 0
                    self.refusals += 1
                    await asyncio.sleep(0.05)
                number += 1
