"""`alertd oncall [SCHEDULE...] [--at TIME] [--format text|json]`: who is on call, and until when.

Text, per schedule, in its own zone:

    fleet_ops (Europe/Amsterdam) at Tue 2026-12-01 10:00 CET
      on call: alice (Alice Martin)
      until:   Mon 2026-12-07 09:00 CET, then bob (Bob Stone)

JSON, one line per schedule: {"schedule": S, "time_zone": Z, "at": ISO, "on_call": [ids],
"until": ISO or null}, times with the schedule's UTC offset.

Exit codes: 0; 2 with no on-call file configured, an unknown schedule, a bad --at, or an on-call
file with errors (`alertd check` lists them).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from alertd.clock import SYSTEM_CLOCK
from alertd.config import Settings
from alertd.oncall import OnCall, Schedule, load_oncall, on_call
from alertd.suggest import aside

EXIT_OK, EXIT_USAGE = 0, 2


def main(settings: Settings, args: argparse.Namespace) -> int:
    if settings.oncall.path is None:
        return _usage_error(
            f"no on-call file: set [oncall] path in {settings.source} (docs/oncall.md)"
        )
    oncall, errors = load_oncall(settings)
    if errors or oncall is None:
        for error in errors:
            print(error.format(), file=sys.stderr)
        return _usage_error(f"{len(errors)} error(s) in the on-call setup; nothing shown")
    schedules = _chosen(oncall, args.schedules)
    if isinstance(schedules, str):
        return _usage_error(schedules)
    try:
        moments = [_moment(args.at, schedule) for schedule in schedules]
    except ValueError as exc:
        return _usage_error(str(exc))
    for schedule, at in zip(schedules, moments, strict=True):
        names, until = on_call(schedule, at)
        if args.format == "json":
            print(json.dumps(_record(schedule, at, names, until)))
        else:
            print(_text(oncall, schedule, at, names, until))
    return EXIT_OK


def _chosen(oncall: OnCall, names: list[str]) -> list[Schedule] | str:
    """The schedules asked for (all, in the file's order, when none is), or what is wrong."""
    if not names:
        if not oncall.schedules:
            return f"{oncall.source} has no schedules"
        return list(oncall.schedules.values())
    for name in names:
        if name not in oncall.schedules:
            suggestion = aside(name, oncall.schedules)
            known = f"; the schedules are: {', '.join(oncall.schedules)}"
            return f"unknown schedule {name!r}{suggestion or known}"
    return [oncall.schedules[name] for name in names]


def _moment(at: str | None, schedule: Schedule) -> datetime:
    """--at as an aware datetime: a time with an offset (or Z) is that instant; one without is
    local time in the schedule's zone; none is now."""
    if at is None:
        return datetime.fromtimestamp(SYSTEM_CLOCK.now(), UTC).astimezone(schedule.zone)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise ValueError(
            f"--at {at!r}: expected an ISO time such as 2026-12-24T10:00 (local to each "
            "schedule) or 2026-12-24T09:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=schedule.zone)
    return moment.astimezone(schedule.zone)


def _record(
    schedule: Schedule, at: datetime, names: tuple[str, ...], until: datetime | None
) -> dict[str, object]:
    return {
        "schedule": schedule.name,
        "time_zone": schedule.zone.key,
        "at": at.isoformat(),
        "on_call": list(names),
        "until": None if until is None else until.astimezone(schedule.zone).isoformat(),
    }


def _text(
    oncall: OnCall,
    schedule: Schedule,
    at: datetime,
    names: tuple[str, ...],
    until: datetime | None,
) -> str:
    lines = [f"{schedule.name} ({schedule.zone.key}) at {_local(at, schedule)}"]
    lines.append(f"  on call: {_people(oncall, names) or 'nobody'}")
    if until is None:
        lines.append("  until:   no hand-over ahead")
    else:
        after, _ = on_call(schedule, until)
        then = _people(oncall, after) or "nobody"
        lines.append(f"  until:   {_local(until, schedule)}, then {then}")
    return "\n".join(lines)


def _people(oncall: OnCall, names: tuple[str, ...]) -> str:
    shown = []
    for name in names:
        person = oncall.people.get(name)
        full = person.name if person is not None else name
        shown.append(name if full == name else f"{name} ({full})")
    return ", ".join(shown)


def _local(moment: datetime, schedule: Schedule) -> str:
    return moment.astimezone(schedule.zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _usage_error(message: str) -> int:
    print(f"alertd oncall: error: {message}", file=sys.stderr)
    return EXIT_USAGE
