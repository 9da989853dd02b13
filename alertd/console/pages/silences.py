"""The Silences page (active, pending, expired, and the maintenance windows of the on-call file;
an Expire button on each silence that has not ended) and the form that makes one.

The form works without JavaScript: rows of matchers (a field, an operator, a value; a row with
no field is left out), how long (`2h`) or until when (a local time in the console's zone,
`[notify] timezone`), and a comment. It becomes the very request `POST /v1/silences` takes, made
through the core as the signed-in person, `via: web`, so it is checked alike: what is wrong
comes back on the form, with what was typed kept.

"Silence similar" on an alert's page opens the form at `/ui/silences/new?alert=ID`, filled
with the alert's rule and the fields of its rule's keys (`by vehicle_id`), and offering its
event's other fields as suggestions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from alertd.console.page import Page
from alertd.console.routing import get, post
from alertd.core import AlertDetail
from alertd.durations import parse_duration
from alertd.engine.state import field_text
from alertd.oncall.walltime import to_instant
from alertd.server.asgi import HttpError, Response
from alertd.server.views import silence_view
from alertd.silences import SILENCE_STATES, InvalidSilence, SilenceRefused, format_matcher
from alertd.silences.model import Listed

OPERATORS = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}
"""An operator of the form -> (regex, equal)."""

BLANK_ROWS = 2  # empty matcher rows under those filled in
DEFAULT_FOR = "2h"
TITLES = {"active": "Active", "pending": "Pending", "expired": "Expired"}
PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
SUGGESTED = 30  # event fields offered at most


@dataclass
class Draft:
    """The form as typed: matcher rows (name, operator, value), how long or until when (local),
    from when (local, optional), the comment; and what was wrong with it."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    lasts: str = DEFAULT_FOR
    until: str = ""
    starts: str = ""
    comment: str = ""
    problems: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # suggested field names
    alert: str = ""  # the alert it was made from, if any


@get("/ui/silences", nav="Silences", order=20)
async def silences(page: Page) -> Response:
    listed = await page.core.silences_listed()
    sections = [
        (state, TITLES[state], [_view(item) for item in listed if item.state == state])
        for state in SILENCE_STATES
    ]
    return page.render(
        "silences.html",
        sections=sections,
        made=page.arg("made"),
        expired=page.arg("expired"),
        already=page.arg("already") == "1",
    )


@get("/ui/silences/new")
async def new_silence(page: Page) -> Response:
    draft = Draft()
    alert_id = page.arg("alert")
    if alert_id:
        detail = await page.core.alert(alert_id)
        if detail is None:
            raise HttpError(404, "There is no such alert (it may be older than the retention).")
        draft = _similar(page, detail)
    draft.rows += [("", "=", "")] * BLANK_ROWS
    return _form(page, draft)


@post("/ui/silences")
async def make_silence(page: Page) -> Response:
    assert page.user is not None  # only signed-in people get here
    draft = _read_form(page)
    request = _request(page, draft)
    if draft.problems:
        return _form(page, draft, 400)
    request["created_by"] = page.user.actor
    try:
        made = await page.core.add_silence(request, via="web")
    except InvalidSilence as invalid:
        draft.problems += [_problem_text(p.field, p.error) for p in invalid.problems]
        return _form(page, draft, 400)
    return page.redirect("/ui/silences?" + urlencode({"made": made.silence.id}))


@post("/ui/silences/{id}/expire")
async def expire_silence(page: Page) -> Response:
    silence_id = page.params["id"]
    try:
        expired = await page.core.expire_silence(silence_id)
    except SilenceRefused as refused:
        raise HttpError(409, str(refused)) from None
    if expired is None:
        raise HttpError(404, "There is no such silence (it may be older than the retention).")
    done = {"expired": silence_id, **({} if expired.changed else {"already": "1"})}
    return page.redirect("/ui/silences?" + urlencode(done))


# --- the form --------------------------------------------------------------------------------


def _form(page: Page, draft: Draft, status: int = 200) -> Response:
    return page.render(
        "silence_new.html",
        status,
        draft=draft,
        operators=list(OPERATORS),
        zone=page.site.settings.notify.timezone,
    )


