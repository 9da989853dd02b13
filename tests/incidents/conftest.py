"""An incident manager on a fake clock, over the memory store and an outbox in a list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from alertd.clock import FakeClock, SteadyClock
from alertd.config import Settings
from alertd.engine.memory_store import MemoryStore
from alertd.engine.state import AlertRecord
from alertd.incidents import Incidents, Setup, Timers
from alertd.model import Alert, NotifyTarget
from alertd.notify.notification import Notification, Paged
from alertd.notify.render import Renderer
from alertd.oncall import OnCall, parse_oncall
from tests.notify.conftest import TEMPLATES, make_alert, make_settings

ONCALL = """
[people.alice]
sms = "+15550100101"

[people.bob]
sms = "+15550100102"

[people.frank]
sms = "+15550100106"
webhook = "http://127.0.0.1:9/frank"

[schedules.ops]
time_zone = "UTC"

[[schedules.ops.rotations]]
members = ["alice", "bob"]
shift = "1d"
start = "2025-12-31T00:00"

[escalation.ops]
repeat = 1

[[escalation.ops.steps]]
after = "0s"
notify = ["sms(oncall:ops)"]

[[escalation.ops.steps]]
after = "15m"
notify = ["sms(person:frank)", "webhook"]

[escalation.later]

[[escalation.later.steps]]
after = "10m"
notify = ["sms(oncall:ops)"]
"""
"""On call on 2026-01-01 (the fake clock's day): bob (alice had 2025-12-31)."""

MINUTE = 60.0


@dataclass
class ListOutbox:
    """The outbox, as a list: what the manager enqueued, in order."""

    rows: list[Notification] = field(default_factory=list)

    def enqueue(self, notifications: Sequence[Notification]) -> int:
        ids = {row.id for row in self.rows}
        assert not ids & {n.id for n in notifications}, "a notification id was used twice"
        self.rows += notifications
        return len(notifications)

    def paged(self, alert_id: str) -> list[Paged]:
        found = [
            Paged(n.channel, n.recipient)
            for n in self.rows
            if n.alert_id == alert_id and n.notice in ("fired", "escalated")
        ]
        told = {
            (n.channel, n.recipient): (n.notice, n.created_at)
            for n in self.rows
            if n.alert_id == alert_id and n.notice in ("acked", "resolved")
        }
        return [
            replace(one, told=told[key][0], told_at=told[key][1])
            if (key := (one.channel, one.recipient)) in told
            else one
            for one in dict.fromkeys(found)
        ]

    def sent(self, alert_id: str | None = None) -> list[tuple[str, str, str, str]]:
        """(id suffix, notice, channel, recipient) of every row, of one alert or all."""
        return [
            (n.id.rpartition(".")[2], n.notice, n.channel, n.recipient)
            for n in self.rows
            if alert_id is None or n.alert_id == alert_id
        ]


def oncall_of(text: str, settings: Settings) -> OnCall:
    oncall, errors = parse_oncall(text, "oncall.toml", settings)
    assert errors == []
    return oncall


@dataclass
class World:
    clock: FakeClock
    store: MemoryStore
    outbox: ListOutbox
    timers: Timers
    incidents: Incidents
    settings: Settings
    fired: int = 0

    def fire(self, policy: str | None = "ops", **alert: object) -> Alert:
        """An alert of a rule that notifies Slack (and escalates by `policy`), fired now."""
        self.fired += 1
        fields = {
            "id": f"01KDTEST{self.fired:018d}",
            "received_at": self.clock.now(),
            "fired_at": self.clock.now(),
            "notify": (NotifyTarget("slack"),),
            **alert,
        }
        made = make_alert(**fields)
        self.store.add_alert(made)
        self.incidents.fired([(made, policy)], self.clock.now())
        return made

    def run_timers(self) -> list[Notification]:
        return self.timers.run_due(self.timers.now(), 1000).notifications

    def record(self, alert: Alert) -> AlertRecord:
        found = self.store.get_alert(alert.id)
        assert found is not None
        return found

    def reload(self, oncall_text: str) -> None:
        setup = self.incidents.setup
        self.incidents.setup = replace(setup, oncall=oncall_of(oncall_text, self.settings))


@pytest.fixture
def world(tmp_path: Path) -> World:
    clock = FakeClock()
    settings = make_settings(
        tmp_path,
        channels={
            "sms": {"to": ["+15550100001"]},
            "slack": {"channel": "#fleet"},
            "webhook": {"url": "http://127.0.0.1:9/hook"},
        },
    )
    store = MemoryStore()
    outbox = ListOutbox()
    timers = Timers(store, SteadyClock(clock))
    renderer = Renderer.load(TEMPLATES, settings.notify)
    setup = Setup(settings, renderer, oncall_of(ONCALL, settings))
    incidents = Incidents(store, outbox, timers, clock, setup)
    return World(clock, store, outbox, timers, incidents, settings)
