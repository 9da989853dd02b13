"""What a person may do to an alert from the console, and doing it through the core.

This is the one place that knows which actions the core has. Today the core acknowledges
(`Core.ack(alert_id, by)`); when it gains `act(alert_id, action, by, via)` (with unack,
resolve and escalate), `ACTIONS` and `AVAILABLE` grow and `act` below calls it with
`via="web"`: the pages, forms and tests need no other change.
"""

from __future__ import annotations

from dataclasses import dataclass

from alertd.core import AlertDetail, Core

ACTIONS: dict[str, str] = {"ack": "Acknowledge"}
"""Action name -> the button's label, in the order the buttons are shown."""

AVAILABLE: dict[str, tuple[str, ...]] = {"firing": ("ack",)}
"""Status -> the actions that change an alert in that status."""

VIA = "web"


@dataclass(frozen=True, slots=True)
class Outcome:
    detail: AlertDetail
    changed: bool  # False: it was done already (a second ack), and nothing changed


def available(status: str) -> list[tuple[str, str]]:
    """(action, label) of the buttons for an alert in this status."""
    return [(action, ACTIONS[action]) for action in AVAILABLE.get(status, ())]


async def act(core: Core, alert_id: str, action: str, by: str) -> Outcome | None:
    """Do `action` to an alert as `by` (via the web); None if there is no such alert.
    KeyError for an action the core does not have."""
    if action not in ACTIONS:
        raise KeyError(action)
    before = await core.alert(alert_id)
    if before is None:
        return None
    detail = await core.ack(alert_id, by)  # `via` is not recorded until the core takes it
    if detail is None:
        return None
    return Outcome(detail, changed=before.record.status != detail.record.status)
