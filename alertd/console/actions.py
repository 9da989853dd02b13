"""What a person may do to an alert from the console, and doing it through the core.

The core does every action through `Core.act(alert_id, action, by, via)` (ack, unack, resolve,
escalate; a repeat is `changed: False`, an action that does not apply raises
alertd.incidents.ActionRefused); the console calls it with `via="web"`. Which buttons an alert
shows follows the core's own transition table (alertd.incidents.transition): those that would
change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alertd.core import AlertDetail, Core
from alertd.incidents import Action, transition

ACTIONS: dict[Action, str] = {
    "ack": "Acknowledge",
    "resolve": "Resolve",
    "escalate": "Escalate now",
    "unack": "Unacknowledge",
}
"""Action -> the button's label, in the order the buttons are shown."""

VIA = "web"


@dataclass(frozen=True, slots=True)
class Outcome:
    detail: AlertDetail
    changed: bool  # False: it was done already (a second ack), and nothing changed
    message: str  # what happened, in words


def available(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(action, label) of the buttons for an alert as the API shows it: the actions that
    would change it; escalate only while its escalation policy has a step left."""
    shown: list[tuple[str, str]] = []
    for action, label in ACTIONS.items():
        if transition(alert["status"], action).outcome != "changed":
            continue
        if action == "escalate" and not _step_left(alert.get("escalation")):
            continue
        shown.append((action, label))
    return shown


def _step_left(escalation: Mapping[str, Any] | None) -> bool:
    if escalation is None:
        return False
    last = escalation["step"] == escalation["steps"] and escalation["round"] == escalation["rounds"]
    return not last


async def act(core: Core, alert_id: str, action: str, by: str) -> Outcome | None:
    """Do `action` to an alert as `by`, via the web; None if there is no such alert.
    KeyError for an action the console does not offer; ActionRefused (alertd.incidents) for
    one that does not apply to the alert as it is."""
    if action not in ACTIONS:
        raise KeyError(action)
    acted = await core.act(alert_id, action, by, VIA)
    if acted is None:
        return None
    return Outcome(acted.detail, acted.changed, acted.message)
