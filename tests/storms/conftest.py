"""Storm holds on a fake clock, over a real SQLite state file: the incident manager pages, the
holds keep back what must wait, and the timers release it, as in the daemon (alertd.pipeline)
but without its event loop. `Storm.reopen()` starts again on the same file, as a restart does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alertd import jsonutil
from alertd.clock import FakeClock, SteadyClock
from alertd.config import Settings
from alertd.engine.sqlite_store import SQLiteStore
from alertd.incidents import Incidents, Setup, Timers
from alertd.model import Alert, GroupKey, NotifyTarget, Priority
from alertd.notify.notification import Notification
from alertd.notify.outbox import OutboxLog, create_schema
from alertd.notify.render import Renderer
from alertd.storms.held import HeldLog
from alertd.storms.holds import Holds
from tests.notify.conftest import TEMPLATES, make_alert, make_settings

MINUTE = 60.0
PHONE = "+15550100001"


@dataclass
class Row:
    """An outbox row as a test reads it."""

    id: str
    alert_id: str
    channel: str
    recipient: str
    state: str
    priority: str
    hold: str | None
    bundle: str | None
    alerts: list[str]
    content: dict[str, Any]
    next_attempt_at: float

    @property
    def text(self) -> str:
        return str(self.content.get("text") or self.content.get("body") or "")


@dataclass
class Storm:
    path: Path
    clock: FakeClock
    settings: Settings
    store: SQLiteStore = field(init=False)
    timers: Timers = field(init=False)
    incidents: Incidents = field(init=False)
    fired: int = 0
    handed: list[Notification] = field(default_factory=list)  # what the dispatcher was given

    def __post_init__(self) -> None:
        self.open()

    def open(self) -> None:
        self.store = SQLiteStore(self.path)
        create_schema(self.store.connection)
        self.timers = Timers(self.store, SteadyClock(self.clock))
        renderer = Renderer.load(TEMPLATES, self.settings.notify)
        setup = Setup(self.settings, renderer)
        self.incidents = Incidents(
            self.store, OutboxLog(self.store.connection), self.timers, self.clock, setup
        )
        self.incidents.holds = Holds(
            self.store,
            HeldLog(self.store.connection),
            self.timers,
            self.clock,
            lambda: self.incidents.setup,
        )

    def reopen(self) -> None:
        """A restart: everything in memory is gone, the state file stays."""
        self.store.close()
        self.open()

    def fire(
        self,
        channel: str = "sms",
        priority: Priority = "medium",
        group: tuple[Any, ...] | None = None,
        wait: float = 5 * MINUTE,
        **fields: Any,
    ) -> Alert:
        """An alert of rule `fleet` for vehicle v-N, paging `channel`, fired now."""
        self.fired += 1
        alert = make_alert(
            id=f"01KDSTORM{self.fired:017d}",
            rule_id=fields.pop("rule_id", "fleet"),
            rule_name=fields.pop("rule_name", "Harsh braking"),
            priority=priority,
            key=(f"v-{self.fired}",),
            fired_at=self.clock.now(),
            received_at=self.clock.now(),
            notify=(NotifyTarget(channel),),
            group=None if group is None else GroupKey(group, wait),
            **fields,
        )
        with self.store.transaction():
            self.store.add_alert(alert)
            self.handed += self.incidents.fired([(alert, None)], self.clock.now())
        return alert

    def advance(self, seconds: float) -> list[Notification]:
        """Move the clock on and run the timers due by then; what they released."""
        self.clock.advance(seconds)
        with self.store.transaction():
            released = self.timers.run_due(self.timers.now(), 1000).notifications
        self.handed += released
        return released

    def rows(self, **where: str) -> list[Row]:
        clauses = " AND ".join(f"{column} = ?" for column in where) or "1"
        cursor = self.store.connection.execute(
            "SELECT id, alert_id, channel, recipient, state, priority, hold, bundle, alerts,"
            f" content, next_attempt_at FROM outbox WHERE {clauses} ORDER BY seq",
            tuple(where.values()),
        )
        return [
            Row(*row[:8], jsonutil.loads(row[8]) if row[8] else [], jsonutil.loads(row[9]), row[10])
            for row in cursor
        ]

    def sendable(self) -> list[Row]:
        """What goes out: pending rows, in outbox order."""
        return self.rows(state="pending")

    def texts(self) -> list[str]:
        return [row.text for row in self.sendable()]


def storm_settings(tmp_path: Path, **channels: dict[str, Any]) -> Settings:
    tables = {
        "sms": {"to": [PHONE]},
        "webhook": {"url": "http://127.0.0.1:9/hook"},
        "email": {"to": ["ops@example.com"], "from": "alertd@example.com"},
        "slack": {"channel": "#fleet"},
    }
    for name, table in channels.items():
        tables[name] = {**tables.get(name, {}), **table}
    return make_settings(tmp_path, channels=tables, server={"public_url": "https://alertd.test"})


@pytest.fixture
def make_storm(tmp_path: Path) -> Iterator[Any]:
    made: list[Storm] = []

    def make(**channels: dict[str, Any]) -> Storm:
        storm = Storm(tmp_path / "state.db", FakeClock(), storm_settings(tmp_path, **channels))
        made.append(storm)
        return storm

    yield make
    for storm in made:
        storm.store.close()


__all__ = ["MINUTE", "PHONE", "Row", "Storm", "make_alert"]
