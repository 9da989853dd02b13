"""The values oncall.toml holds, each parsed by one function that raises ValueError with a
message fit for the person who wrote the file (the loader adds where it is)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from alertd.dsl.errors import one_of
from alertd.dsl.functions import time_zone
from alertd.durations import parse_duration
from alertd.suggest import did_you_mean

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{day: number for number, day in enumerate(DAYS)},
    **{
        day: number
        for number, day in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
_WEEKS = re.compile(r"(\d+(?:\.\d+)?)w")
_WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class Problem(ValueError):
    """A value that is wrong, with a hint where one helps, and the string in it that is wrong
    when the value is a list."""

    def __init__(self, message: str, hint: str | None = None, literal: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.literal = literal


def duration(value: Any) -> timedelta:
    """A number of seconds, or a string such as "30m", "12h", "1d" or "1w" (weeks first:
    "1w3d"); the units of alertd.toml's durations, and weeks."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    problem = Problem(
        f"invalid duration {shown(value)}: expected a number and a unit (s, m, h, d, w), "
        'such as "30m", "12h", "1d" or "1w"'
    )
    if not isinstance(value, str):
        raise problem
    text = value.strip()
    weeks = _WEEKS.match(text)
    rest = text[weeks.end() :] if weeks else text
    try:
        seconds = parse_duration(rest) if rest or not weeks else 0.0
    except ValueError:
        raise problem from None
    return timedelta(weeks=float(weeks.group(1)) if weeks else 0.0, seconds=seconds)


def local_datetime(value: Any) -> datetime:
    """A local wall time: "2026-11-30T09:00", a TOML local date-time, or a date (its
    midnight). Never with an offset: the time zone of its table says where it is."""
    expected = f'expected a local date and time such as "2026-11-30T09:00", got {shown(value)}'
    if isinstance(value, str):
        try:
            parsed: date = datetime.fromisoformat(value.strip())
        except ValueError:
            raise Problem(expected) from None
    elif isinstance(value, date):
        parsed = value
    else:
        raise Problem(expected)
    if not isinstance(parsed, datetime):
        return datetime.combine(parsed, time())
    if parsed.tzinfo is not None:
        raise Problem(
            f"{shown(value)} has a UTC offset: write the local time, the time_zone says where it is"
        )
    return parsed


def zone(value: Any) -> ZoneInfo:
    """An IANA time zone name."""
    if not isinstance(value, str):
        raise Problem(f'expected a time zone name such as "Europe/Amsterdam", got {shown(value)}')
    try:
        return time_zone(value)
    except ValueError as exc:
        hint = did_you_mean(value, _zones()) or "an IANA zone name, such as Europe/Amsterdam"
        raise Problem(str(exc), hint) from None


def days(value: Any) -> frozenset[int]:
    """Week days, `["sat", "sun"]` (or whole names, in any case) -> {5, 6}, Monday being 0."""
    if not isinstance(value, list) or not all(isinstance(day, str) for day in value):
        raise Problem(f'expected a list of days such as ["sat", "sun"], got {shown(value)}')
    if not value:
        raise Problem("no days", "leave days out for every day")
    for day in value:
        if day.lower() not in _DAY_NAMES:
            # The same first letter first: "sonday" is as close to monday as to sunday.
            hint = (
                did_you_mean(day.lower(), [name for name in _DAY_NAMES if name[0] == day[:1]])
                or did_you_mean(day.lower(), _DAY_NAMES)
                or f"the days are {one_of(DAYS)}"
            )
            raise Problem(f"unknown day {shown(day)}", hint, day)
    return frozenset(_DAY_NAMES[day.lower()] for day in value)


def window(value: Any) -> tuple[time, timedelta]:
    """ "HH:MM-HH:MM" -> its start and length; an end not after the start is the next day's
    ("22:00-02:00" lasts 4 hours), "24:00" is the end of the day."""
    found = _WINDOW.fullmatch(value) if isinstance(value, str) else None
    if found is None or int(found[2]) > 59 or int(found[4]) > 59:
        raise Problem(f'expected HH:MM-HH:MM such as "02:00-06:00", got {shown(value)}')
    start = int(found[1]) * 60 + int(found[2])
    end = int(found[3]) * 60 + int(found[4])
    if start >= 24 * 60 or end > 24 * 60:
        raise Problem(f"{shown(value)}: a time of day runs from 00:00 to 24:00")
    if start == end:
        raise Problem("the window is empty: it ends when it starts", 'a whole day is "00:00-24:00"')
    length = end - start if end > start else end + 24 * 60 - start
    return time(start // 60, start % 60), timedelta(minutes=length)


def address(kind: str, value: Any) -> str:
    """A person's address on a channel of this kind: an email address, an E.164 phone number,
    an http(s) URL for webhooks; any text for Slack (a user id) and push (a device or topic)."""
    if not isinstance(value, str) or not value.strip():
        raise Problem(f"expected the person's {kind} address, got {shown(value)}")
    if kind == "email" and ("@" not in value or any(c.isspace() for c in value)):
        raise Problem(f"expected an email address such as alice@example.com, got {shown(value)}")
    if kind == "sms" and not _E164.fullmatch(value):
        raise Problem(
            f"expected a phone number in E.164 form such as +15550100, got {shown(value)}",
            "a +, the country code and the number, with no spaces or dashes",
        )
    if kind == "webhook" and not value.startswith(("http://", "https://")):
        raise Problem(f"expected an http:// or https:// URL, got {shown(value)}")
    return value


def shown(value: Any) -> str:
    """A value as a TOML file writes it: "text", 3, true; a table or list by what it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())
