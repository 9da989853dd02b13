"""Who is on call, until when, and the hand-overs ahead, against expectations worked out by
hand (2026's DST changes: Amsterdam springs forward on 29 March and falls back on 25 October,
New York on 8 March and 1 November)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.oncall import Handover, Override, Rotation, Schedule, next_handovers, on_call

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")


def z(text: str) -> datetime:
    """A UTC instant: z("2026-03-29T07:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


def schedule(
    zone: ZoneInfo, *rotations: tuple[list[str], str, str], overrides: tuple[Override, ...] = ()
) -> Schedule:
    """rotations: (members, shift as timedelta keywords "days=7", local start)."""
    made = []
    for members, shift, start in rotations:
        unit, _, amount = shift.partition("=")
        made.append(Rotation(tuple(members), timedelta(**{unit: int(amount)}), local(start)))
    return Schedule("s", zone, tuple(made), overrides)


# -- weekly and daily rotations


def test_a_weekly_rotation_hands_over_on_monday_at_nine() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob", "carol"], "days=7", "2026-11-30T09:00"))
    assert on_call(s, z("2026-11-30T08:00")) == (("alice",), z("2026-12-07T08:00"))
    assert on_call(s, z("2026-12-07T07:59")) == (("alice",), z("2026-12-07T08:00"))
    assert on_call(s, z("2026-12-07T08:00")) == (("bob",), z("2026-12-14T08:00"))
    assert on_call(s, z("2026-12-16T12:00")) == (("carol",), z("2026-12-21T08:00"))
    assert on_call(s, z("2026-12-22T12:00")) == (("alice",), z("2026-12-28T08:00"))  # again


def test_before_its_first_shift_a_rotation_has_nobody_on_call() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "days=7", "2026-11-30T09:00"))
    assert on_call(s, z("2026-11-01T00:00")) == ((), z("2026-11-30T08:00"))


def test_a_daily_rotation_starts_at_nine_local_the_day_after_spring_forward() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "days=1", "2026-03-27T09:00"))
    assert on_call(s, z("2026-03-28T08:00")) == (("bob",), z("2026-03-29T07:00"))  # 23 hours
    assert on_call(s, z("2026-03-29T07:00")) == (("alice",), z("2026-03-30T07:00"))


def test_a_daily_rotation_starts_at_nine_local_the_day_after_fall_back() -> None:
    s = schedule(NEW_YORK, (["alice", "bob"], "days=1", "2026-10-31T09:00"))
    # Saturday 09:00 EDT is 13:00Z; Sunday 09:00 EST is 14:00Z: alice's shift is 25 hours.
    assert on_call(s, z("2026-10-31T13:00")) == (("alice",), z("2026-11-01T14:00"))
    assert on_call(s, z("2026-11-01T13:30")) == (("alice",), z("2026-11-01T14:00"))
    assert on_call(s, z("2026-11-01T14:00")) == (("bob",), z("2026-11-02T14:00"))


def test_a_weekly_rotation_hands_over_on_monday_at_nine_after_fall_back() -> None:
    s = schedule(NEW_YORK, (["alice", "bob", "carol"], "days=7", "2026-10-26T09:00"))
    assert on_call(s, z("2026-10-26T13:00")) == (("alice",), z("2026-11-02T14:00"))
    assert on_call(s, z("2026-11-02T13:30")) == (("alice",), z("2026-11-02T14:00"))


def test_a_weekly_rotation_hands_over_on_monday_at_nine_after_spring_forward() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "days=7", "2026-03-23T09:00"))
    assert on_call(s, z("2026-03-23T08:00")) == (("alice",), z("2026-03-30T07:00"))


def test_twelve_hour_shifts_stay_on_nine_and_twenty_one_across_fall_back() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "hours=12", "2026-10-24T09:00"))
    # Saturday 21:00 CEST (19:00Z) to Sunday 09:00 CET (08:00Z): bob's night is 13 hours.
    assert on_call(s, z("2026-10-24T19:00")) == (("bob",), z("2026-10-25T08:00"))
    assert on_call(s, z("2026-10-25T08:00")) == (("alice",), z("2026-10-25T20:00"))


