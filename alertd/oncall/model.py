"""What oncall.toml holds, as plain frozen data: people, schedules, escalation policies and
maintenance windows. The loader (alertd.oncall.loader) makes these; the functions beside them
(schedule, recipients, maintenance) compute over them and read no clock.

Local times (a rotation's start, an override's range) are naive wall times in their schedule's
zone; alertd.oncall.walltime turns them into instants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from alertd.model import NotifyTarget


@dataclass(frozen=True)
class Person:
    """`[people.ID]`: someone who can be paged, with an address per channel."""

    id: str
    name: str  # for people to read; the id when the file gives none
    addresses: Mapping[str, str] = field(default_factory=dict)  # channel name -> address
    password_hash: str | None = field(default=None, repr=False)  # web console sign-in; never log

    def address(self, channel: str, kind: str | None = None) -> str | None:
        """The address for a channel: the one under its name, else under its kind (a
        `[channels.ops_mail]` of kind email uses the person's `email`), else None."""
        found = self.addresses.get(channel)
        if found is None and kind is not None:
            found = self.addresses.get(kind)
        return found


@dataclass(frozen=True)
class Rotation:
    """Members in turn, one shift each, the first shift starting at `start` (local wall time).

    Shift k starts at `start + k * shift` in wall time, so a 1d shift starting 09:00 starts at
    09:00 every day, across DST changes too."""

    members: tuple[str, ...]
    shift: timedelta
    start: datetime

    def member(self, shift: int) -> str:
        return self.members[shift % len(self.members)]


@dataclass(frozen=True)
class Override:
    """Over [start, end) (local wall times): `add` is on call, `remove` is not; with both, a
    swap: `add` is on call instead of `remove`, whenever `remove` would be."""

    start: datetime
    end: datetime
    add: str | None = None
    remove: str | None = None


@dataclass(frozen=True)
class Schedule:
    """`[schedules.NAME]`: rotations (all on call together) and overrides, in one zone."""

    name: str
    zone: ZoneInfo
    rotations: tuple[Rotation, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step of an escalation policy: `after` seconds (from the alert for the first step,
    from the previous step for the others), notify these targets."""

    after: float
    notify: tuple[NotifyTarget, ...]


@dataclass(frozen=True)
class Policy:
    """`[escalation.NAME]`: steps in order; after the last, start over `repeat` more times."""

    name: str
    steps: tuple[Step, ...]
    repeat: int = 0


@dataclass(frozen=True)
class Matcher:
    """One condition of a silence or maintenance window, as DESIGN.md "Silences" writes it:
    `name` is an event field (a path such as `location.city` allowed), `rule` or `priority`;
    `value` is a literal or, with `regex`, an RE2 pattern; `equal = false` negates it."""

    name: str
    value: str
    regex: bool = False
    equal: bool = True


@dataclass(frozen=True)
class Maintenance:
    """`[maintenance.NAME]`: a silence that recurs every week. On each of `days` (0 Monday ..
    6 Sunday) it starts at `start` local time and lasts `length` of wall time (so a window
    `22:00-02:00` ends at 02:00 the next day)."""

    name: str
    zone: ZoneInfo
    days: frozenset[int]
    start: time
    length: timedelta
    matchers: tuple[Matcher, ...]
    comment: str = ""


@dataclass(frozen=True)
class OnCall:
    """Everything one oncall.toml says, by name, in the order of the file."""

    source: str
    people: Mapping[str, Person] = field(default_factory=dict)
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    policies: Mapping[str, Policy] = field(default_factory=dict)
    maintenance: Mapping[str, Maintenance] = field(default_factory=dict)

    def owner(self, channel: str, kind: str, address: str) -> Person | None:
        """The person whose address on this channel (or its kind) is `address`: who answered
        from a phone number, a Slack user id, an email address. Compared without case, and
        phone numbers without their spaces, dashes, dots and brackets."""
        wanted = same_address(address)
        for person in self.people.values():
            found = person.address(channel, kind)
            if found is not None and same_address(found) == wanted:
                return person
        return None


def same_address(address: str) -> str:
    """An address as two writings of it compare equal: `+1 (555) 010-0101` as `+15550100101`,
    `Alice@Example.com` as `alice@example.com`."""
    text = address.strip().casefold()
    if text.startswith("+") or text[:1].isdigit():
        text = "".join(char for char in text if char not in " -.()")
    return text
