"""The engine's decisions: suppression, counting, both, keys, time, and bad input.

Rules are built by hand (Python lambdas) so these tests pin the engine, not the rule language.
"""

from __future__ import annotations

import logging

import pytest

from alertd.config import Duration, EngineSettings
from alertd.engine.engine import Engine, tally
from alertd.engine.errors import EventTimeError, InvalidBatch, InvalidEvent
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.model import NotifyTarget
from tests.engine.builders import T0, event, make_engine, make_rule, replay

FIVE_MINUTES = 300.0


def suppressing_engine(**options: object) -> object:
    return make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))), **options)


class TestSuppression:
    def test_repeats_within_the_window_are_suppressed_and_exactly_d_later_fires_again(
        self,
    ) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        times = [0, 60, 299.999, 300, 301]
        events = [event(t, vehicle_id="v1") for t in times]
        assert replay(engine, events) == [
            "fired",
            "suppressed",
            "suppressed",
            "fired",
            "suppressed",
        ]

    def test_a_suppressed_decision_says_until_when(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        engine.process(event(10, vehicle_id="v1"), T0)
        [decision] = engine.process(event(20, vehicle_id="v1"), T0)
        assert decision.kind == "suppressed"
        assert decision.suppressed_until == T0 + 10 + FIVE_MINUTES
        assert decision.key == ("v1",)

    def test_different_keys_are_independent(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id", "driver"))))
        events = [
            event(0, vehicle_id="v1", driver="d1"),
            event(1, vehicle_id="v2", driver="d1"),
            event(2, vehicle_id="v1", driver="d2"),
            event(3, vehicle_id="v1", driver="d1"),
            event(4, vehicle_id="v2", driver="d1"),
        ]
        assert replay(engine, events) == ["fired", "fired", "fired", "suppressed", "suppressed"]

    def test_a_missing_key_field_keys_as_null(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        first = engine.process(event(0), T0)
        second = engine.process(event(1, vehicle_id=None), T0)
        other = engine.process(event(2, vehicle_id="v1"), T0)
        assert [(d.kind, d.key) for d in first + second + other] == [
            ("fired", (None,)),
            ("suppressed", (None,)),
            ("fired", ("v1",)),
        ]

    def test_rules_do_not_share_windows(self) -> None:
        engine = make_engine(
            make_rule("a", suppress=(FIVE_MINUTES, ("vehicle_id",))),
            make_rule("b", suppress=(FIVE_MINUTES, ("vehicle_id",))),
        )
        assert replay(engine, [event(0, vehicle_id="v1"), event(1, vehicle_id="v1")]) == [
            "fired,fired",
            "suppressed,suppressed",
        ]

    def test_the_next_alert_carries_how_many_were_suppressed_since_the_last(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        fired = [
            decision.alert.suppressed_count
            for t in (0, 10, 20, 30, 300, 400, 700)
            for decision in engine.process(event(t, vehicle_id="v1"), T0)
            if decision.alert is not None
        ]
        assert fired == [0, 3, 1]

    def test_the_suppressed_count_is_kept_one_more_period_then_dropped(self) -> None:
        within = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        after = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        for engine in (within, after):
            engine.process(event(0, vehicle_id="v1"), T0)
            engine.process(event(10, vehicle_id="v1"), T0)
        [late_but_within] = within.process(event(599, vehicle_id="v1"), T0)
        [too_late] = after.process(event(600, vehicle_id="v1"), T0)
        assert late_but_within.alert is not None and too_late.alert is not None
        assert late_but_within.alert.suppressed_count == 1
        assert too_late.alert.suppressed_count == 0

    def test_a_rule_without_suppress_fires_on_every_match(self) -> None:
        engine = make_engine(make_rule("every", when=lambda e: e.get("severity") == "critical"))
        events = [
            event(0, severity="critical"),
            event(0, severity="low"),
            event(0, severity="critical"),
        ]
        assert replay(engine, events) == ["fired", "-", "fired"]


class TestCounting:
    def test_fires_on_the_nth_match_within_the_window_then_starts_over(self) -> None:
        engine = make_engine(make_rule("many", count=(3, 600, ("vehicle_id",))))
        events = [event(t, vehicle_id="v1") for t in (0, 100, 200, 300, 400, 500)]
        assert replay(engine, events) == [
            "counting",
            "counting",
            "fired",
            "counting",
            "counting",
            "fired",
        ]

    def test_the_window_slides_old_matches_out(self) -> None:
        engine = make_engine(make_rule("many", count=(3, 600, ("vehicle_id",))))
        sizes = [
            (decision.kind, decision.count)
            for t in (0, 100, 700, 800, 900, 950)
            for decision in engine.process(event(t, vehicle_id="v1"), T0)
        ]
        # 700 is exactly W after 100: both 0 and 100 have left the window.
        assert sizes == [
            ("counting", 1),
            ("counting", 2),
            ("counting", 1),
            ("counting", 2),
            ("fired", None),
            ("counting", 1),
        ]

    def test_the_nth_match_must_fall_less_than_w_after_the_oldest(self) -> None:
        inside = make_engine(make_rule("many", count=(3, 600, ("vehicle_id",))))
        outside = make_engine(make_rule("many", count=(3, 600, ("vehicle_id",))))
        head = [event(0, vehicle_id="v1"), event(300, vehicle_id="v1")]
        assert replay(inside, [*head, event(599.999, vehicle_id="v1")])[-1] == "fired"
        assert replay(outside, [*head, event(600, vehicle_id="v1")])[-1] == "counting"

    def test_keys_count_separately(self) -> None:
        engine = make_engine(make_rule("many", count=(2, 600, ("vehicle_id",))))
        events = [event(0, vehicle_id="v1"), event(1, vehicle_id="v2"), event(2, vehicle_id="v1")]
        assert replay(engine, events) == ["counting", "counting", "fired"]

    @pytest.mark.parametrize("cap", [0, 1, 2, 3, 5])
    def test_the_alert_lists_the_events_that_made_the_count_capped(self, cap: int) -> None:
        """The newest `max_count_events` of them; the first match slid out of the window (the
        window starts over with the second)."""
        rule = make_rule("many", count=(3, 600, ("vehicle_id",)))
        engine = make_engine(rule, max_count_events=cap)
        events = [event(t, vehicle_id="v1", n=t) for t in (-700, 0, 1, 2)]
        decisions = [d for item in events for d in engine.process(item, T0)]
        assert [d.kind for d in decisions] == ["counting", "counting", "counting", "fired"]
        alert = decisions[-1].alert
        assert alert is not None
        assert [e["n"] for e in alert.count_events] == [0, 1, 2][3 - min(cap, 3) :]
        assert alert.key == ("v1",)
        assert alert.event is events[-1]

    @pytest.mark.parametrize("cap", [4, 5, 6, 7, 8, 20])
    def test_a_larger_count_lists_the_newest_max_count_events(self, cap: int) -> None:
        """Every match of a window fires it with their events, up to the cap, whether the
        window holds fewer texts than the cap or as many."""
        engine = make_engine(
            make_rule("many", count=(6, 600, ("vehicle_id",))), max_count_events=cap
        )
        events = [event(t, vehicle_id="v1", n=t) for t in range(6)]
        decisions = [d for item in events for d in engine.process(item, T0)]
        assert [d.kind for d in decisions] == ["counting"] * 5 + ["fired"]
        alert = decisions[-1].alert
        assert alert is not None
        assert [e["n"] for e in alert.count_events] == list(range(6))[-cap:]

    def test_counting_then_suppression(self) -> None:
        engine = make_engine(
            make_rule("pattern", count=(2, 600, ("vehicle_id",)), suppress=(900, ("vehicle_id",)))
        )
        times = (0, 10, 20, 30, 40, 50, 1000, 1010)
        decisions = [d for t in times for d in engine.process(event(t, vehicle_id="v1"), T0)]
        assert [d.kind for d in decisions] == [
            "counting",
            "fired",
            "counting",
            "suppressed",
            "counting",
            "suppressed",
            "counting",
            "fired",
        ]
        assert decisions[-1].alert is not None
        assert decisions[-1].alert.suppressed_count == 2

    def test_count_and_suppress_may_key_differently(self) -> None:
        engine = make_engine(
            make_rule("pattern", count=(2, 600, ("vehicle_id",)), suppress=(900, ("fleet",)))
        )
        events = [
            event(0, vehicle_id="v1", fleet="f"),
            event(1, vehicle_id="v1", fleet="f"),
            event(2, vehicle_id="v2", fleet="f"),
            event(3, vehicle_id="v2", fleet="f"),
        ]
        decisions = [d for item in events for d in engine.process(item, T0)]
        assert [(d.kind, d.key) for d in decisions] == [
            ("counting", ("v1",)),
            ("fired", ("f",)),
            ("counting", ("v2",)),
            ("suppressed", ("f",)),
        ]


class TestOutOfOrder:
    def test_a_late_event_inside_the_suppression_window_is_suppressed(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        times = [100, 50, 200]
        assert replay(engine, [event(t, vehicle_id="v1") for t in times]) == [
            "fired",
            "suppressed",
            "suppressed",
        ]

    def test_a_late_event_older_than_the_whole_window_fires_and_leaves_it_as_it_was(
        self,
    ) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        times = [400, 100, 500, 700]
        assert replay(engine, [event(t, vehicle_id="v1") for t in times]) == [
            "fired",
            "fired",
            "suppressed",
            "fired",
        ]

    def test_a_late_event_counts_by_its_own_time(self) -> None:
        engine = make_engine(make_rule("many", count=(3, 60, ("vehicle_id",))))
        # 50 and 70 are late but within 60 s of 100; 20 is too old to count at all.
        times = [100, 20, 50, 70]
        decisions = [d for t in times for d in engine.process(event(t, vehicle_id="v1"), T0)]
        assert [(d.kind, d.count) for d in decisions] == [
            ("counting", 1),
            ("counting", 1),
            ("counting", 2),
            ("fired", None),
        ]
        assert decisions[-1].alert is not None
        assert [e["timestamp"] - T0 for e in decisions[-1].alert.count_events] == [50, 70, 100]


class TestTime:
    def test_iso_timestamps_with_offsets_and_epoch_units_are_the_same_instant(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        same_instant = [
            "2026-01-01T10:00:00Z",
            "2026-01-01T12:00:00+02:00",
            1_767_261_600,
            1_767_261_600_000,
            "1767261600",
        ]
        decisions = [
            d
            for stamp in same_instant
            for d in engine.process({"vehicle_id": "v1", "timestamp": stamp}, T0)
        ]
        assert {d.event_time for d in decisions} == {1_767_261_600.0}
        assert [d.kind for d in decisions] == ["fired"] + ["suppressed"] * 4

    def test_an_event_without_a_timestamp_takes_its_arrival_time(self) -> None:
        engine = make_engine(make_rule("crit"))
        [decision] = engine.process({"vehicle_id": "v1"}, received_at=T0 + 42)
        assert decision.event_time == T0 + 42
        assert decision.alert is not None
        assert decision.alert.fired_at == decision.alert.received_at == T0 + 42

    def test_the_timestamp_field_is_configurable(self) -> None:
        engine = make_engine(make_rule("crit"), timestamp_field="ts")
        [decision] = engine.process({"ts": "2026-01-01T00:01:00Z", "timestamp": "junk"}, T0)
        assert decision.event_time == T0 + 60

    def test_an_unparseable_timestamp_is_an_error_for_that_event_and_changes_nothing(
        self,
    ) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        with pytest.raises(EventTimeError, match="not an ISO-8601 time"):
            engine.process({"vehicle_id": "v1", "timestamp": "yesterday"}, T0)
        assert replay(engine, [event(0, vehicle_id="v1")]) == ["fired"]

    def test_a_live_engine_rejects_events_stamped_far_ahead_of_their_arrival(self) -> None:
        engine = make_engine(make_rule("crit"), max_future=3600.0)
        with pytest.raises(EventTimeError) as caught:
            engine.process(event(7200), received_at=T0)
        assert str(caught.value) == (
            "timestamp: 2026-01-01T02:00:00Z is 2h ahead of its arrival at 2026-01-01T00:00:00Z;"
            " is the sender's clock wrong? (events may be at most 1h ahead: [engine] max_future)"
        )
        assert replay(engine, [event(3600)]) == ["fired"]  # exactly the limit is fine

    def test_the_future_check_follows_the_config_and_is_off_for_replays(self) -> None:
        rules = RuleSet([make_rule("crit")])
        live = Engine.configured(rules, MemoryStore(), EngineSettings(), live=True)
        replaying = Engine.configured(rules, MemoryStore(), EngineSettings(), live=False)
        unchecked = Engine.configured(
            rules, MemoryStore(), EngineSettings(max_future=Duration(0.0)), live=True
        )
        assert (live.max_future, replaying.max_future, unchecked.max_future) == (3600.0, None, None)

    def test_a_live_engine_rejects_events_stamped_long_before_their_arrival(self) -> None:
        engine = make_engine(make_rule("crit"), max_past=86_400.0)
        with pytest.raises(EventTimeError) as caught:
            engine.process(event(0), received_at=T0 + 2 * 86_400)
        assert str(caught.value) == (
            "timestamp: 2026-01-01T00:00:00Z is 2d before its arrival at 2026-01-03T00:00:00Z;"
            " is the sender's clock wrong, or was the event held back?"
            " (events may be at most 1d old: [engine] max_past)"
        )
        with pytest.raises(EventTimeError, match="1970-01-01T00:00:00Z is 20454d before"):
            engine.process({"type": "safety_event", "timestamp": 0}, received_at=T0)
        assert replay(engine, [event(0)], received_at=T0 + 86_400) == ["fired"]  # the limit

    def test_the_past_check_follows_the_config_and_is_off_for_replays(self) -> None:
        """A replay runs on event time: its recording may be months old and must still fire."""
        rules = RuleSet([make_rule("crit")])
        live = Engine.configured(rules, MemoryStore(), EngineSettings(), live=True)
        replaying = Engine.configured(rules, MemoryStore(), EngineSettings(), live=False)
        unchecked = Engine.configured(
            rules, MemoryStore(), EngineSettings(max_past=Duration(0.0)), live=True
        )
        assert (live.max_past, replaying.max_past, unchecked.max_past) == (86_400.0, None, None)
        assert replay(replaying, [event(0)], received_at=T0 + 365 * 86_400) == ["fired"]
        assert replay(unchecked, [{"type": "safety_event", "timestamp": 0}]) == ["fired"]


class TestBatches:
    def test_a_batch_is_evaluated_in_one_pass_with_indexes(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("vehicle_id",))))
        batch = [event(0, vehicle_id="v1"), {"type": "noise"}, event(5, vehicle_id="v1")]
        decisions = engine.process_batch(batch, T0)
        assert [(d.event_index, d.kind) for d in decisions] == [
            (0, "fired"),
            (1, "fired"),
            (2, "suppressed"),
        ]
        assert tally(decisions) == {("crit", "fired"): 2, ("crit", "suppressed"): 1}

    def test_a_batch_with_invalid_events_is_rejected_whole(self) -> None:
        store = MemoryStore()
        engine = make_engine(make_rule("crit"), store=store)
        batch = [event(0), {"timestamp": "2026-01-01T10:00:00"}, ["not", "an", "object"], event(1)]
        with pytest.raises(InvalidBatch) as caught:
            engine.process_batch(batch, T0)
        assert [(i, str(e)) for i, e in caught.value.errors] == [
            (
                1,
                "timestamp: '2026-01-01T10:00:00' has no time zone; add Z for UTC or an offset "
                "such as +02:00",
            ),
            (2, "expected a JSON object, got an array"),
        ]
        assert store.size().alerts == 0

    def test_a_single_event_that_is_not_an_object_is_invalid(self) -> None:
        engine = make_engine(make_rule("crit"))
        with pytest.raises(InvalidEvent, match="expected a JSON object, got a string"):
            engine.event_time("hello", T0)


class TestAlerts:
    def test_a_fired_alert_snapshots_the_rule_and_is_recorded(self) -> None:
        store = MemoryStore()
        rule = make_rule(
            "crit",
            name="Critical Safety Event",
            priority="urgent",
            description="A critical safety event",
            labels={"team": "safety"},
            notify=(NotifyTarget("sms"), NotifyTarget("email", ("managers",))),
            template="critical",
            suppress=(FIVE_MINUTES, ("vehicle_id",)),
        )
        engine = make_engine(rule, store=store)
        item = event(5, vehicle_id="v1")
        [decision] = engine.process(item, received_at=T0 + 7)
        alert = decision.alert
        assert alert is not None
        assert len(alert.id) == 26
        assert (alert.rule_id, alert.rule_name, alert.priority) == (
            "crit",
            "Critical Safety Event",
            "urgent",
        )
        assert (alert.fired_at, alert.received_at, alert.key) == (T0 + 5, T0 + 7, ("v1",))
        assert alert.event is item
        assert alert.labels == {"team": "safety"}
        assert alert.description == "A critical safety event"
        assert alert.notify == (NotifyTarget("sms"), NotifyTarget("email", ("managers",)))
        assert alert.template == "critical"
        assert alert.count_events == []
        stored = store.get_alert(alert.id)
        assert stored is not None and stored.alert is alert

    def test_alert_ids_sort_in_the_order_alerts_were_raised(self) -> None:
        engine = make_engine(make_rule("every"))
        decisions = engine.process_batch([event(t) for t in range(50)], T0)
        ids = [d.alert.id for d in decisions if d.alert is not None]
        assert ids == sorted(ids) and len(set(ids)) == 50


class TestRobustness:
    def test_a_rule_that_raises_counts_as_no_match_and_the_others_go_on(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        def broken(item: object) -> bool:
            raise ZeroDivisionError("boom")

        engine = make_engine(make_rule("broken", when=broken), make_rule("fine"))
        with caplog.at_level(logging.ERROR, logger="alertd.engine.engine"):
            assert replay(engine, [event(0), event(1)]) == ["fired", "fired"]
        assert engine.rule_errors == {"broken": 2}
        assert len(caplog.records) == 1  # logged once per rule, counted every time
        assert "rule broken raised" in caplog.records[0].getMessage()

    def test_keys_holding_lists_and_objects_work(self) -> None:
        engine = make_engine(make_rule("crit", suppress=(FIVE_MINUTES, ("tags",))))
        events = [
            event(0, tags=["a", {"b": 1}]),
            event(1, tags=["a", {"b": 1}]),
            event(2, tags=["a", {"b": 2}]),
        ]
        assert replay(engine, events) == ["fired", "suppressed", "fired"]


class TestReloadAndSweep:
    def test_a_reload_keeps_windows_of_surviving_rules_and_drops_removed_ones(self) -> None:
        kept = make_rule("kept", suppress=(FIVE_MINUTES, ("vehicle_id",)))
        removed = make_rule("removed", suppress=(FIVE_MINUTES, ("vehicle_id",)))
        engine = make_engine(kept, removed)
        engine.process(event(0, vehicle_id="v1"), T0)
        engine.replace_rules(RuleSet([kept]))
        assert replay(engine, [event(1, vehicle_id="v1")]) == ["suppressed"]
        engine.replace_rules(RuleSet([kept, removed]))
        assert replay(engine, [event(2, vehicle_id="v1")]) == ["suppressed,fired"]

    def test_the_sweep_evicts_what_expired_before_the_latest_event_time(self) -> None:
        store = MemoryStore()
        engine = make_engine(
            make_rule("crit", suppress=(100, ("vehicle_id",))),
            make_rule("many", count=(5, 100, ("vehicle_id",))),
            store=store,
        )
        batch = [event(0, vehicle_id="early"), event(150, vehicle_id="late")]
        engine.process_batch(batch, received_at=T0 + 151)
        assert (store.size().suppressions, store.size().count_windows) == (2, 2)
        assert engine.sweep() == 2
        assert (store.size().suppressions, store.size().count_windows) == (1, 1)
        assert engine.sweep(horizon=T0 + 250) == 2
        assert store.size().suppressions == store.size().count_windows == 0

    def test_a_pending_suppressed_count_outlives_the_window_by_one_period(self) -> None:
        store = MemoryStore()
        engine = make_engine(make_rule("crit", suppress=(100, ("vehicle_id",))), store=store)
        engine.process_batch([event(0, vehicle_id="v1"), event(1, vehicle_id="v1")], T0)
        assert engine.sweep(horizon=T0 + 150) == 0
        assert engine.sweep(horizon=T0 + 200) == 1

    def test_an_event_from_the_future_does_not_make_the_sweep_evict_live_windows(self) -> None:
        store = MemoryStore()
        engine = make_engine(make_rule("crit", suppress=(300, ("vehicle_id",))), store=store)
        engine.process(event(0, vehicle_id="v1"), received_at=T0 + 1)
        engine.process(event(10 * 365 * 86400, vehicle_id="broken clock"), received_at=T0 + 2)
        assert engine.sweep() == 0  # the horizon stops at the latest arrival, T0 + 2
        assert replay(engine, [event(60, vehicle_id="v1")], received_at=T0 + 60) == ["suppressed"]

    def test_sweeping_before_any_event_does_nothing(self) -> None:
        assert make_engine(make_rule("crit")).sweep() == 0
