"""A silence as someone asks for one (the API's JSON body, the console's form), checked: every
problem at once, each naming its field, or a `Silence` ready to store.

    {"matchers": [{"name": "vehicle_id", "value": "v-9", "regex": false, "equal": true}],
     "starts_at": "2026-12-01T08:00:00Z",      # optional: default now
     "ends_at": "2026-12-01T18:00:00Z",
     "created_by": "alice", "comment": "v-9 is in the workshop"}

Times are RFC 3339 (ISO-8601 with seconds and a zone: `2026-12-01T18:00:00Z`, `...+01:00`). A
start in the past means now. The end must be after the start
and after now. At least one matcher must name something an alert has (a set of matchers that
all hold for an alert without those fields would silence nearly everything).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertd.dsl.regex import PatternError
from alertd.oncall.model import Matcher
from alertd.silences.matchers import matches_nothing_named, text_test
from alertd.silences.model import SILENCE_VIAS, InvalidSilence, Problem, Silence
from alertd.suggest import aside

FIELDS = ("matchers", "starts_at", "ends_at", "created_by", "comment", "via")
MATCHER_FIELDS = ("name", "value", "regex", "equal")
MAX_MATCHERS = 32
MAX_NAME = 200
MAX_VALUE = 1024
MAX_TEXT = 2000  # created_by and comment
# A field path: segments that are not empty and neither start nor end with a space.
FIELD_PATH = re.compile(r"[^.\s]([^.]*[^.\s])?(\.[^.\s]([^.]*[^.\s])?)*")
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
EXAMPLE_TIME = "2026-12-01T18:00:00Z"


def read_draft(
    data: Mapping[str, Any], now: float, silence_id: str, *, via: str | None = None
) -> Silence:
    """The silence `data` asks for, made at `now` with this id, through `via` (else the
    `via` of `data`: api or cli; default api). Raises InvalidSilence with every problem."""
    problems: list[Problem] = []
    for name in data:
        if name not in FIELDS:
            problems.append(Problem(name, f"unknown field{aside(name, FIELDS)}"))
    matchers = _matchers(data.get("matchers"), problems)
    starts_at = _time(data, "starts_at", problems, required=False)
    ends_at = _time(data, "ends_at", problems, required=True)
    start = now if starts_at is None or starts_at < now else starts_at
    if ends_at is not None:
        if ends_at <= now:
            problems.append(Problem("ends_at", "is not in the future: the silence would be over"))
        elif ends_at <= start:
            problems.append(Problem("ends_at", "is not after starts_at"))
    created_by = _text(data, "created_by", problems)
    comment = _text(data, "comment", problems)
    if via is None:
        via = data.get("via", "api")
        if via not in ("api", "cli"):
            problems.append(Problem("via", f"expected api or cli, got {via!r}"))
    elif via not in SILENCE_VIAS:
        raise ValueError(f"unknown via {via!r}")
    if problems or ends_at is None or matchers is None or created_by is None or comment is None:
        raise InvalidSilence(problems)
    return Silence(
        id=silence_id,
        matchers=matchers,
        starts_at=start,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment,
        created_at=now,
        updated_at=now,
        created_via=str(via),
    )


def _matchers(given: object, problems: list[Problem]) -> tuple[Matcher, ...] | None:
    if given is None:
        problems.append(Problem("matchers", "is required: what to silence"))
        return None
    if not isinstance(given, list) or not given:
        problems.append(Problem("matchers", "expected a list of at least one matcher"))
        return None
    if len(given) > MAX_MATCHERS:
        problems.append(Problem("matchers", f"at most {MAX_MATCHERS} matchers"))
        return None
    read = [_matcher(f"matchers[{i}]", item, problems) for i, item in enumerate(given)]
    kept = tuple(matcher for matcher in read if matcher is not None)
    if len(kept) != len(read):
        return None
    if matches_nothing_named(kept):
        problems.append(
            Problem(
                "matchers",
                "every matcher also holds for an alert without these fields, so the silence "
                "would silence nearly every alert; add one that names what to silence, such "
                "as vehicle_id=v-9",
            )
        )
        return None
    return kept


def _matcher(where: str, item: object, problems: list[Problem]) -> Matcher | None:
    if not isinstance(item, Mapping):
        problems.append(Problem(where, 'expected {"name": ..., "value": ...}'))
        return None
    before = len(problems)
    for name in item:
        if name not in MATCHER_FIELDS:
            problems.append(
                Problem(f"{where}.{name}", f"unknown field{aside(name, MATCHER_FIELDS)}")
            )
    name, value = item.get("name"), item.get("value")
    regex, equal = item.get("regex", False), item.get("equal", True)
    if not isinstance(name, str) or not _is_field(name):
        problems.append(
            Problem(
                f"{where}.name",
                "expected rule, priority or an event field (a path such as location.city)",
            )
        )
    if not isinstance(value, str):
        problems.append(Problem(f"{where}.value", "expected a string"))
    elif len(value) > MAX_VALUE:
        problems.append(Problem(f"{where}.value", f"longer than {MAX_VALUE} characters"))
    for flag, given in (("regex", regex), ("equal", equal)):
        if not isinstance(given, bool):
            problems.append(Problem(f"{where}.{flag}", "expected true or false"))
    if len(problems) > before:
        return None
    matcher = Matcher(str(name), str(value), bool(regex), bool(equal))
    try:
        text_test(matcher)
    except PatternError as error:
        hint = f" ({error.hint})" if error.hint else ""
        problems.append(Problem(f"{where}.value", f"invalid regular expression: {error}{hint}"))
        return None
    return matcher


def _is_field(name: str) -> bool:
    return len(name) <= MAX_NAME and FIELD_PATH.fullmatch(name) is not None


def _time(
    data: Mapping[str, Any], field: str, problems: list[Problem], *, required: bool
) -> float | None:
    given = data.get(field)
    if given is None:
        if required:
            problems.append(Problem(field, "is required: when the silence ends (ISO-8601)"))
        return None
    if not isinstance(given, str):
        problems.append(Problem(field, f"expected an ISO-8601 time such as {EXAMPLE_TIME}"))
        return None
    if not RFC3339.fullmatch(given):
        if RFC3339.fullmatch(given + "Z"):
            error = f"{given!r} has no time zone; add Z for UTC or an offset such as +01:00"
        else:
            error = f"{given!r} is not an ISO-8601 time with seconds and a zone, such as "
            error += EXAMPLE_TIME
        problems.append(Problem(field, error))
        return None
    try:
        return datetime.fromisoformat(given.upper()).timestamp()
    except (OverflowError, OSError, ValueError):
        problems.append(Problem(field, f"{given!r} is not a time that exists"))
        return None


def _text(data: Mapping[str, Any], field: str, problems: list[Problem]) -> str | None:
    given = data.get(field)
    if not isinstance(given, str) or not given.strip():
        what = "who makes the silence" if field == "created_by" else "why, for whoever reads it"
        problems.append(Problem(field, f"is required: a non-empty string saying {what}"))
        return None
    if len(given) > MAX_TEXT:
        problems.append(Problem(field, f"longer than {MAX_TEXT} characters"))
        return None
    return given.strip()
