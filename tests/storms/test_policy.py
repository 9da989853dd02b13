"""The storm keys of a channel table: what they mean, and the errors a mistake in them gets (the
daemon refuses to start with them, and `alertd check` prints them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alertd.config import ConfigError, settings_from_dict
from alertd.storms.policy import Cap, Digest, QuietHours, storm_policy


def check(table: dict[str, Any], kind: str = "sms") -> str:
    with pytest.raises(ConfigError) as error:
        settings_from_dict({"channels": {kind: table}}, Path("alertd.toml"), {})
    return str(error.value)


def test_what_the_keys_mean() -> None:
    policy = storm_policy(
        "email",
        {
            "max_per_recipient": "10/1h",
            "quiet_hours": {"window": "22:30-06:45", "time_zone": "Europe/Amsterdam"},
            "digest": {"every": "2h", "priorities": ["low", "medium"]},
        },
    )
    assert policy.cap == Cap(10, 3600.0)
    assert policy.quiet == QuietHours(22 * 60 + 30, 6 * 60 + 45, "Europe/Amsterdam", "urgent")
    assert policy.digest == Digest(7200.0, frozenset({"low", "medium"}))


def test_sms_is_capped_unless_it_says_otherwise() -> None:
    assert storm_policy("sms", {}).cap == Cap(5, 900.0)
    assert storm_policy("sms", {"max_per_recipient": "off"}).cap is None
    assert storm_policy("webhook", {}).cap is None
    zone = storm_policy("slack", {"quiet_hours": {"window": "22:00-07:00"}}, "Asia/Tokyo")
    assert zone.quiet is not None and zone.quiet.time_zone == "Asia/Tokyo"  # [notify] timezone


@pytest.mark.parametrize(
    ("table", "error"),
    [
        (
            {"max_per_recipient": "3 per 10m"},
            'max_per_recipient: expected "N/DURATION", at most N messages per recipient in any '
            'DURATION, such as "5/15m" (or "off"), got \'3 per 10m\'',
        ),
        ({"max_per_recipient": "0/10m"}, "max_per_recipient: the count must be at least 1"),
        ({"max_per_recipient": "3/10x"}, "max_per_recipient: invalid duration '10x'"),
        ({"max_per_recipient": 3}, 'max_per_recipient: expected a string such as "5/15m"'),
        (
            {"quiet_hours": {"window": "22:00-07:00", "time_zone": "Europe/Amsterdm"}},
            "quiet_hours: time_zone: unknown time zone 'Europe/Amsterdm'",
        ),
        (
            {"quiet_hours": {"window": "22:00-07:00", "belw": "high"}},
            "quiet_hours: unknown key 'belw', it takes window, time_zone, below (did you mean "
            "'below'?)",
        ),
        (
            {"quiet_hours": {"window": "22:00-07:00", "below": "hgh"}},
            "quiet_hours: below: 'hgh' is not a priority (one of low, medium, high, urgent) (did "
            "you mean 'high'?)",
        ),
        ({"quiet_hours": {"window": "25:00-07:00"}}, "is not a time of day (00:00 to 23:59)"),
        ({"quiet_hours": {"window": "07:00-07:00"}}, "starts where it ends; it would never end"),
        ({"quiet_hours": {"time_zone": "UTC"}}, "quiet_hours: window: missing"),
        ({"quiet_hours": "22:00-07:00"}, "quiet_hours: expected an inline table such as"),
        ({"digest": {"every": "30s"}}, "digest: every: must be at least 1m, got '30s'"),
        ({"digest": {"priorities": ["low"]}}, "digest: every: missing"),
        (
            {"digest": {"every": "1h", "priorities": ["lwo"]}},
            "digest: priorities: 'lwo' is not a priority (one of low, medium, high, urgent) (did "
            "you mean 'low'?)",
        ),
        ({"digest": {"every": "1h", "priorities": []}}, "digest: priorities: expected a list"),
        ({"max_per_recipent": "3/1m"}, "unknown key (did you mean 'max_per_recipient'?)"),
    ],
)
def test_each_mistake_is_named_with_its_channel_and_key(table: dict[str, Any], error: str) -> None:
    message = check(table)
    assert message.startswith("alertd.toml: [channels.sms] ")
    assert error in message
