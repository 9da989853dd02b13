"""Who is on call now in each schedule, until when, and the hand-overs of the next two weeks,
in each schedule's own time zone (alertd.oncall computes them; nothing here decides)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alertd.console.page import Page
from alertd.console.routing import get
from alertd.oncall import OnCall, next_handovers, on_call
from alertd.server.asgi import Response

AHEAD = timedelta(days=14)


@get("/ui/oncall", nav="On call", order=40)
async def oncall_page(page: Page) -> Response:
    oncall = page.site.people.current()
    now = datetime.fromtimestamp(page.site.clock.now(), UTC)
    schedules = [] if oncall is None else _schedules(oncall, now)
    return page.render(
        "oncall.html",
        configured=page.site.settings.oncall.path is not None,
        loaded=oncall is not None,
        schedules=schedules,
    )


def _schedules(oncall: OnCall, now: datetime) -> list[dict[str, Any]]:
    def who(ids: tuple[str, ...]) -> list[str]:
        return [oncall.people[i].name if i in oncall.people else i for i in ids]

    shown = []
    for schedule in oncall.schedules.values():
        names, until = on_call(schedule, now)
        handovers = next_handovers(schedule, now, AHEAD)
        shown.append(
            {
                "name": schedule.name,
                "zone": schedule.zone.key,
                "now": who(names),
                "until": _local(until, schedule.zone),
                "handovers": [
                    {"at": _local(h.at, schedule.zone), "on_call": who(h.on_call)}
                    for h in handovers
                ],
            }
        )
    return shown


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")