def test_twelve_hour_shifts_stay_on_nine_and_twenty_one_across_spring_forward() -> None:
    s = schedule(NEW_YORK, (["alice", "bob"], "hours=12", "2026-03-07T21:00"))
    # Saturday 21:00 EST (02:00Z) to Sunday 09:00 EDT (13:00Z): alice's night is 11 hours.
    assert on_call(s, z("2026-03-08T02:00")) == (("alice",), z("2026-03-08T13:00"))
    assert on_call(s, z("2026-03-08T13:00")) == (("bob",), z("2026-03-09T01:00"))


def test_a_hand_over_at_a_time_dst_skips_happens_at_the_jump() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "days=1", "2026-03-27T02:30"))
    # Sunday 02:30 does not exist: bob hands over at 03:00 CEST (01:00Z), then 02:30 again.
    assert on_call(s, z("2026-03-29T00:59")) == (("bob",), z("2026-03-29T01:00"))
    assert on_call(s, z("2026-03-29T01:00")) == (("alice",), z("2026-03-30T00:30"))


def test_a_hand_over_at_a_time_dst_repeats_happens_the_first_time() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "days=1", "2026-10-24T02:30"))
    # Sunday 02:30 happens at 00:30Z (CEST) and 01:30Z (CET): the first one.
    assert on_call(s, z("2026-10-25T00:29")) == (("alice",), z("2026-10-25T00:30"))
    assert on_call(s, z("2026-10-25T01:30")) == (("bob",), z("2026-10-26T01:30"))


def test_an_hourly_shift_dst_skips_lasts_no_time_and_until_skips_it() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "hours=1", "2026-03-29T00:00"))
    # bob 01:00-02:00 CET; alice's 02:00 shift does not happen; bob again from 03:00 CEST.
    assert on_call(s, z("2026-03-29T00:30")) == (("bob",), z("2026-03-29T02:00"))
    assert on_call(s, z("2026-03-29T01:00")) == (("bob",), z("2026-03-29T02:00"))


def test_an_hourly_shift_over_the_repeated_hour_lasts_two() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "hours=1", "2026-10-25T00:00"))
    # alice from 02:00 CEST (00:00Z) through the repeated hour to 03:00 CET (02:00Z).
    assert on_call(s, z("2026-10-25T00:00")) == (("alice",), z("2026-10-25T02:00"))
    assert on_call(s, z("2026-10-25T01:30")) == (("alice",), z("2026-10-25T02:00"))


# -- several rotations


def test_every_rotation_is_on_call_together_and_until_is_the_first_change() -> None:
    s = schedule(
        AMSTERDAM,
        (["alice", "bob"], "days=7", "2026-11-30T09:00"),
        (["carol", "dave"], "days=1", "2026-11-30T09:00"),
    )
    assert on_call(s, z("2026-12-01T12:00")) == (("alice", "dave"), z("2026-12-02T08:00"))


def test_a_person_in_two_rotations_is_named_once() -> None:
    s = schedule(
        AMSTERDAM,
        (["alice", "bob"], "days=7", "2026-11-30T09:00"),
        (["alice", "carol"], "days=7", "2026-11-30T09:00"),
    )
    assert on_call(s, z("2026-12-01T12:00")) == (("alice",), z("2026-12-07T08:00"))


def test_a_schedule_that_never_changes_has_no_until() -> None:
    assert on_call(
        schedule(AMSTERDAM, (["alice"], "days=7", "2026-01-05T09:00")), z("2026-12-01T00:00")
    ) == (("alice",), None)
    # Two rotations that always hand over to each other: the same two people, always.
    s = schedule(
        AMSTERDAM,
        (["alice", "bob"], "days=1", "2026-01-05T09:00"),
        (["bob", "alice"], "days=1", "2026-01-05T09:00"),
    )
    assert on_call(s, z("2026-12-01T00:00")) == (("bob", "alice"), None)


