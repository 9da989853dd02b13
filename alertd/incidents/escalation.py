"""Escalation, as arithmetic on an alert's snapshot of its policy. Pure: no clock, no store.

A policy's steps run in order, each `after` its delay: the first counted from the alert, every
other from the step before it. After the last step the policy waits as long again as that
step's own delay, then starts over (its first step's delay counted from there), `repeat` more
times. So with steps `0s` and `15m` and `repeat = 1`, the steps run at 0, 15, 30 and 45 minutes.
`ran` counts the steps run so far over every round; the escalation is over once it has run
them all.
"""

from __future__ import annotations

from alertd.engine.state import Escalation, EscalationStep
from alertd.oncall import Policy


def snapshot(policy: Policy) -> Escalation:
    """The alert's own copy of a policy: a reload that changes the policy does not change it."""
    steps = tuple(EscalationStep(step.after, step.notify) for step in policy.steps)
    return Escalation(policy.name, steps, policy.repeat)


def total_steps(escalation: Escalation) -> int:
    """How many steps the escalation runs in all, over every round."""
    return len(escalation.steps) * (escalation.repeat + 1)


def next_step(escalation: Escalation) -> EscalationStep | None:
    """The step to run next; None when every step has run."""
    if escalation.ran >= total_steps(escalation):
        return None
    return escalation.steps[escalation.ran % len(escalation.steps)]


def delay_before_next(escalation: Escalation) -> float:
    """Seconds between the previous step (or the alert, or an unack) and the next step."""
    steps = escalation.steps
    index = escalation.ran % len(steps)
    if escalation.ran > 0 and index == 0:  # a new round: the last step lasts its delay again
        return steps[-1].after + steps[0].after
    return steps[index].after


def step_number(escalation: Escalation) -> int:
    """The 1-based number, within its round, of the next step (of the last one, once over)."""
    ran = min(escalation.ran, total_steps(escalation) - 1)
    return ran % len(escalation.steps) + 1


def describe_next(escalation: Escalation) -> str:
    """`step 2 of 2` / `step 1 of 2, round 2 of 2`: the next step, as people read it."""
    steps = len(escalation.steps)
    text = f"step {step_number(escalation)} of {steps}"
    if escalation.repeat:
        ran = min(escalation.ran, total_steps(escalation) - 1)
        text += f", round {ran // steps + 1} of {escalation.repeat + 1}"
    return text
