"""A real HTTP server (uvicorn on a free port) serving the API over a fake backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest

from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import ServerSettings
from alertd.engine.state import AlertQuery
from alertd.server.app import AlertPage, Api, InvalidEvents, ReloadOutcome
from alertd.server.listener import HttpServer, bind, bound_port

INGEST_TOKEN = "ingest-token-0123456789"
ADMIN_TOKEN = "admin-token-9876543210"
INGEST = {"Authorization": f"Bearer {INGEST_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

ALERT = {
    "id": "01JGXYZ0000000000000000000",
    "rule": "critical_safety_event",
    "rule_name": "Critical Safety Event",
    "description": "",
    "priority": "urgent",
    "key": ["v1", "d1"],
    "status": "firing",
    "fired_at": "2026-01-01T10:00:00Z",
    "received_at": "2026-01-01T10:00:01Z",
    "suppressed_count": 0,
    "labels": {},
    "event": {"type": "safety_event", "vehicle_id": "v1"},
    "count_events": [],
    "acked_at": None,
    "acked_by": None,
    "notifications": [
        {
            "id": "n1",
            "channel": "webhook",
            "recipient": "http://127.0.0.1:9/alerts",
            "state": "pending",
            "attempts": 1,
            "last_error": "connection refused",
            "sent_at": None,
            "next_attempt_at": "2026-01-01T10:00:03Z",
        }
    ],
}

RULE = {
    "id": "critical_safety_event",
    "name": "Critical Safety Event",
    "description": "",
    "priority": "urgent",
    "when": 'type == "safety_event" and severity == "critical"',
    "event_types": ["safety_event"],
    "count": None,
    "suppress": {"seconds": 300.0, "by": ["vehicle_id"]},
    "notify": [{"channel": "sms", "groups": []}],
    "template": None,
    "labels": {},
    "enabled": True,
    "location": "rules/safety.rules:3:1",
}


@dataclass
class FakeBackend:
    """Records batches; an event with `"timestamp": "bad"` is invalid; `"fire": true` fires."""

    state: str = "ready"
    shedding: float | None = None
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    queries: list[AlertQuery] = field(default_factory=list)
    acks: list[tuple[str, str]] = field(default_factory=list)
    reload_errors: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None

    def status(self) -> str:
        return self.state

    def retry_after(self) -> float | None:
        return self.shedding

    async def ingest(self, events: list[dict[str, Any]], received_at: float) -> list[str]:
        if self.fail_with is not None:
            raise self.fail_with
        bad = self.invalid_events(events, received_at)
        if bad:
            raise InvalidEvents(bad, len(events))
        self.batches.append(events)
        return [f"alert-{i}" for i, event in enumerate(events) if event.get("fire")]

    def invalid_events(
        self, events: Sequence[dict[str, Any]], received_at: float
    ) -> list[dict[str, Any]]:
        return [
            {"index": i, "error": "timestamp: cannot parse 'bad'"}
            for i, event in enumerate(events)
            if event.get("timestamp") == "bad"
        ]

    async def alerts(self, query: AlertQuery) -> AlertPage:
        self.queries.append(query)
        summary = {k: v for k, v in ALERT.items() if k != "notifications"}
        return AlertPage([summary], None)

    async def alert(self, alert_id: str) -> Mapping[str, Any] | None:
        return ALERT if alert_id == ALERT["id"] else None

    async def ack(self, alert_id: str, by: str) -> Mapping[str, Any] | None:
        if alert_id != ALERT["id"]:
            return None
        self.acks.append((alert_id, by))
        return {**ALERT, "status": "acked", "acked_by": by, "acked_at": "2026-01-01T10:05:00Z"}

    def rules(self) -> Sequence[Mapping[str, Any]]:
        return [RULE]

    async def reload(self) -> ReloadOutcome:
        return ReloadOutcome(rules=1, errors=self.reload_errors)


@dataclass
class Served:
    client: httpx.AsyncClient
    backend: FakeBackend
    api: Api


ServeFactory = Callable[..., AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve() -> ServeFactory:
    """`async with serve(max_body_bytes=100) as served:` — the API on a free port; `clock=` for
    a FakeClock."""

    @asynccontextmanager
    async def running(clock: Clock = SYSTEM_CLOCK, **overrides: Any) -> AsyncIterator[Served]:
        settings = replace(
            ServerSettings(
                listen="127.0.0.1:0",
                ingest_tokens=(INGEST_TOKEN,),
                admin_tokens=(ADMIN_TOKEN,),
            ),
            **overrides,
        )
        backend = FakeBackend()
        api = Api(backend, settings, clock)
        sock = bind("127.0.0.1", 0)
        server = HttpServer(api, sock, grace=1)
        await server.start()
        base = f"http://127.0.0.1:{bound_port(sock)}"
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                yield Served(client, backend, api)
        finally:
            await server.stop()

    return running


@pytest.fixture
async def served(serve: ServeFactory) -> AsyncIterator[Served]:
    async with serve() as running:
        yield running
