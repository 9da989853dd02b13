"""The alerts list (filters, live updates) and one alert (its event, notifications, actions).

Filters are query parameters, so a filtered list is a link one can share: `status`, `rule`,
`priority`, and `match=FIELD=VALUE` for any event field (`vehicle_id=v-1042`,
`location.city=Amsterdam`; repeat it for several). The page's script follows the alert stream
and fetches the list again (`/ui/alerts/list`, the same filters) when an alert changes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from alertd.console.actions import ACTIONS, act, available
from alertd.console.page import Page
from alertd.console.routing import get, post
from alertd.engine.state import ALERT_STATUSES, AlertQuery
from alertd.incidents import ActionRefused
from alertd.incidents.lifecycle import DONE
from alertd.model import PRIORITIES
from alertd.server.asgi import HttpError, Response
from alertd.server.views import alert_detail_view, alert_view

PAGE_SIZE = 50
FIELD = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
CURSOR = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


@get("/ui/alerts", nav="Alerts", order=10)
async def alerts(page: Page) -> Response:
    return await _list(page, "alerts.html")


@get("/ui/alerts/list")
async def alert_list(page: Page) -> Response:
    """The list alone, for the page's script to put in place when alerts change."""
    return await _list(page, "_alert_list.html")


@get("/ui/alerts/{id}")
async def alert(page: Page) -> Response:
    return await _detail(page, "alert.html")


@get("/ui/alerts/{id}/live")
async def alert_live(page: Page) -> Response:
    """The alert's details alone, for the page's script when the alert changes."""
    return await _detail(page, "_alert_detail.html")


@post("/ui/alerts/{id}/{action}")
async def alert_action(page: Page) -> Response:
    alert_id, action = page.params["id"], page.params["action"]
    if action not in ACTIONS:
        raise HttpError(404, f"There is no action {action!r}.")
    assert page.user is not None  # only signed-in people get here
    try:
        outcome = await act(page.core, alert_id, action, page.user.actor)
    except ActionRefused as refused:
        return await _detail(page, "alert.html", status=409, refused=refused.message)
    if outcome is None:
        raise HttpError(404, "There is no such alert.")
    done = urlencode({"did": action, **({} if outcome.changed else {"already": "1"})})
    return page.redirect(f"/ui/alerts/{alert_id}?{done}")


async def _list(page: Page, template: str) -> Response:
    filters, problem = _filters(page)
    # The stream's cursor is taken before the list is read: a change made in between is
    # both in the list and sent again, never lost.
    cursor = (await page.core.alert_changes(None, 0)).cursor
    listed: list[dict[str, Any]] = []
    older = None
    if problem is None:
        found = await page.core.alerts(_query(filters))
        listed = [alert_view(record) for record in found.records]
        if found.next_cursor is not None:
            older = "/ui/alerts?" + urlencode(
                [*_pairs(filters, keep_cursor=False), ("cursor", found.next_cursor)]
            )
    return page.render(
        template,
        400 if problem else 200,
        alerts=listed,
        older=older,
        problem=problem,
        filters=filters,
        filter_query=urlencode(_pairs(filters, keep_cursor=True)),
        statuses=ALERT_STATUSES,
        priorities=PRIORITIES,
        rules=sorted(rule.id for rule in page.core.rules()),
        cursor=cursor,
    )


def _filters(page: Page) -> tuple[dict[str, Any], str | None]:
    """The filters as given (to show them back in the form), and what is wrong with them."""
    filters: dict[str, Any] = {
        "status": page.arg("status"),
        "rule": page.arg("rule"),
        "priority": page.arg("priority"),
        "match": [text.strip() for text in page.query.get("match", []) if text.strip()],
        "cursor": page.arg("cursor"),
    }
    if filters["status"] and filters["status"] not in ALERT_STATUSES:
        return filters, f"Unknown status {filters['status']!r}."
    if filters["priority"] and filters["priority"] not in PRIORITIES:
        return filters, f"Unknown priority {filters['priority']!r}."
    if filters["cursor"] and not CURSOR.fullmatch(filters["cursor"]):
        return filters, "That page link is broken; start from the first page."
    for text in filters["match"]:
        name, sep, _value = text.partition("=")
        if not sep or not FIELD.fullmatch(name.strip()):
            return filters, (
                f"Event field filter {text!r}: write FIELD=VALUE, such as vehicle_id=v-1042 "
                "(a field inside another: location.city=Amsterdam)."
            )
    return filters, None


def _query(filters: dict[str, Any]) -> AlertQuery:
    fields = []
    for text in filters["match"]:
        name, _, value = text.partition("=")
        fields.append((name.strip(), value.strip()))
    return AlertQuery(
        rule=filters["rule"] or None,
        priority=filters["priority"] or None,
        status=filters["status"] or None,
        limit=PAGE_SIZE,
        cursor=filters["cursor"] or None,
        fields=tuple(fields),
    )


def _pairs(filters: dict[str, Any], *, keep_cursor: bool) -> list[tuple[str, str]]:
    pairs = [(name, filters[name]) for name in ("status", "rule", "priority") if filters[name]]
    pairs += [("match", text) for text in filters["match"]]
    if keep_cursor and filters["cursor"]:
        pairs.append(("cursor", filters["cursor"]))
    return pairs


async def _detail(page: Page, template: str, status: int = 200, refused: str = "") -> Response:
    alert_id = page.params["id"]
    cursor = (await page.core.alert_changes(None, 0)).cursor
    detail = await page.core.alert(alert_id)
    if detail is None:
        raise HttpError(404, "There is no such alert (it may be older than the retention).")
    view = alert_detail_view(detail)
    did = page.arg("did")
    return page.render(
        template,
        status,
        alert=view,
        actions=available(view),
        did=DONE.get(did) if did in ACTIONS else None,
        already=page.arg("already") == "1",
        refused=refused,
        cursor=cursor,
    )
