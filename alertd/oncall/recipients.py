"""Recipient groups -> addresses on one channel, at one moment.

A channel's groups (`sms(oncall:fleet_ops, managers)`) are any of:
- `oncall:SCHEDULE`: whoever is on call in that schedule at the moment asked about;
- `person:NAME`: that person of oncall.toml;
- a `[recipients]` group of alertd.toml, whose members are addresses, `person:NAME` or
  `oncall:SCHEDULE` (a group does not name another group).

A person's address is the one under the channel's name, else under its kind. A person with no
address on the channel is skipped and reported, as is a group nobody resolves to: the caller
logs the problems, and decides what an empty list means (the channel's defaults, say).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from alertd.oncall.model import OnCall, Person
from alertd.oncall.schedule import on_call

ONCALL = "oncall:"
PERSON = "person:"


@dataclass(frozen=True)
class Recipients:
    """Addresses, deduplicated in order, and what could not be resolved, for the log."""

    addresses: tuple[str, ...]
    problems: tuple[str, ...] = ()


def recipient_groups(
    recipients: Mapping[str, Sequence[str]], oncall: OnCall | None
) -> frozenset[str]:
    """Every group a channel may name: the `[recipients]` groups, and with an on-call file,
    `oncall:S` for each of its schedules and `person:P` for each of its people."""
    names = set(recipients)
    if oncall is not None:
        names.update(ONCALL + name for name in oncall.schedules)
        names.update(PERSON + name for name in oncall.people)
    return frozenset(names)


def escalation_policies(oncall: OnCall | None) -> frozenset[str]:
    """The policies a rule's `escalate` may name: none without an on-call file."""
    return frozenset(() if oncall is None else oncall.policies)


def resolve_recipients(
    oncall: OnCall | None,
    recipients: Mapping[str, Sequence[str]],
    channel: str,
    groups: Iterable[str],
    at: datetime,
    *,
    kind: str | None = None,
) -> Recipients:
    """The addresses on `channel` (of kind `kind`, when its name is not a kind) that `groups`
    stand for at `at`. Never raises: what cannot be resolved is in `problems`."""
    addresses: list[str] = []
    problems: list[str] = []
    for group in groups:
        if group.startswith((ONCALL, PERSON)):
            members: Sequence[str] = (group,)
        elif group in recipients:
            members = recipients[group]
        else:
            problems.append(f"unknown recipient group {group!r}")
            continue
        for member in members:
            if not member.startswith((ONCALL, PERSON)):
                addresses.append(member)
                continue
            people, problem = _people(oncall, member, at)
            if problem is not None:
                problems.append(problem)
            for person in people:
                address = person.address(channel, kind)
                if address is None:
                    via = "" if member == group else f", in recipient group {group!r}"
                    on_duty = f" (on call in {member}{via})" if member.startswith(ONCALL) else via
                    problems.append(f"{PERSON}{person.id} has no {channel} address{on_duty}")
                else:
                    addresses.append(address)
    return Recipients(tuple(dict.fromkeys(addresses)), tuple(problems))


def _people(oncall: OnCall | None, member: str, at: datetime) -> tuple[list[Person], str | None]:
    """The people `oncall:S` or `person:P` stands for at `at`, and why nobody, if nobody."""
    if oncall is None:
        return [], f"{member}: no on-call file is configured ([oncall] path)"
    if member.startswith(PERSON):
        ids: Sequence[str] = (member.removeprefix(PERSON),)
    else:
        schedule = oncall.schedules.get(member.removeprefix(ONCALL))
        if schedule is None:
            return [], f"{member}: no such schedule in {oncall.source}"
        ids, _until = on_call(schedule, at)
        if not ids:
            return [], f"{member}: nobody is on call"
    people = [oncall.people[i] for i in ids if i in oncall.people]
    if len(people) < len(ids):
        return people, f"{member}: no such person in {oncall.source}"
    return people, None
