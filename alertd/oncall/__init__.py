"""People, schedules, escalation policies and maintenance windows: oncall.toml, and what is
computed from it. Pure: every function takes the moment it is about as an argument.

    from alertd.oncall import load_oncall, on_call
    oncall, errors = load_oncall(settings)          # None when [oncall] path is not set
    names, until = on_call(oncall.schedules["fleet_ops"], at)

The file's format and the rules of schedules across DST are in docs/oncall.md.
"""

from alertd.oncall.loader import load_oncall, oncall_path_problem, parse_oncall
from alertd.oncall.maintenance import (
    ActiveMaintenance,
    Window,
    active_maintenance,
    next_maintenance_change,
    next_window,
)
from alertd.oncall.model import (
    Maintenance,
    Matcher,
    OnCall,
    Override,
    Person,
    Policy,
    Rotation,
    Schedule,
    Step,
)
from alertd.oncall.recipients import (
    Recipients,
    escalation_policies,
    recipient_groups,
    resolve_recipients,
)
from alertd.oncall.schedule import Handover, next_handovers, on_call

__all__ = [
    "ActiveMaintenance",
    "Handover",
    "Maintenance",
    "Matcher",
    "OnCall",
    "Override",
    "Person",
    "Policy",
    "Recipients",
    "Rotation",
    "Schedule",
    "Step",
    "Window",
    "active_maintenance",
    "escalation_policies",
    "load_oncall",
    "next_handovers",
    "next_maintenance_change",
    "next_window",
    "on_call",
    "oncall_path_problem",
    "parse_oncall",
    "recipient_groups",
    "resolve_recipients",
]
