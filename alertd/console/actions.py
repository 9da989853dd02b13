"""What a person may do to an alert from the console, and doing it through the core.

This is the one place that knows which actions the console offers. The core does every
action through `Core.act(alert_id, action, by, via)` (ack, unack, resolve, escalate; a repeat
is `changed: False`, an action that does not apply raises alertd.incidents.ActionRefused);
the console calls it with `via="web"`. Offering more of them is growing `ACTIONS` and
`AVAILABLE`.
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
    acted = await core.act(alert_id, action, by, VIA)  # type: ignore[arg-type]  # in ACTIONS
    if acted is None:
        return None
    return Outcome(acted.detail, changed=acted.changed)