def _similar(page: Page, detail: AlertDetail) -> Draft:
    """The form for a silence of alerts like this one: its rule, and its rule's key fields."""
    alert = detail.record.alert
    rows = [("rule", "=", alert.rule_id)]
    rule = next((r for r in page.core.rules() if r.id == alert.rule_id), None)
    if rule is not None:
        sources = [*rule.key_source]
        for spec in (rule.suppress, rule.count):
            if spec is not None:
                sources += spec.key_source
        for source in dict.fromkeys(sources):
            value = field_text(alert.event, source) if PLAIN_FIELD.fullmatch(source) else None
            if value is not None:
                rows.append((source, "=", value))
    suggested = [
        name
        for name in _field_names(alert.event)
        if name not in {row[0] for row in rows} and field_text(alert.event, name) is not None
    ]
    return Draft(rows=rows, fields=suggested[:SUGGESTED], alert=alert.id)


def _field_names(event: Any, prefix: str = "") -> list[str]:
    """Every path to a single value in the event, in its order (`location.city`)."""
    names: list[str] = []
    if isinstance(event, Mapping):
        for key, value in event.items():
            path = f"{prefix}{key}"
            if isinstance(value, Mapping):
                names += _field_names(value, path + ".")
            elif not isinstance(value, list):
                names.append(path)
    return names


def _read_form(page: Page) -> Draft:
    names = page.form.get("name", [])
    operators = page.form.get("op", [])
    values = page.form.get("value", [])
    rows = [
        (name.strip(), operator, value)
        for name, operator, value in zip(names, operators, values, strict=False)
    ]
    return Draft(
        rows=rows,
        lasts=page.field("for").strip(),
        until=page.field("until").strip(),
        starts=page.field("from").strip(),
        comment=page.field("comment"),
        alert=page.field("alert"),
    )


def _request(page: Page, draft: Draft) -> dict[str, Any]:
    """The API's request for the form; what cannot be read goes to `draft.problems`."""
    zone = ZoneInfo(page.site.settings.notify.timezone)
    now = datetime.fromtimestamp(page.site.clock.now(), UTC)
    matchers = []
    for number, (name, operator, value) in enumerate(draft.rows, 1):
        if not name:
            continue
        if operator not in OPERATORS:
            draft.problems.append(f"Matcher {number}: unknown operator {operator!r}.")
            continue
        regex, equal = OPERATORS[operator]
        matchers.append({"name": name, "value": value, "regex": regex, "equal": equal})
    if not matchers:
        draft.problems.append("Add a matcher: a field and its value, such as vehicle_id = v-9.")
    request: dict[str, Any] = {"matchers": matchers, "comment": draft.comment}
    starts = _local(draft.starts, zone, "From", draft.problems) if draft.starts else None
    if starts is not None:
        request["starts_at"] = starts.isoformat()
    if draft.until:
        ends = _local(draft.until, zone, "Until", draft.problems)
    else:
        try:
            seconds = parse_duration(draft.lasts)
        except ValueError as error:
            draft.problems.append(f"For: {error}.")
            return request
        ends = (starts or now) + timedelta(seconds=seconds)
    if ends is not None:
        request["ends_at"] = ends.astimezone(UTC).isoformat()
    return request


def _local(text: str, zone: ZoneInfo, label: str, problems: list[str]) -> datetime | None:
    try:
        wall = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{label}: {text!r} is not a date and time such as 2026-12-03T18:00.")
        return None
    if wall.tzinfo is not None:
        return wall
    return to_instant(wall, zone)


def _problem_text(field_name: str, error: str) -> str:
    """`matchers[1].value` -> `Matcher 2, value`: the API's field, as the form names it."""
    found = re.fullmatch(r"matchers\[(\d+)\](?:\.(\w+))?", field_name)
    if found:
        where = f"Matcher {int(found[1]) + 1}" + (f", {found[2]}" if found[2] else "")
    else:
        where = {"ends_at": "Until", "starts_at": "From", "comment": "Comment"}.get(
            field_name, "Matchers" if field_name == "matchers" else field_name
        )
    return f"{where}: {error}."


# --- the list --------------------------------------------------------------------------------


def _view(listed: Listed) -> dict[str, Any]:
    view = silence_view(listed)
    view["matcher_texts"] = [format_matcher(matcher) for matcher in listed.silence.matchers]
    view["anchor"] = "silence-" + quote(listed.silence.id.replace(":", "-"), safe="")
    return view
