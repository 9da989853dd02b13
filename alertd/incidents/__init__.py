"""Incidents: what follows a page. An alert's states and the one call that changes them,
escalation until someone answers, and the durable timers everything that waits runs on.

    lifecycle.py   the states, the actions, the transition table (pure)
    escalation.py  a policy's steps as arithmetic on the alert's snapshot (pure)
    manager.py     `Incidents`: fired, act, escalation steps, in the caller's transaction
    timers.py      `Timers`: the timer service (rows with a due time, run once each)
    loop.py        `TimerLoop`: the daemon's one loop that sleeps until the next due
    timeline.py    an alert's whole timeline, as the API shows it
"""

from alertd.incidents.lifecycle import ACTIONS, VIAS, Action, Move, transition
from alertd.incidents.loop import TimerLoop, TimerSource
from alertd.incidents.manager import ESCALATE, ActionRefused, Incidents, Setup, Transition
from alertd.incidents.timeline import full_timeline
from alertd.incidents.timers import TimerRun, Timers

__all__ = [
    "ACTIONS",
    "ESCALATE",
    "VIAS",
    "Action",
    "ActionRefused",
    "Incidents",
    "Move",
    "Setup",
    "TimerLoop",
    "TimerRun",
    "TimerSource",
    "Timers",
    "Transition",
    "full_timeline",
    "transition",
]
