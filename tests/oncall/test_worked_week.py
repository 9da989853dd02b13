"""The worked week of docs/oncall.md, on the shipped oncall.toml: if this fails, fix the docs
and the file together."""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from alertd.config import load_settings
from alertd.oncall import Schedule, load_oncall, next_handovers, on_call

ROOT = Path(__file__).resolve().parents[2]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def fleet_ops() -> Schedule:
    oncall, errors = load_oncall(load_settings(ROOT / "alertd.toml", environ={}))
    assert errors == []
    assert oncall is not None
    return oncall.schedules["fleet_ops"]


def test_who_is_on_call_at_noon_each_day_of_the_week() -> None:
    noon = {
        day: on_call(fleet_ops(), datetime(2026, 10, day, 12, tzinfo=AMSTERDAM))[0]
        for day in range(19, 27)
    }
    assert noon == {
        19: ("alice", "dave"),
        20: ("alice", "erin"),
        21: ("alice", "dave"),
        22: ("alice", "erin"),
        23: ("alice", "dave"),
        24: ("alice", "erin"),
        25: ("alice", "dave"),
        26: ("bob", "erin"),
    }


def test_the_hand_overs_of_the_week() -> None:
    start = datetime(2026, 10, 19, 9, tzinfo=AMSTERDAM)
    handovers = [
        (h.at.astimezone(AMSTERDAM).strftime("%a %d %H:%M %Z"), h.on_call)
        # This week is 169 hours long: the clocks go back an hour on Sunday.
        for h in next_handovers(fleet_ops(), start, timedelta(days=7, hours=1))
    ]
    assert handovers == [
        ("Tue 20 09:00 CEST", ("alice", "erin")),
        ("Wed 21 09:00 CEST", ("alice", "dave")),
        ("Wed 21 18:00 CEST", ("bob", "dave")),  # the swap: bob covers alice's evening
        ("Thu 22 09:00 CEST", ("alice", "erin")),
        ("Fri 23 09:00 CEST", ("alice", "dave")),
        ("Sat 24 09:00 CEST", ("alice", "erin")),
        ("Sun 25 09:00 CET", ("alice", "dave")),  # clocks went back at 03:00: a 25-hour day
        ("Mon 26 09:00 CET", ("bob", "erin")),
    ]
