"""A real HTTP server (uvicorn on a free port) serving the API over a fake backend."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from alertd.clock import SYSTEM_CLOCK, Clock
from alertd.config import ServerSettings
from alertd.core import Acted, AlertDetail, ReloadOutcome, RuleProblem, SilenceExpired
from alertd.dsl import compile_text
from alertd.engine.engine import Engine
from alertd.engine.errors import EventTimeError, InvalidBatch, InvalidEvent
from alertd.engine.ids import new_alert_id
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.engine.state import AlertPage, AlertQuery, AlertRecord, Escalation, EscalationStep
from alertd.engine.verdicts import WhatIf, what_if
from alertd.incidents import Action, ActionRefused, full_timeline
from alertd.migrations import migrate
from alertd.model import Alert, NotifyTarget, Rule, SourceLocation, SuppressSpec
from alertd.notify.notification import DeliveryState
from alertd.oncall import OnCall
from alertd.server.app import Api
from alertd.server.listener import HttpServer, bind, bound_port
from alertd.silences import Listed, Silences, SilenceState, SilenceTable, read_draft
from alertd.state_health import StateProblem

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
    "fired_at": "2026-01-01T10:00:00.000Z",
    "received_at": "2026-01-01T10:00:01.000Z",
    "suppressed_count": 0,
    "labels": {},
    "event": {"type": "safety_event", "vehicle_id": "v1"},
    "count_events": [],
    "acked_at": None,
    "acked_by": None,
    "acked_via": None,
    "resolved_at": None,
    "resolved_by": None,
    "resolved_via": None,
    "match_count": 1,
    "last_matched_at": None,
    "last_event": None,
    "silenced_by": None,
    "notifications": [
        {
            "id": "n1",
            "notice": "fired",
            "channel": "webhook",
            "recipient": "http://127.0.0.1:9/alerts",
            "state": "pending",
            "attempts": 1,
            "last_error": "connection refused",
            "sent_at": None,
            "next_attempt_at": "2026-01-01T10:00:03.000Z",
            "held_until": None,
            "hold": None,
            "bundles": [],
        }
    ],
    "escalation": None,
    "timeline": [
        {
            "at": "2026-01-01T10:00:01.000Z",
            "action": "fired",
            "by": "critical_safety_event",
            "via": "rule",
            "detail": {},
        },
        {
            "at": "2026-01-01T10:00:01.000Z",
            "action": "notified",
            "by": None,
            "via": None,
            "detail": {
                "channel": "webhook",
                "notice": "fired",
                "recipients": ["http://127.0.0.1:9/alerts"],
            },
        },
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
    "group": None,
    "by": [],
    "resolve": None,
    "escalate": None,
    "notify": [{"channel": "sms", "groups": []}],
    "template": None,
    "labels": {},
    "enabled": True,
    "location": "rules/safety.rules:3:1",
}


ALERT_RECORD = AlertRecord(
    Alert(
        id=str(ALERT["id"]),
        rule_id="critical_safety_event",
        rule_name="Critical Safety Event",
        priority="urgent",
        key=("v1", "d1"),
        event={"type": "safety_event", "vehicle_id": "v1"},
        fired_at=datetime(2026, 1, 1, 10, tzinfo=UTC).timestamp(),
        received_at=datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC).timestamp(),
    )
)
DELIVERY = DeliveryState(
    id="n1",
    channel="webhook",
    kind="webhook",
    recipient="http://127.0.0.1:9/alerts?token=secret",  # shown without its query
    state="pending",
    attempts=1,
    last_error="connection refused",
    created_at=ALERT_RECORD.alert.received_at,
    next_attempt_at=ALERT_RECORD.alert.received_at + 2,
    sent_at=None,
    receipt=None,
)
TIMELINE = full_timeline(ALERT_RECORD, [], [DELIVERY])
ESCALATION = Escalation(
    "fleet_ops",
    (EscalationStep(0.0, (NotifyTarget("sms"),)), EscalationStep(900.0, (NotifyTarget("email"),))),
    repeat=1,
    ran=1,
)
RULE_OBJECT = Rule(
    id="critical_safety_event",
    name="Critical Safety Event",
    condition=lambda event: True,
    priority="urgent",
    event_types=frozenset({"safety_event"}),
    suppress=SuppressSpec(300.0, key=lambda event: (), key_source=("vehicle_id",)),
    notify=(NotifyTarget("sms"),),
    location=SourceLocation("rules/safety.rules", 3, 1),
    condition_source='type == "safety_event" and severity == "critical"',
)


EXPLAINED_RULES = """\
rule breakdown {
  when type == "breakdown" or (type == "location_update" and speed_kmh == 0)
  count 2 within 10m by vehicle_id
}
"""


def silences_in_memory(oncall: OnCall | None) -> Silences:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    migrate(connection)
    return Silences(SilenceTable(connection), oncall)


@dataclass
class FakeBackend:
    """The API's Core and Control in one. Records batches; an event with `"timestamp": "bad"` is
    invalid; `"fire": true` fires."""

    state: str = "ready"
    shedding: float | None = None
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    queries: list[AlertQuery] = field(default_factory=list)
    acts: list[tuple[str, str, str, str]] = field(default_factory=list)
    reload_errors: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None
    gate: asyncio.Event | None = None  # when set, ingest waits for it (a batch being recorded)
    problem: StateProblem | None = None
    clock: Clock = SYSTEM_CLOCK
    silencing: Silences = field(default_factory=lambda: silences_in_memory(None))

    def status(self) -> str:
        return self.state

    def state_problem(self) -> StateProblem | None:
        return self.problem

    def retry_after(self) -> float | None:
        return self.shedding

    async def ingest(self, events: list[dict[str, Any]], received_at: float) -> list[str]:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        bad = self.invalid_events(events, received_at)
        if bad:
            raise InvalidBatch(bad)
        self.batches.append(events)
        return [f"alert-{i}" for i, event in enumerate(events) if event.get("fire")]

    def invalid_events(
        self, events: Sequence[dict[str, Any]], received_at: float
    ) -> list[tuple[int, InvalidEvent]]:
        return [
            (i, EventTimeError("timestamp: cannot parse 'bad'"))
            for i, event in enumerate(events)
            if event.get("timestamp") == "bad"
        ]

    async def alerts(self, query: AlertQuery) -> AlertPage:
        self.queries.append(query)
        return AlertPage([ALERT_RECORD], None)

    async def alert(self, alert_id: str) -> AlertDetail | None:
        if alert_id != ALERT["id"]:
            return None
        return AlertDetail(ALERT_RECORD, [DELIVERY], TIMELINE)

    async def act(self, alert_id: str, action: Action, by: str, via: str) -> Acted | None:
        """Ack, unack and resolve change the alert; `by: "again"` is a repeat; escalate is
        refused."""
        if alert_id != ALERT["id"]:
            return None
        self.acts.append((alert_id, action, by, via))
        if action == "escalate":
            raise ActionRefused("it has no escalation policy", ALERT_RECORD)
        at = datetime(2026, 1, 1, 10, 5, tzinfo=UTC).timestamp()
        record = {
            "ack": replace(ALERT_RECORD, status="acked", acked_at=at, acked_by=by, acked_via=via),
            "unack": ALERT_RECORD,
            "resolve": replace(
                ALERT_RECORD, status="resolved", resolved_at=at, resolved_by=by, resolved_via=via
            ),
        }[action]
        record = replace(record, escalation=ESCALATION)
        detail = AlertDetail(record, [DELIVERY], TIMELINE, next_step_due=at + 900)
        if by == "again":
            return Acted(detail, False, f"already {action}ed; nothing changed")
        return Acted(detail, True, f"{action}ed by {by}")

    def rules(self) -> Sequence[Rule]:
        return [RULE_OBJECT]

    async def explain(self, event: dict[str, Any], received_at: float) -> WhatIf:
        """The real explanation, of EXPLAINED_RULES over an empty state."""
        if event.get("timestamp") == "bad":
            raise EventTimeError("timestamp: cannot parse 'bad'")
        engine = Engine(RuleSet(compile_text(EXPLAINED_RULES, "rules/fleet.rules")), MemoryStore())
        return what_if(engine, event, received_at)

    # Silences: the real ones (alertd.silences), over a database in memory, on the API's clock.

    async def add_silence(self, request: Mapping[str, Any], via: str | None = None) -> Listed:
        now = self.clock.now()
        silence = read_draft(request, now, new_alert_id(now), via=via)
        self.silencing.table.add(silence)
        self.silencing.remember(silence)
        return Listed(silence, silence.state(now))

    async def silences_listed(self, state: SilenceState | None = None) -> list[Listed]:
        return self.silencing.listed(self.clock.now(), state)

    async def silence(self, silence_id: str) -> Listed | None:
        return self.silencing.get(silence_id, self.clock.now())

    async def expire_silence(self, silence_id: str) -> SilenceExpired | None:
        now = self.clock.now()
        done = self.silencing.expire(silence_id, now)
        if done is None:
            return None
        self.silencing.remember(done[0])
        return SilenceExpired(Listed(done[0], done[0].state(now)), done[1])

    async def reload(self) -> ReloadOutcome:
        problems = [
            RuleProblem(e["path"], e["line"], e["column"], e["message"]) for e in self.reload_errors
        ]
        return ReloadOutcome(rules=1, problems=problems)


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
        backend = FakeBackend(clock=clock)
        api = Api(backend, backend, settings, clock)
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
