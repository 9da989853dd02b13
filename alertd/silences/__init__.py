"""Silences: stop alerts that are already known from paging anyone (a vehicle in the workshop),
for a while (a silence) or every week (a maintenance window of oncall.toml).

    model.py     Silence, its state at a moment, Cover (what silenced an alert), errors
    matchers.py  `vehicle_id=v-9`, `depot=~"north|east"`: matchers against alerts
    drafts.py    a silence as asked for (the API's body, the console's form), checked
    index.py     which silences could cover an alert, without testing them all
    table.py     the `silences` table of the state database
    service.py   `Silences`: make, expire, list; `covering(alert, now)`

An alert a silence covers when it fires is recorded `silenced` and pages nobody; one covered
when an escalation step falls due stops escalating (alertd.incidents.manager).
"""

from alertd.silences.drafts import read_draft
from alertd.silences.matchers import format_matcher, parse_matcher
from alertd.silences.model import (
    MAINTENANCE_PREFIX,
    SILENCE_STATES,
    Cover,
    InvalidSilence,
    Listed,
    Problem,
    Silence,
    SilenceRefused,
    SilenceState,
)
from alertd.silences.service import Silences
from alertd.silences.table import SilenceTable

__all__ = [
    "MAINTENANCE_PREFIX",
    "SILENCE_STATES",
    "Cover",
    "InvalidSilence",
    "Listed",
    "Problem",
    "Silence",
    "SilenceRefused",
    "SilenceState",
    "SilenceTable",
    "Silences",
    "format_matcher",
    "parse_matcher",
    "read_draft",
]
