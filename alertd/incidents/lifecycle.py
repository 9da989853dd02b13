"""An alert's states and the actions that move it between them: one pure table.

    firing --ack--> acked --unack--> firing
    firing | acked | silenced --resolve--> resolved
    firing | acked --escalate--> firing (the next escalation step runs now)

Doing again what is done already (a second ack, a resolve of a resolved alert, an unack of an
alert nobody acknowledged) is a repeat: it changes nothing and says so. The other moves are
refused: a resolved alert is over, and a silenced one pages nobody, so neither is acknowledged
or escalated. Whether an escalate can run also depends on the alert's escalation (it has a
policy, and a step left), which alertd.incidents.manager checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alertd.engine.state import AlertStatus

Action = Literal["ack", "unack", "resolve", "escalate"]
ACTIONS: tuple[Action, ...] = ("ack", "unack", "resolve", "escalate")

VIAS: tuple[str, ...] = ("api", "cli", "sms", "slack", "email", "web", "rule", "timer")
"""Through what an action came: the HTTP API, the command line (through the API), a reply to
an SMS, a Slack button, an email link, the web console, a rule's `resolve`, a timer."""

Outcome = Literal["changed", "repeat", "refused"]


@dataclass(frozen=True, slots=True)
class Move:
    """What an action does to an alert in some status: `outcome`, and the status after."""

    outcome: Outcome
    status: AlertStatus


def transition(status: AlertStatus, action: Action) -> Move:
    """The move `action` makes from `status`."""
    return _TABLE[status, action]


_TABLE: dict[tuple[AlertStatus, Action], Move] = {
    ("firing", "ack"): Move("changed", "acked"),
    ("firing", "unack"): Move("repeat", "firing"),
    ("firing", "resolve"): Move("changed", "resolved"),
    ("firing", "escalate"): Move("changed", "firing"),
    ("acked", "ack"): Move("repeat", "acked"),
    ("acked", "unack"): Move("changed", "firing"),
    ("acked", "resolve"): Move("changed", "resolved"),
    ("acked", "escalate"): Move("changed", "firing"),  # "I can't take it": on to the next step
    ("resolved", "ack"): Move("refused", "resolved"),
    ("resolved", "unack"): Move("refused", "resolved"),
    ("resolved", "resolve"): Move("repeat", "resolved"),
    ("resolved", "escalate"): Move("refused", "resolved"),
    ("silenced", "ack"): Move("refused", "silenced"),
    ("silenced", "unack"): Move("refused", "silenced"),
    ("silenced", "resolve"): Move("changed", "resolved"),
    ("silenced", "escalate"): Move("refused", "silenced"),
}

DONE: dict[Action, str] = {
    "ack": "acknowledged",
    "unack": "unacknowledged",
    "resolve": "resolved",
    "escalate": "escalated",
}
"""An action as a past participle, for messages and the timeline's `action`."""

TIMELINE_ACTION: dict[Action, str] = {
    "ack": "acked",
    "unack": "unacked",
    "resolve": "resolved",
    "escalate": "escalated",
}