# -- overrides


def christmas(add: str | None = None, remove: str | None = None) -> Override:
    return Override(local("2026-12-24T00:00"), local("2026-12-27T00:00"), add, remove)


def test_an_override_adds_someone_over_its_range() -> None:
    s = schedule(
        AMSTERDAM,
        (["alice", "bob"], "days=7", "2026-12-21T09:00"),
        overrides=(christmas(add="carol"),),
    )
    assert on_call(s, z("2026-12-23T12:00")) == (("alice",), z("2026-12-23T23:00"))
    assert on_call(s, z("2026-12-23T23:00")) == (("alice", "carol"), z("2026-12-26T23:00"))
    assert on_call(s, z("2026-12-26T23:00")) == (("alice",), z("2026-12-28T08:00"))


def test_an_override_removes_someone_over_its_range() -> None:
    s = schedule(
        AMSTERDAM,
        (["alice", "bob"], "days=7", "2026-12-21T09:00"),
        overrides=(christmas(remove="alice"),),
    )
    assert on_call(s, z("2026-12-25T12:00")) == ((), z("2026-12-26T23:00"))


def test_an_override_with_add_and_remove_swaps_them_while_remove_is_on_call() -> None:
    s = schedule(
        AMSTERDAM,
        (["alice", "bob"], "days=1", "2026-12-23T09:00"),
        overrides=(christmas(add="carol", remove="alice"),),
    )
    # alice: 23rd 09:00-24th 09:00 and 25th 09:00-26th 09:00; bob the days between.
    assert on_call(s, z("2026-12-23T23:00")) == (("carol",), z("2026-12-24T08:00"))
    assert on_call(s, z("2026-12-24T08:00")) == (("bob",), z("2026-12-25T08:00"))
    assert on_call(s, z("2026-12-25T08:00")) == (("carol",), z("2026-12-26T08:00"))


def test_a_swap_keeps_the_order_of_the_rotations() -> None:
    s = schedule(
        AMSTERDAM,
        (["alice"], "days=7", "2026-12-21T09:00"),
        (["bob"], "days=7", "2026-12-21T09:00"),
        overrides=(christmas(add="carol", remove="alice"),),
    )
    assert on_call(s, z("2026-12-25T12:00"))[0] == ("carol", "bob")


# -- hand-overs ahead


def test_next_handovers_lists_each_change_with_who_is_on_call_from_then() -> None:
    s = schedule(
        AMSTERDAM,
        (["alice", "bob"], "days=7", "2026-12-21T09:00"),
        overrides=(christmas(add="carol"),),
    )
    assert next_handovers(s, z("2026-12-21T08:00"), timedelta(days=14)) == [
        Handover(z("2026-12-23T23:00"), ("alice", "carol")),
        Handover(z("2026-12-26T23:00"), ("alice",)),
        Handover(z("2026-12-28T08:00"), ("bob",)),
        Handover(z("2027-01-04T08:00"), ("alice",)),
    ]


def test_next_handovers_ends_at_the_horizon_inclusive() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "days=1", "2026-12-21T09:00"))
    assert next_handovers(s, z("2026-12-21T08:00"), timedelta(days=1)) == [
        Handover(z("2026-12-22T08:00"), ("bob",))
    ]
    assert next_handovers(s, z("2026-12-21T08:00"), timedelta(hours=23)) == []


def test_moments_in_any_zone_are_the_same_instant() -> None:
    s = schedule(AMSTERDAM, (["alice", "bob"], "days=7", "2026-11-30T09:00"))
    in_new_york = datetime(2026, 12, 7, 2, 59, tzinfo=NEW_YORK)  # 07:59Z
    assert on_call(s, in_new_york) == (("alice",), z("2026-12-07T08:00"))
