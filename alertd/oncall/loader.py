"""oncall.toml -> `OnCall`, with every mistake in it as `path:line:col: error: message`.

The file is checked against alertd.toml's settings: a person's addresses are keyed by channel
names, escalation steps name channels and recipient groups. As in alertd.toml, an unknown key
is an error (a misspelt key silently ignored is a setting that silently does nothing), with a
did-you-mean where one is close. Unlike alertd.toml, every error is collected, not only the
first, and each points at its line: tomllib gives no positions past syntax errors, so
alertd.oncall.tomlpos finds them in the text. The values are parsed by alertd.oncall.values.

`load_oncall(settings)` is the front door: the file `[oncall] path` names (None without one),
and every error, those of the `person:`/`oncall:` members of `[recipients]` included.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from alertd.config import Settings
from alertd.dsl.checker import unknown_group
from alertd.dsl.errors import RuleError, one_of
from alertd.dsl.regex import PatternError, compile_pattern
from alertd.model import CHANNEL_KINDS, NotifyTarget
from alertd.oncall import values
from alertd.oncall.model import (
    Maintenance,
    Matcher,
    OnCall,
    Override,
    Person,
    Policy,
    Rotation,
    Schedule,
    Step,
)
from alertd.oncall.recipients import ONCALL, PERSON, recipient_groups
from alertd.oncall.tomlpos import TomlPositions
from alertd.oncall.values import Problem, shown
from alertd.suggest import did_you_mean

T = TypeVar("T")
Where = tuple[str | int, ...]
"""A place in the file by keys: ("schedules", "ops", "rotations", 0, "shift")."""

MIN_SHIFT = timedelta(minutes=1)

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what a rule can write after person: or oncall:
_TARGET = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^()]*)\))?\s*")
_GROUP = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)?")
_SYNTAX = re.compile(r"(.*) \(at line (\d+), column (\d+)\)", re.DOTALL)

_SECTIONS = ("people", "schedules", "escalation", "maintenance")
_PERSON_KEYS = ("name", "password_hash")
_SCHEDULE_KEYS = ("time_zone", "rotations", "overrides")
_ROTATION_KEYS = ("members", "shift", "start")
_OVERRIDE_KEYS = ("start", "end", "add", "remove")
_POLICY_KEYS = ("repeat", "steps")
_STEP_KEYS = ("after", "notify")
_MAINTENANCE_KEYS = ("time_zone", "days", "window", "matchers", "comment")
_MATCHER_KEYS = ("name", "value", "regex", "equal")


def oncall_path_problem(settings: Settings) -> str | None:
    """Why the configured on-call file cannot be read, naming the setting; None when it can
    (or when none is configured)."""
    path = settings.oncall.path
    if path is None or path.is_file():
        return None
    what = "is not a file" if path.exists() else "no such file"
    return f"{path}: {what} (from {settings.source} [oncall] path)"


def load_oncall(settings: Settings) -> tuple[OnCall | None, list[RuleError]]:
    """The on-call file of these settings (None when `[oncall] path` is not set) and every
    error in it and in the `person:`/`oncall:` members of `[recipients]`, sorted.

    With errors, the OnCall is what could be read, for checking what refers to it (a rule's
    `oncall:S`); do not run on it: keep the previous one."""
    path = settings.oncall.path
    oncall: OnCall | None = None
    errors: list[RuleError] = []
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = oncall_path_problem(settings) or f"{path}: cannot read it: {exc}"
            errors.append(RuleError(str(path), 0, 0, problem.removeprefix(f"{path}: ")))
        else:
            oncall, errors = parse_oncall(text, str(path), settings)
    errors += _check_recipients(settings, oncall)
    return oncall, sorted(errors, key=RuleError.sort_key)


def parse_oncall(text: str, path: str, settings: Settings) -> tuple[OnCall, list[RuleError]]:
    """Parse and check the text of an on-call file named `path`. Never raises."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return OnCall(path), [_syntax_error(exc, text, path)]
    reader = _Reader(text, path, settings)
    return reader.read(data), reader.errors


