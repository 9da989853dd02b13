"""Silences in the incident manager, on a fake clock: an alert covered when it fires is recorded
silenced and pages nobody; one covered when an escalation step falls due stops escalating.

The policy `ops` (tests/incidents/conftest.py): step 1 at once, step 2 fifteen minutes later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from alertd.engine.state import AlertRecord
from alertd.incidents import ESCALATE, ActionRefused
from alertd.model import Alert
from alertd.silences import Cover

from .conftest import MINUTE, World

WORKSHOP = Cover("01KSILENCE0000000000000000", "alice", "web", "v-9 is in the workshop")
SUNDAY = Cover("maintenance:north_depot", None, None, "weekly service")


@dataclass
class Silencer:
    """Covers the alerts of the vehicles in `covered`, with their Cover."""

    covered: dict[str, Cover] = field(default_factory=dict)
    asked: list[tuple[str, float]] = field(default_factory=list)

    def covering(self, alert: Alert, now: float) -> Cover | None:
        self.asked.append((alert.id, now))
        return self.covered.get(str(alert.event.get("vehicle_id")))


@pytest.fixture
def silencer(world: World) -> Silencer:
    found = Silencer()
    world.incidents.silences = found
    return found


def fire(world: World, vehicle: str, policy: str | None = "ops") -> Alert:
    return world.fire(policy=policy, event={"vehicle_id": vehicle, "depot": "north"})


def test_an_alert_covered_when_it_fires_pages_nobody(world: World, silencer: Silencer) -> None:
    silencer.covered["v-9"] = WORKSHOP
    told: list[AlertRecord] = []
    world.incidents.silenced_listeners.append(told.append)
    silenced = fire(world, "v-9")
    paged = fire(world, "v-10")
    record = world.record(silenced)
    assert (record.status, record.silenced_by, record.escalation) == (
        "silenced",
        WORKSHOP.by,
        None,
    )
    assert world.outbox.sent(silenced.id) == []
    assert world.timers.due(ESCALATE, silenced.id) is None
    [entry] = world.store.timeline(silenced.id)
    assert (entry.action, entry.by, entry.via, dict(entry.detail)) == (
        "silenced",
        "alice",
        "web",
        {"silence": WORKSHOP.by, "comment": "v-9 is in the workshop"},
    )
    assert entry.at == world.clock.now()
    assert told == [record]
    # The other vehicle paged as usual.
    assert world.record(paged).status == "firing"
    assert len(world.outbox.sent(paged.id)) == 2
    assert world.timers.due(ESCALATE, paged.id) is not None


def test_a_maintenance_window_is_named_in_the_timeline(world: World, silencer: Silencer) -> None:
    silencer.covered["v-9"] = SUNDAY
    alert = fire(world, "v-9", policy=None)
    assert world.record(alert).silenced_by == "maintenance:north_depot"
    [entry] = world.store.timeline(alert.id)
    assert (entry.by, entry.via, dict(entry.detail)) == (
        None,
        None,
        {"maintenance": "north_depot", "comment": "weekly service"},
    )


def test_a_silence_made_after_the_page_stops_the_next_step(
    world: World, silencer: Silencer
) -> None:
    alert = fire(world, "v-9")
    assert len(world.outbox.sent(alert.id)) == 2  # the rule's notify and step 1
    world.clock.advance(5 * MINUTE)
    silencer.covered["v-9"] = WORKSHOP  # someone silences v-9
    world.clock.advance(10 * MINUTE)
    assert world.run_timers() == []  # step 2 was due: it did not run
    record = world.record(alert)
    assert (record.status, record.silenced_by) == ("silenced", WORKSHOP.by)
    assert record.escalation is not None and record.escalation.ran == 1
    assert world.timers.due(ESCALATE, alert.id) is None
    assert [e.action for e in world.store.timeline(alert.id)] == ["escalated", "silenced"]
    assert world.store.timeline(alert.id)[-1].at == world.clock.now()
    world.clock.advance(60 * MINUTE)
    assert world.run_timers() == []
    assert len(world.outbox.sent(alert.id)) == 2
    # Silenced, it can only be resolved; the resolve tells whoever was paged.
    with pytest.raises(ActionRefused, match="it is silenced: it cannot be acknowledged"):
        world.incidents.act(alert.id, "ack", "bob", "api")
    done = world.incidents.act(alert.id, "resolve", "bob", "api")
    assert done is not None and done.record.status == "resolved"
    assert [notice for _n, notice, _c, _r in world.outbox.sent(alert.id)][2:] == ["resolved"] * 2


def test_an_unsilenced_alert_escalates_on_time(world: World, silencer: Silencer) -> None:
    alert = fire(world, "v-9")
    silencer.covered["v-10"] = WORKSHOP
    world.clock.advance(15 * MINUTE)
    assert len(world.run_timers()) == 2  # step 2: frank's SMS and the webhook
    assert world.record(alert).status == "firing"
    assert silencer.asked[-1] == (alert.id, world.clock.now())  # asked when the step was due


def test_a_person_can_still_escalate_a_firing_alert_by_hand(
    world: World, silencer: Silencer
) -> None:
    alert = fire(world, "v-9")
    silencer.covered["v-9"] = WORKSHOP
    done = world.incidents.act(alert.id, "escalate", "bob", "api")
    assert done is not None and done.changed and len(done.notifications) == 2
