"""The StateStore contract, run against every store: windows, sweeps, alerts and their queries."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alertd.engine.ids import new_alert_id
from alertd.engine.memory_store import MemoryStore
from alertd.engine.pg_store import PostgresStore
from alertd.engine.sqlite_store import SQLiteStore
from alertd.engine.state import (
    AlertQuery,
    AlertRecord,
    Escalation,
    EscalationStep,
    StateStore,
    StoreSize,
    TimelineEntry,
    Timer,
)
from alertd.engine.windows import count_window, same_window, window_events, window_matches
from alertd.model import Alert, CountEvents, NotifyTarget, Priority, event_text
from alertd.server.views import alert_view
from tests.engine.builders import T0, event, make_engine, make_rule


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    made: StateStore
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "s.db")
    else:
        made = PostgresStore(request.getfixturevalue("postgres_url"))
    yield made
    made.close()


def reopened(store: SQLiteStore) -> SQLiteStore:
    """The same database opened again (after `store` was closed)."""
    if isinstance(store, PostgresStore):
        return PostgresStore(store.url)
    return SQLiteStore(store.path)


def alert(
    received_at: float = T0, rule_id: str = "crit", priority: Priority = "urgent", **fields: object
) -> Alert:
    return Alert(
        id=new_alert_id(received_at),
        rule_id=rule_id,
        rule_name="Critical Safety Event",
        priority=priority,
        key=("v1", None),
        event={"type": "safety_event", "vehicle_id": "v1", "speed": 88.5},
        fired_at=received_at - 2,
        received_at=received_at,
        **fields,  # type: ignore[arg-type]
    )


class TestWindows:
    def test_suppression_entries_round_trip_by_rule_and_key(self, store: StateStore) -> None:
        with store.transaction():
            store.suppressions("crit")[("v1", None)] = (T0, T0 + 300, 2)
        assert store.suppressions("crit").get(("v1", None)) == (T0, T0 + 300, 2)
        assert store.suppressions("crit").get(("v2", None)) is None
        assert store.suppressions("other").get(("v1", None)) is None

    def test_a_rule_keeps_the_same_table(self, store: StateStore) -> None:
        assert store.suppressions("crit") is store.suppressions("crit")
        assert store.count_windows("crit") is store.count_windows("crit")

    def test_count_windows_round_trip_and_pop(self, store: StateStore) -> None:
        window = count_window(600.0, [T0, T0 + 5], [{"n": 1}, {"n": 2}])
        windows = store.count_windows("many")
        with store.transaction():
            windows[("v1",)] = window
        assert windows.get(("v1",)) == window
        assert store.size().count_windows == 1
        with store.transaction():
            assert windows.pop(("v1",), None) == window
            assert windows.pop(("never there",), None) is None
        assert windows.get(("v1",)) is None
        assert store.size().count_windows == 0

    def test_a_counting_window_keeps_every_time_but_only_the_newest_events(
        self, store: StateStore, tmp_path: Path
    ) -> None:
        """An alert lists at most max_count_events events: a window keeps no more (issue 9)."""
        rule = make_rule("many", count=(1000, 3600.0, ("vehicle_id",)))
        engine = make_engine(rule, store=store, max_count_events=3)
        decisions = engine.process_batch([event(n, vehicle_id="v1", n=n) for n in range(600)], T0)
        assert decisions[-1].count == 600
        window = store.count_windows("many").get(("v1",))
        assert window is not None
        assert (window_matches(window), [e["n"] for e in window_events(window)]) == (
            600,
            [597, 598, 599],
        )
        if isinstance(store, SQLiteStore):  # and so does what is read back from the database
            store.close()
            store = reopened(store)
            again = store.count_windows("many").get(("v1",))
            assert again is not None and same_window(again, window)
            engine = make_engine(rule, store=store, max_count_events=3)
        late = engine.process(event(598.5, vehicle_id="v1", n="late"), T0)
        assert late[0].count == 601
        window = store.count_windows("many").get(("v1",))
        assert window is not None
        assert [e["n"] for e in window_events(window)] == [598, "late", 599]
        store.close()

    def test_the_sweep_evicts_entries_expired_at_or_before_the_horizon(
        self, store: StateStore
    ) -> None:
        with store.transaction():
            store.suppressions("crit")[("a",)] = (T0, T0 + 100, 0)  # expires T0 + 100
            store.suppressions("crit")[("b",)] = (T0, T0 + 100, 1)  # T0 + 200
            store.count_windows("many")[("a",)] = count_window(50.0, [T0 + 10], [{}])  # T0 + 60
        assert store.sweep(T0 + 59) == 0
        assert store.sweep(T0 + 60) == 1
        assert store.sweep(T0 + 100) == 1
        assert store.size() == StoreSize(suppressions=1, count_windows=0, alerts=0)
        assert store.suppressions("crit").get(("b",)) is not None
        assert store.sweep(T0 + 200) == 1
        assert store.size().suppressions == store.size().count_windows == 0
        assert store.suppressions("crit").get(("b",)) is None

    def test_a_sweep_with_a_limit_evicts_at_most_that_many_a_time(self, store: StateStore) -> None:
        with store.transaction():
            for n in range(3):
                store.suppressions("crit")[(f"s{n}",)] = (T0, T0 + 100 + n, 0)
                store.count_windows("many")[(f"c{n}",)] = count_window(50.0, [T0 + n], [{}])
            store.suppressions("crit")[("later",)] = (T0, T0 + 500, 0)
        assert [store.sweep(T0 + 200, limit=4) for _ in range(3)] == [4, 2, 0]
        assert store.size() == StoreSize(suppressions=1, count_windows=0, alerts=0)
        assert store.suppressions("crit").get(("later",)) is not None

    def test_retain_rules_forgets_every_other_rule(self, store: StateStore) -> None:
        with store.transaction():
            for rule_id in ("kept", "gone"):
                store.suppressions(rule_id)[("v1",)] = (T0, T0 + 100, 0)
                store.count_windows(rule_id)[("v1",)] = count_window(50.0, [T0], [{}])
            store.retain_rules(["kept", "unused"])
        assert store.suppressions("kept").get(("v1",)) is not None
        assert store.count_windows("kept").get(("v1",)) is not None
        assert store.suppressions("gone").get(("v1",)) is None
        assert store.count_windows("gone").get(("v1",)) is None
        assert store.size() == StoreSize(suppressions=1, count_windows=1, alerts=0)

    def test_a_table_frozen_at_start_stays_out_of_the_collector(self, store: StateStore) -> None:
        """The daemon freezes what it loaded (alertd.commands.run): a table must stay frozen as
        it takes new keys, or each collection after it took one traverses all of its entries
        (in memory, 30% of the engine's time in a steady stream: bench/README.md)."""
        suppressions, windows = store.suppressions("crit"), store.count_windows("many")
        tables = [getattr(table, "entries", table) for table in (suppressions, windows)]
        gc.collect()
        gc.freeze()
        try:
            for n in range(2):  # a key, then another after a full collection
                with store.transaction():
                    suppressions[(f"v{n}",)] = (T0 + n, T0 + 300, 0)
                    windows[(f"v{n}",)] = count_window(600.0, [T0 + n], [{"n": n}])
                gc.collect()
            assert not [held for held in gc.get_objects() if any(held is t for t in tables)]
        finally:
            gc.unfreeze()


class TestAlerts:
    def test_an_alert_round_trips_with_every_field(self, store: StateStore) -> None:
        original = alert(
            suppressed_count=4,
            labels={"team": "safety"},
            count_events=CountEvents((event_text({"n": 1}),), {"n": 2}),  # as the engine's
            description="A critical safety event",
            notify=(NotifyTarget("sms"), NotifyTarget("email", ("managers", "safety_team"))),
            template="critical",
        )
        store.add_alert(original)
        record = store.get_alert(original.id)
        assert record is not None
        assert record.alert == original
        assert record.alert.count_events == [{"n": 1}, {"n": 2}]
        assert (record.status, record.acked_at, record.acked_by) == ("firing", None, None)
        assert store.get_alert("01NOSUCHALERT0000000000000") is None

    def test_a_counting_alert_reads_back_as_it_fired(self, store: StateStore) -> None:
        """Its events, held as the window's texts and the firing event as it came, read the
        same in the API from the store that fired it and after a restart (issue 9)."""
        rule = make_rule("many", count=(3, 600.0, ("vehicle_id",)))
        engine = make_engine(rule, store=store, max_count_events=2)
        with store.transaction():
            fired = [
                d.alert
                for d in engine.process_batch(
                    [  # v1 in order; v2's last match is late, placed between the others
                        *(event(at, vehicle_id="v1", n=at, where={"x": [at]}) for at in (1, 2, 3)),
                        *(event(at, vehicle_id="v2", n=at) for at in (4, 6, 5)),
                    ],
                    T0,
                )
                if d.alert is not None
            ]
        assert [[e["n"] for e in alert.count_events] for alert in fired] == [[2, 3], [5, 6]]
        assert fired[0].count_events[-1] is fired[0].event  # taken as it came, not re-read
        views = []
        for alert in fired:
            record = store.get_alert(alert.id)
            assert record is not None
            views.append(alert_view(record))
        assert [view["count_events"] for view in views] == [
            [event(at, vehicle_id="v1", n=at, where={"x": [at]}) for at in (2, 3)],
            [event(at, vehicle_id="v2", n=at) for at in (5, 6)],
        ]
        if isinstance(store, SQLiteStore):
            store.close()
            store = reopened(store)
            again = [store.get_alert(alert.id) for alert in fired]
            assert [alert_view(record) for record in again if record is not None] == views
        store.close()

    @pytest.mark.parametrize("written_first", [False, True], ids=["buffered", "written"])
    def test_what_happened_since_it_fired_round_trips(
        self, store: StateStore, written_first: bool
    ) -> None:
        """Saved before the alert itself was written (in the batch that fired it) or after."""
        original = alert()
        store.add_alert(original)
        if written_first:
            store.get_alert(original.id)
        escalation = Escalation(
            "fleet_ops",
            (
                EscalationStep(0.0, (NotifyTarget("sms", ("oncall:ops",)), NotifyTarget("slack"))),
                EscalationStep(900.0, (NotifyTarget("email", ("person:frank", "managers")),)),
            ),
            repeat=2,
            ran=3,
        )
        changed = AlertRecord(
            original,
            status="resolved",
            acked_at=T0 + 60,
            acked_by="ana",
            acked_via="cli",
            resolved_at=T0 + 120,
            resolved_by="bob",
            resolved_via="api",
            notifications=7,
            escalation=escalation,
            match_count=5,
            last_matched_at=T0 + 100,
            silenced_by="maintenance:north_depot",
        )
        store.save_alert(changed)
        assert store.get_alert(original.id) == changed
        store.save_alert(replace(changed, status="acked", escalation=None))
        assert store.get_alert(original.id) == replace(changed, status="acked", escalation=None)

    def test_a_timeline_keeps_its_entries_in_order(self, store: StateStore) -> None:
        first, other = alert(), alert()
        store.add_alert(first)
        store.add_alert(other)
        entries = [
            TimelineEntry(T0 + 60, "acked", "ana", "cli"),
            TimelineEntry(T0 + 30, "escalated", None, "timer", {"step": 2, "steps": 2}),
            TimelineEntry(T0 + 90, "resolved", "", "api"),
        ]
        for entry in entries:
            store.add_timeline(first.id, entry)
        store.add_timeline(other.id, TimelineEntry(T0, "acked", "bob", "web"))
        assert store.timeline(first.id) == entries  # as added, whatever their times
        assert store.timeline("01NOSUCHALERT0000000000000") == []

    def test_listing_pages_newest_first_with_a_cursor(self, store: StateStore) -> None:
        ids = []
        for n in range(25):
            made = alert(received_at=T0 + n)
            store.add_alert(made)
            ids.append(made.id)
        seen = []
        cursor = None
        for expected_size in (10, 10, 5):
            page = store.list_alerts(AlertQuery(limit=10, cursor=cursor))
            assert len(page.records) == expected_size
            seen += [record.alert.id for record in page.records]
            cursor = page.next_cursor
        assert cursor is None
        assert seen == ids[::-1]

    def test_an_exact_last_page_has_no_cursor(self, store: StateStore) -> None:
        for n in range(4):
            store.add_alert(alert(received_at=T0 + n))
        assert store.list_alerts(AlertQuery(limit=4)).next_cursor is None
        assert store.list_alerts(AlertQuery(limit=3)).next_cursor is not None

    def test_listing_filters_by_rule_priority_status_and_since(self, store: StateStore) -> None:
        a = alert(received_at=T0, rule_id="crit", priority="urgent")
        b = alert(received_at=T0 + 10, rule_id="crit", priority="low")
        c = alert(received_at=T0 + 20, rule_id="speeding", priority="urgent")
        d = alert(received_at=T0 + 25, rule_id="speeding", priority="low")
        for made in (a, b, c, d):
            store.add_alert(made)
        store.save_alert(AlertRecord(b, status="acked", acked_at=T0 + 30, acked_by="ana"))
        store.save_alert(AlertRecord(d, status="resolved", resolved_at=T0 + 40))

        def ids(**filters: object) -> list[str]:
            page = store.list_alerts(AlertQuery(**filters))  # type: ignore[arg-type]
            return [record.alert.id for record in page.records]

        assert ids(rule="crit") == [b.id, a.id]
        assert ids(priority="urgent") == [c.id, a.id]
        assert ids(status="acked") == [b.id]
        assert ids(status="firing") == [c.id, a.id]
        assert ids(status="resolved") == [d.id]
        assert ids(status="silenced") == []
        assert ids(since=T0 + 10) == [d.id, c.id, b.id]
        assert ids(since=T0 + 10.5) == [d.id, c.id]
        assert ids(rule="crit", status="firing", priority="urgent") == [a.id]

    def test_pruning_deletes_alerts_received_before_a_time(self, store: StateStore) -> None:
        old, new = alert(received_at=T0), alert(received_at=T0 + 86_400)
        store.add_alert(old)
        store.add_alert(new)
        for made in (old, new):
            store.add_timeline(made.id, TimelineEntry(T0 + 1, "acked", "ana", "api"))
        assert store.prune_alerts(received_before=T0 + 3600) == 1
        assert store.get_alert(old.id) is None
        assert store.timeline(old.id) == []
        assert store.get_alert(new.id) is not None
        assert len(store.timeline(new.id)) == 1

    def test_pruning_with_a_limit_deletes_the_oldest_first(self, store: StateStore) -> None:
        made = [alert(received_at=T0 + n) for n in range(5)]
        for each in made:
            store.add_alert(each)
            store.add_timeline(each.id, TimelineEntry(T0 + 10, "acked", "ana", "api"))
        assert store.prune_alerts(received_before=T0 + 4, limit=3) == 3
        assert [store.get_alert(a.id) is None for a in made] == [True] * 3 + [False] * 2
        assert [len(store.timeline(a.id)) for a in made] == [0, 0, 0, 1, 1]
        assert store.prune_alerts(received_before=T0 + 4, limit=3) == 1  # T0 + 4 is kept
        assert store.prune_alerts(received_before=T0 + 4, limit=3) == 0


class TestTimers:
    def test_a_timer_is_set_replaced_and_cancelled_by_kind_and_ref(self, store: StateStore) -> None:
        store.set_timer(Timer("escalate", "a1", T0 + 60, {"step": 1}))
        store.set_timer(Timer("group", "a1", T0 + 30))
        store.set_timer(Timer("escalate", "a1", T0 + 90, {"step": 2}))  # replaces the first
        assert store.get_timer("escalate", "a1") == Timer("escalate", "a1", T0 + 90, {"step": 2})
        assert store.next_timer_due() == T0 + 30
        store.cancel_timer("group", "a1")
        assert store.get_timer("group", "a1") is None
        assert store.next_timer_due() == T0 + 90
        store.cancel_timer("escalate", "a1")
        store.cancel_timer("escalate", "never-set")
        assert store.next_timer_due() is None
        assert store.due_timers(T0 + 1000, 10) == []

    def test_due_timers_come_earliest_first_up_to_the_limit(self, store: StateStore) -> None:
        for n, due in enumerate([50.0, 10.0, 40.0, 30.0, 20.0, 60.0]):
            store.set_timer(Timer("escalate", f"a{n}", T0 + due))
        store.set_timer(Timer("escalate", "a1", T0 + 45))  # 10 -> 45
        due = store.due_timers(T0 + 50, limit=3)
        assert [(t.ref, t.due) for t in due] == [("a4", T0 + 20), ("a3", T0 + 30), ("a2", T0 + 40)]
        everything = store.due_timers(T0 + 50, limit=100)
        assert [t.ref for t in everything] == ["a4", "a3", "a2", "a1", "a0"]
        assert store.due_timers(T0 + 19, limit=100) == []
        assert store.next_timer_due() == T0 + 20  # reading them leaves them set

    def test_timers_roll_back_with_the_transaction(self, store: StateStore) -> None:
        if isinstance(store, MemoryStore):
            pytest.skip("the memory store's transactions keep no timers apart")
        store.set_timer(Timer("escalate", "kept", T0))
        with pytest.raises(RuntimeError), store.transaction():
            store.cancel_timer("escalate", "kept")
            store.set_timer(Timer("escalate", "new", T0 + 1))
            raise RuntimeError("the batch failed")
        assert [t.ref for t in store.due_timers(T0 + 10, 10)] == ["kept"]
        store.close()


def test_the_memory_store_keeps_only_the_latest_alerts() -> None:
    store = MemoryStore(max_alerts=3)
    made = [alert(received_at=T0 + n) for n in range(5)]
    for item in made:
        store.add_alert(item)
    assert store.size().alerts == 3
    assert store.get_alert(made[0].id) is None
    assert store.get_alert(made[4].id) is not None