class _Reader:
    """Reads the parsed tables into the model, recording every error with its place."""

    def __init__(self, text: str, path: str, settings: Settings) -> None:
        self.path = path
        self.settings = settings
        self.places = TomlPositions(text)
        self.errors: list[RuleError] = []

    def read(self, data: Mapping[str, Any]) -> OnCall:
        self.keys(data, (), _SECTIONS, "the file")
        people = self.each(data, "people", self.person, "a person's id")
        # References are checked against every name the file defines, so that a broken
        # schedule is reported once, not again by every step that names it.
        names = frozenset(_names(data, "people"))
        schedules = self.each(
            data, "schedules", lambda w, t: self.schedule(w, t, names), "a schedule's name"
        )
        groups = frozenset(self.settings.recipients) | {
            *(PERSON + name for name in names),
            *(ONCALL + name for name in _names(data, "schedules")),
        }
        policies = self.each(
            data, "escalation", lambda w, t: self.policy(w, t, groups), "a policy's name"
        )
        maintenance = self.each(data, "maintenance", self.maintenance, None)
        return OnCall(self.path, people, schedules, policies, maintenance)

    def each(
        self,
        data: Mapping[str, Any],
        section: str,
        read: Callable[[Where, Mapping[str, Any]], T | None],
        named: str | None,
    ) -> dict[str, T]:
        """Every `[section.NAME]` table read by `read`. `named`: what a name of this section
        is called, when rules refer to it (it must then be a word); None: any name goes."""
        tables = data.get(section, {})
        if not isinstance(tables, dict):
            self.error((section,), f"expected tables [{section}.NAME]", value=True)
            return {}
        found: dict[str, T] = {}
        for name, table in tables.items():
            where = (section, name)
            if not isinstance(table, dict):
                self.error(where, f"expected a table [{section}.{name}]", value=True)
            elif named is not None and not _ID.fullmatch(name):
                self.error(
                    where,
                    f"{named} must be letters, digits and _, not starting with a digit",
                    "rules and recipient groups refer to it by this name",
                )
            elif (item := read(where, table)) is not None:
                found[name] = item
        return found

    # -- people

    def person(self, where: Where, table: Mapping[str, Any]) -> Person:
        kinds = {name: self.settings.channel_kind(name) for name in self.settings.channels}
        kinds.update({kind: kind for kind in CHANNEL_KINDS})
        hint = "a person's keys are name, password_hash and channel names (their address there)"
        self.keys(table, where, (*_PERSON_KEYS, *sorted(kinds)), "a person", hint=hint)
        addresses: dict[str, str] = {}
        for channel, kind in kinds.items():
            address = self.parsed(table, where, channel, partial(values.address, kind))
            if address is not None:
                addresses[channel] = address
        return Person(
            str(where[-1]),
            self.text(table, where, "name", default=str(where[-1])),
            addresses,
            self.text(table, where, "password_hash", default=None),
        )

    # -- schedules

    def schedule(self, where: Where, table: Mapping[str, Any], people: frozenset[str]) -> Schedule:
        self.keys(table, where, _SCHEDULE_KEYS, "a schedule", required=("time_zone",))
        zone = self.parsed(table, where, "time_zone", values.zone)
        rotations = [
            self.rotation((*where, "rotations", index), item, people)
            for index, item in enumerate(self.tables(table, where, "rotations"))
        ]
        overrides = [
            self.override((*where, "overrides", index), item, people)
            for index, item in enumerate(self.tables(table, where, "overrides"))
        ]
        if "rotations" not in table and "overrides" not in table:
            self.error(
                where,
                "the schedule has no rotations",
                f"add [[schedules.{where[-1]}.rotations]] with members, shift and start",
            )
        return Schedule(
            str(where[-1]),
            zone or ZoneInfo("UTC"),  # a stand-in: with an error the schedule is not run
            tuple(rotation for rotation in rotations if rotation),
            tuple(override for override in overrides if override),
        )

    def rotation(
        self, where: Where, table: Mapping[str, Any], people: frozenset[str]
    ) -> Rotation | None:
        self.keys(table, where, _ROTATION_KEYS, "a rotation", required=_ROTATION_KEYS)
        members = self.members(table, where, people)
        shift = self.parsed(table, where, "shift", values.duration)
        if shift is not None and shift < MIN_SHIFT:
            self.error(
                (*where, "shift"), f"must be at least 1m, got {shown(table['shift'])}", value=True
            )
            shift = None
        start = self.parsed(table, where, "start", values.local_datetime)
        if members is None or shift is None or start is None:
            return None
        return Rotation(members, shift, start)

    def members(
        self, table: Mapping[str, Any], where: Where, people: frozenset[str]
    ) -> tuple[str, ...] | None:
        members = table.get("members")
        if members is None:
            return None
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            self.error((*where, "members"), "expected a list of person ids", value=True)
            return None
        if not members:
            hint = 'list the people who take turns: members = ["alice", "bob"]'
            self.error((*where, "members"), "the rotation has no members", hint, value=True)
            return None
        unknown = [member for member in members if member not in people]
        for member in dict.fromkeys(unknown):
            self.person_error((*where, "members"), member, people)
        return None if unknown else tuple(members)

    def override(
        self, where: Where, table: Mapping[str, Any], people: frozenset[str]
    ) -> Override | None:
        self.keys(table, where, _OVERRIDE_KEYS, "an override", required=("start", "end"))
        start = self.parsed(table, where, "start", values.local_datetime)
        end = self.parsed(table, where, "end", values.local_datetime)
        add = self.text(table, where, "add", default=None)
        remove = self.text(table, where, "remove", default=None)
        ok = True
        if start is not None and end is not None and end <= start:
            message = f"the override must end after it starts ({shown(table['start'])})"
            self.error((*where, "end"), message, value=True)
            ok = False
        for key, name in (("add", add), ("remove", remove)):
            if name is not None and name not in people:
                self.person_error((*where, key), name, people)
                ok = False
        if "add" not in table and "remove" not in table:
            hint = 'add = "ID" puts someone on call, remove = "ID" takes someone off; both swap'
            self.error(where, "the override neither adds nor removes anyone", hint)
        elif add is not None and add == remove:
            message = "the override adds and removes the same person"
            self.error((*where, "remove"), message, value=True)
            ok = False
        if not ok or start is None or end is None or (add is None and remove is None):
            return None
        return Override(start, end, add, remove)

    def person_error(self, where: Where, name: str, people: Collection[str]) -> None:
        hint = did_you_mean(name, people) or "people are defined as [people.ID]"
        self.error(where, f"unknown person '{name}'", hint, literal=name)

    # -- escalation

    def policy(self, where: Where, table: Mapping[str, Any], groups: frozenset[str]) -> Policy:
        self.keys(table, where, _POLICY_KEYS, "an escalation policy", required=("steps",))
        repeat = table.get("repeat", 0)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 0:
            message = f"expected a whole number, 0 or more, got {shown(repeat)}"
            self.error((*where, "repeat"), message, value=True)
            repeat = 0
        items = self.tables(table, where, "steps")
        if "steps" in table and not items:
            self.error((*where, "steps"), "the policy has no steps", value=True)
        steps = [
            self.step((*where, "steps", index), item, groups) for index, item in enumerate(items)
        ]
        return Policy(str(where[-1]), tuple(step for step in steps if step), repeat)

    def step(self, where: Where, table: Mapping[str, Any], groups: frozenset[str]) -> Step | None:
        self.keys(table, where, _STEP_KEYS, "an escalation step", required=_STEP_KEYS)
        after = self.parsed(table, where, "after", values.duration)
        if after is not None and after < timedelta(0):
            self.error((*where, "after"), "must not be negative", value=True)
            after = None
        notify = table.get("notify")
        if isinstance(notify, str):
            notify = [notify]
        if notify is not None and (
            not isinstance(notify, list) or not all(isinstance(t, str) for t in notify)
        ):
            message = 'expected a list of targets such as ["sms(oncall:fleet_ops)", "slack"]'
            self.error((*where, "notify"), message, value=True)
            return None
        if notify == []:
            self.error((*where, "notify"), "the step notifies nobody", value=True)
            return None
        targets = [self.target((*where, "notify"), text, groups) for text in notify or ()]
        channels = [target.channel for target in targets if target is not None]
        for channel in dict.fromkeys(c for c in channels if channels.count(c) > 1):
            hint = "list the channel once, with all its groups: sms(oncall:ops, managers)"
            self.error((*where, "notify"), f"channel '{channel}' is listed twice", hint, value=True)
            return None
        if after is None or not targets or None in targets:
            return None
        return Step(after.total_seconds(), tuple(t for t in targets if t is not None))

    def target(self, where: Where, text: str, groups: frozenset[str]) -> NotifyTarget | None:
        """`"sms(oncall:fleet_ops, managers)"`, checked as a rule's notify clause is."""
        found = _TARGET.fullmatch(text)
        names = (
            [] if found is None or found[2] is None else [n.strip() for n in found[2].split(",")]
        )
        if found is None or not all(_GROUP.fullmatch(name) for name in names):
            hint = 'such as "slack" or "sms(oncall:fleet_ops, managers)"'
            message = f"expected CHANNEL or CHANNEL(GROUP, ...), got {json.dumps(text)}"
            self.error(where, message, hint, literal=text)
            return None
        channel, ok = found[1], True
        channels = self.settings.channel_names()
        if channel not in channels:
            hint = did_you_mean(channel, channels) or f"the channels are {one_of(sorted(channels))}"
            self.error(where, f"unknown channel '{channel}'", hint, literal=text, part=channel)
            ok = False
        for name in names:
            if name not in groups:
                self.error(where, *unknown_group(name, groups), literal=text, part=name)
                ok = False
        return NotifyTarget(channel, tuple(names)) if ok else None

    # -- maintenance

    def maintenance(self, where: Where, table: Mapping[str, Any]) -> Maintenance | None:
        required = ("time_zone", "window", "matchers")
        self.keys(table, where, _MAINTENANCE_KEYS, "a maintenance window", required=required)
        zone = self.parsed(table, where, "time_zone", values.zone)
        days = self.parsed(table, where, "days", values.days) if "days" in table else range(7)
        window = self.parsed(table, where, "window", values.window)
        comment = self.text(table, where, "comment", default="")
        matchers = self.tables(table, where, "matchers", inline=True)
        if "matchers" in table and not matchers:
            hint = 'without one it would silence every alert: {name = "rule", value = "..."}'
            self.error((*where, "matchers"), "the window has no matchers", hint, value=True)
        read = [self.matcher((*where, "matchers", i), m) for i, m in enumerate(matchers)]
        if zone is None or days is None or window is None or not read or None in read:
            return None
        start, length = window
        kept = tuple(matcher for matcher in read if matcher is not None)
        return Maintenance(str(where[-1]), zone, frozenset(days), start, length, kept, comment)

    def matcher(self, where: Where, table: Mapping[str, Any]) -> Matcher | None:
        self.keys(table, where, _MATCHER_KEYS, "a matcher", required=("name", "value"))
        name = self.text(table, where, "name", default=None)
        value = self.text(table, where, "value", default=None)
        regex = self.flag(table, where, "regex", default=False)
        equal = self.flag(table, where, "equal", default=True)
        if name is not None and not name.strip():
            self.error((*where, "name"), "the field name is empty", value=True)
            return None
        if value is not None and regex:
            try:
                compile_pattern(value)
            except PatternError as exc:
                message = f"invalid regular expression: {exc.message}"
                self.error((*where, "value"), message, exc.hint, value=True)
                return None
        if name is None or value is None or regex is None or equal is None:
            return None
        return Matcher(name, value, regex, equal)

    # -- keys and values

    def keys(
        self,
        table: Mapping[str, Any],
        where: Where,
        known: Sequence[str],
        what: str,
        *,
        required: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        """Every key is known (else an error with a did-you-mean), every required one there."""
        for key in table:
            if key not in known:
                hint = did_you_mean(key, known) or hint or f"the keys of {what} are {one_of(known)}"
                self.error((*where, key), "unknown key" if where else "unknown table", hint)
        for key in required:
            if key not in table:
                self.error(where, f"missing key '{key}'")

    def parsed(
        self, table: Mapping[str, Any], where: Where, key: str, parse: Callable[[Any], T]
    ) -> T | None:
        """The key's value parsed by `parse` (None when missing or wrong: the error is noted)."""
        if key not in table:
            return None
        try:
            return parse(table[key])
        except Problem as problem:
            self.error(
                (*where, key), problem.message, problem.hint, value=True, literal=problem.literal
            )
            return None

    def tables(
        self, table: Mapping[str, Any], where: Where, key: str, *, inline: bool = False
    ) -> list[dict[str, Any]]:
        """An array of tables (`[[where.key]]`, or inline: `[{...}, {...}]`), else an error."""
        items = table.get(key, [])
        if isinstance(items, list) and all(isinstance(item, dict) for item in items):
            return items
        path = ".".join(map(str, (*where, key)))
        example = "a list of tables such as [{...}, {...}]" if inline else f"tables [[{path}]]"
        self.error((*where, key), f"expected {example}", value=True)
        return []

    def text(self, table: Mapping[str, Any], where: Where, key: str, *, default: T) -> str | T:
        value = table.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.error((*where, key), f"expected a string, got {shown(value)}", value=True)
            return default
        return value

    def flag(self, table: Mapping[str, Any], where: Where, key: str, default: bool) -> bool | None:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.error((*where, key), f"expected true or false, got {shown(value)}", value=True)
            return None
        return value

    def error(
        self,
        where: Where,
        message: str,
        hint: str | None = None,
        *,
        value: bool = False,
        literal: str | None = None,
        part: str | None = None,
    ) -> None:
        """An error about the key at `where`, or its value, or a string in its value, or a part
        of that string."""
        if value or literal is not None:
            place = self.places.value(where, literal, part)
        else:
            place = self.places.key(where)
        self.errors.append(
            RuleError(
                self.path,
                place.line,
                place.column,
                f"{_describe(where)}: {message}",
                hint,
                source_line=place.source_line,
                width=place.width,
            )
        )


def _check_recipients(settings: Settings, oncall: OnCall | None) -> list[RuleError]:
    """The `person:ID` and `oncall:SCHEDULE` members of alertd.toml's `[recipients]` groups
    name people and schedules of the on-call file. Errors point into alertd.toml."""
    known = recipient_groups({}, oncall)
    bad = [
        (group, member)
        for group, members in settings.recipients.items()
        for member in members
        if member.startswith((ONCALL, PERSON)) and member not in known
    ]
    if not bad:
        return []
    try:
        places = TomlPositions(settings.source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        places = TomlPositions("")
    errors = []
    for group, member in bad:
        place = places.value(("recipients", group), member)
        message, hint = unknown_group(member, known)
        if oncall is None:
            hint = "there is no on-call file: set [oncall] path"
        errors.append(
            RuleError(
                str(settings.source),
                place.line,
                place.column,
                f"[recipients] {group}: {message}",
                hint,
                source_line=place.source_line,
                width=place.width,
            )
        )
    return errors


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, path: str) -> RuleError:
    lines = text.split("\n")
    found = _SYNTAX.fullmatch(str(exc))
    if found is None:  # "... (at end of document)"
        message = str(exc).removesuffix(" (at end of document)")
        line = len(text.rstrip("\n").split("\n"))
        column = len(lines[line - 1]) + 1
    else:
        message, line, column = found[1], int(found[2]), int(found[3])
    source = lines[line - 1] if line <= len(lines) else None
    return RuleError(path, line, column, f"invalid TOML: {message}", source_line=source)


def _names(data: Mapping[str, Any], section: str) -> list[str]:
    tables = data.get(section)
    return [str(name) for name in tables] if isinstance(tables, dict) else []


def _describe(where: Where) -> str:
    """Where an error is, as the file writes it: ("people", "alice") -> "[people.alice]",
    ("schedules", "ops", "rotations", 0, "shift") -> "[[schedules.ops.rotations]] shift",
    ("maintenance", "m", "matchers", 0, "name") -> "[maintenance.m] matchers[0].name"."""
    table, rest = [str(part) for part in where[:2]], list(where[2:])
    if len(rest) >= 2 and isinstance(rest[1], int) and rest[0] != "matchers":
        keys = " ".join(str(part) for part in rest[2:])
        return f"[[{'.'.join([*table, str(rest[0])])}]]" + (f" {keys}" if keys else "")
    keys_written: list[str] = []
    for part in rest:
        if isinstance(part, int):
            keys_written[-1] += f"[{part}]"
        else:
            keys_written.append(part)
    keys = ".".join(keys_written)
    return f"[{'.'.join(table)}]" + (f" {keys}" if keys else "")
