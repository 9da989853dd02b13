"""Recipient groups -> the addresses on one channel at one moment (alertd.oncall.recipients)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.oncall import OnCall, Person, Recipients, Rotation, Schedule, resolve_recipients
from alertd.oncall.recipients import recipient_groups

ALICE = Person("alice", "Alice", {"sms": "+15550100101", "email": "alice@example.com"})
BOB = Person("bob", "Bob", {"email": "bob@example.com", "ops_mail": "bob@ops.example.com"})
OPS = Schedule(
    "ops",
    ZoneInfo("Europe/Amsterdam"),
    (Rotation(("alice", "bob"), timedelta(days=7), datetime(2026, 11, 30, 9)),),
)
ONCALL = OnCall("oncall.toml", people={"alice": ALICE, "bob": BOB}, schedules={"ops": OPS})
RECIPIENTS = {"managers": ("m@example.com", "person:bob"), "leads": ("oncall:ops",)}
ALICE_WEEK = datetime(2026, 12, 1, 12, tzinfo=UTC)
BOB_WEEK = datetime(2026, 12, 8, 12, tzinfo=UTC)


def resolve(channel: str, *groups: str, at: datetime = ALICE_WEEK, **kw: str) -> Recipients:
    return resolve_recipients(ONCALL, RECIPIENTS, channel, groups, at, **kw)


def test_oncall_is_whoever_is_on_call_at_that_moment() -> None:
    assert resolve("email", "oncall:ops") == Recipients(("alice@example.com",))
    assert resolve("email", "oncall:ops", at=BOB_WEEK) == Recipients(("bob@example.com",))


def test_a_person_without_an_address_on_the_channel_is_skipped_and_reported() -> None:
    assert resolve("sms", "oncall:ops", at=BOB_WEEK) == Recipients(
        (), ("person:bob has no sms address (on call in oncall:ops)",)
    )
    assert resolve("sms", "person:bob", "person:alice") == Recipients(
        ("+15550100101",), ("person:bob has no sms address",)
    )


def test_a_recipients_group_may_list_people_and_schedules() -> None:
    assert resolve("email", "managers") == Recipients(("m@example.com", "bob@example.com"))
    assert resolve("sms", "managers") == Recipients(
        ("m@example.com",), ("person:bob has no sms address, in recipient group 'managers'",)
    )
    assert resolve("email", "leads", at=BOB_WEEK) == Recipients(("bob@example.com",))


def test_a_channel_uses_its_own_address_else_the_one_of_its_kind() -> None:
    assert resolve("ops_mail", "person:bob", "person:alice", kind="email") == Recipients(
        ("bob@ops.example.com", "alice@example.com")
    )


def test_addresses_are_deduplicated_in_order() -> None:
    assert resolve("email", "person:alice", "oncall:ops", "managers") == Recipients(
        ("alice@example.com", "m@example.com", "bob@example.com")
    )


def test_what_cannot_be_resolved_is_reported_not_raised() -> None:
    assert resolve("email", "nobody", "person:zoe", "oncall:night") == Recipients(
        (),
        (
            "unknown recipient group 'nobody'",
            "person:zoe: no such person in oncall.toml",
            "oncall:night: no such schedule in oncall.toml",
        ),
    )
    before = datetime(2026, 11, 1, tzinfo=UTC)
    assert resolve("email", "oncall:ops", at=before) == Recipients(
        (), ("oncall:ops: nobody is on call",)
    )
    assert resolve_recipients(None, {}, "email", ["person:alice"], ALICE_WEEK) == Recipients(
        (), ("person:alice: no on-call file is configured ([oncall] path)",)
    )


def test_recipient_groups_are_every_name_a_channel_may_take() -> None:
    assert recipient_groups(RECIPIENTS, ONCALL) == {
        "managers",
        "leads",
        "oncall:ops",
        "person:alice",
        "person:bob",
    }
    assert recipient_groups(RECIPIENTS, None) == {"managers", "leads"}
