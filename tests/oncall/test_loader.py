"""oncall.toml -> OnCall, and every mistake in it with its exact text and place."""

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alertd.config import load_settings
from alertd.model import NotifyTarget
from alertd.oncall import (
    Maintenance,
    Matcher,
    OnCall,
    Override,
    Person,
    Policy,
    Rotation,
    Schedule,
    Step,
    load_oncall,
    oncall_path_problem,
)

ROOT = Path(__file__).resolve().parents[2]

PEOPLE = """\
[people.alice]
name = "Alice Martin"
sms = "+15550100"
email = "alice@example.com"

[people.bob]
email = "bob@example.com"
"""

SCHEDULE = """
[schedules.ops]
time_zone = "Europe/Amsterdam"

[[schedules.ops.rotations]]
members = ["alice", "bob"]
shift = "1w"
start = "2026-11-30T09:00"
"""


def load(
    tmp_path: Path, text: str, recipients: str = 'managers = ["m@example.com"]'
) -> tuple[OnCall | None, list[str]]:
    """Load `text` as oncall.toml beside an alertd.toml; errors formatted, paths relative."""
    (tmp_path / "alertd.toml").write_text(
        f'[oncall]\npath = "oncall.toml"\n\n[recipients]\n{recipients}\n'
    )
    (tmp_path / "oncall.toml").write_text(text)
    oncall, errors = load_oncall(load_settings(tmp_path / "alertd.toml", environ={}))
    return oncall, [error.format().replace(f"{tmp_path}/", "") for error in errors]


def errors_of(tmp_path: Path, text: str) -> str:
    _, errors = load(tmp_path, text)
    return "\n".join(errors)


def test_the_design_example_loads(tmp_path: Path) -> None:
    text = (
        PEOPLE
        + SCHEDULE
        + """
[[schedules.ops.overrides]]
start  = "2026-12-24T00:00"
end    = 2026-12-27T00:00:00
add    = "bob"
remove = "alice"

[escalation.ops]
repeat = 1

[[escalation.ops.steps]]
after  = "0s"
notify = ["sms(oncall:ops)", "slack"]

[[escalation.ops.steps]]
after  = "5m"
notify = ["email(managers, person:bob)"]

[maintenance.north]
time_zone = "Europe/Amsterdam"
days = ["sat", "Sunday"]
window = "22:00-02:00"
matchers = [
  {name = "depot", value = "north"},
  {name = "rule", value = "^fuel", regex = true, equal = false},
]
comment = "workshop"
"""
    )
    oncall, errors = load(tmp_path, text)
    assert errors == []
    amsterdam = ZoneInfo("Europe/Amsterdam")
    assert oncall == OnCall(
        str(tmp_path / "oncall.toml"),
        people={
            "alice": Person(
                "alice", "Alice Martin", {"sms": "+15550100", "email": "alice@example.com"}
            ),
            "bob": Person("bob", "bob", {"email": "bob@example.com"}),
        },
        schedules={
            "ops": Schedule(
                "ops",
                amsterdam,
                (Rotation(("alice", "bob"), timedelta(days=7), datetime(2026, 11, 30, 9)),),
                (Override(datetime(2026, 12, 24), datetime(2026, 12, 27), "bob", "alice"),),
            )
        },
        policies={
            "ops": Policy(
                "ops",
                (
                    Step(0.0, (NotifyTarget("sms", ("oncall:ops",)), NotifyTarget("slack"))),
                    Step(300.0, (NotifyTarget("email", ("managers", "person:bob")),)),
                ),
                repeat=1,
            )
        },
        maintenance={
            "north": Maintenance(
                "north",
                amsterdam,
                frozenset({5, 6}),
                time(22),
                timedelta(hours=4),
                (Matcher("depot", "north"), Matcher("rule", "^fuel", regex=True, equal=False)),
                "workshop",
            )
        },
    )


def test_the_shipped_file_loads_with_the_shipped_config() -> None:
    oncall, errors = load_oncall(load_settings(ROOT / "alertd.toml", environ={}))
    assert errors == []
    assert oncall is not None
    assert list(oncall.schedules) == ["fleet_ops"]


def test_a_password_hash_is_kept_and_never_shown(tmp_path: Path) -> None:
    oncall, errors = load(tmp_path, '[people.alice]\npassword_hash = "$argon2id$v=19$secret"\n')
    assert errors == []
    assert oncall is not None
    assert oncall.people["alice"].password_hash == "$argon2id$v=19$secret"
    assert "secret" not in repr(oncall)


def test_without_an_oncall_path_there_is_no_file_and_no_error(tmp_path: Path) -> None:
    (tmp_path / "alertd.toml").write_text("")
    settings = load_settings(tmp_path / "alertd.toml", environ={})
    assert load_oncall(settings) == (None, [])
    assert oncall_path_problem(settings) is None


def test_a_configured_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "alertd.toml").write_text('[oncall]\npath = "people.toml"\n')
    settings = load_settings(tmp_path / "alertd.toml", environ={})
    oncall, errors = load_oncall(settings)
    assert oncall is None
    assert [e.format() for e in errors] == [
        f"{tmp_path}/people.toml: error: no such file (from {tmp_path}/alertd.toml [oncall] path)"
    ]
    assert oncall_path_problem(settings) == (
        f"{tmp_path}/people.toml: no such file (from {tmp_path}/alertd.toml [oncall] path)"
    )


ERRORS = {
    "toml syntax": (
        '[people.alice]\nname = "Alice\n',
        "oncall.toml:2:14: error: invalid TOML: Illegal character '\\n'\n"
        'name = "Alice\n             ^',
    ),
    "unknown table": (
        "[peple.alice]\n",
        "oncall.toml:1:2: error: [peple]: unknown table\n[peple.alice]\n ^^^^^^^^^^^\n"
        "hint: did you mean 'people'?",
    ),
    "misspelt key of a person": (
        '[people.alice]\nemial = "alice@example.com"\n',
        "oncall.toml:2:1: error: [people.alice] emial: unknown key\n"
        "emial = \"alice@example.com\"\n^^^^^\nhint: did you mean 'email'?",
    ),
    "a person key that is nothing like one": (
        '[people.alice]\ntelephone = "+15550100"\n',
        "oncall.toml:2:1: error: [people.alice] telephone: unknown key\n"
        'telephone = "+15550100"\n^^^^^^^^^\n'
        "hint: a person's keys are name, password_hash and channel names (their address there)",
    ),
    "a phone number not in E.164": (
        '[people.alice]\nsms = "555-0100"\n',
        "oncall.toml:2:7: error: [people.alice] sms: expected a phone number in E.164 form such "
        'as +15550100, got "555-0100"\nsms = "555-0100"\n      ^^^^^^^^^^\n'
        "hint: a +, the country code and the number, with no spaces or dashes",
    ),
    "a webhook address that is not a URL": (
        '[people.alice]\nwebhook = "ops.example.com/alice"\n',
        "oncall.toml:2:11: error: [people.alice] webhook: expected an http:// or https:// URL, "
        'got "ops.example.com/alice"\nwebhook = "ops.example.com/alice"\n'
        "          ^^^^^^^^^^^^^^^^^^^^^^^",
    ),
    "an id rules cannot write": (
        '[people."alice m"]\nname = "Alice"\n',
        "oncall.toml:1:2: error: [people.alice m]: a person's id must be letters, digits and _, "
        'not starting with a digit\n[people."alice m"]\n ^^^^^^^^^^^^^^^^\n'
        "hint: rules and recipient groups refer to it by this name",
    ),
    "a bad time zone": (
        PEOPLE + SCHEDULE.replace("Europe/Amsterdam", "Europe/Amstredam"),
        "oncall.toml:10:13: error: [schedules.ops] time_zone: unknown time zone "
        "'Europe/Amstredam'\n"
        'time_zone = "Europe/Amstredam"\n            ^^^^^^^^^^^^^^^^^^\n'
        "hint: did you mean 'Europe/Amsterdam'?",
    ),
    "a schedule without a zone": (
        PEOPLE + SCHEDULE.replace('time_zone = "Europe/Amsterdam"', ""),
        "oncall.toml:9:2: error: [schedules.ops]: missing key 'time_zone'\n"
        "[schedules.ops]\n ^^^^^^^^^^^^^",
    ),
    "a schedule without rotations": (
        '[schedules.ops]\ntime_zone = "UTC"\n',
        "oncall.toml:1:2: error: [schedules.ops]: the schedule has no rotations\n"
        "[schedules.ops]\n ^^^^^^^^^^^^^\n"
        "hint: add [[schedules.ops.rotations]] with members, shift and start",
    ),
    "an empty rotation": (
        PEOPLE + SCHEDULE.replace('["alice", "bob"]', "[]"),
        "oncall.toml:13:11: error: [[schedules.ops.rotations]] members: the rotation has no "
        "members\nmembers = []\n          ^\nhint: list the people who take turns: members = "
        '["alice", "bob"]',
    ),
    "an unknown member": (
        PEOPLE + SCHEDULE.replace('"bob"]', '"bbo"]'),
        "oncall.toml:13:21: error: [[schedules.ops.rotations]] members: unknown person 'bbo'\n"
        'members = ["alice", "bbo"]\n                    ^^^^^\nhint: did you mean \'bob\'?',
    ),
    "a bad duration": (
        PEOPLE + SCHEDULE.replace('"1w"', '"1 week"'),
        "oncall.toml:14:9: error: [[schedules.ops.rotations]] shift: invalid duration "
        '"1 week": expected a number and a unit (s, m, h, d, w), such as "30m", "12h", "1d" or '
        '"1w"\nshift = "1 week"\n        ^^^^^^^^',
    ),
    "a shift too short": (
        PEOPLE + SCHEDULE.replace('"1w"', '"30s"'),
        "oncall.toml:14:9: error: [[schedules.ops.rotations]] shift: must be at least 1m, got "
        '"30s"\nshift = "30s"\n        ^^^^^',
    ),
    "a start with an offset": (
        PEOPLE + SCHEDULE.replace('"2026-11-30T09:00"', '"2026-11-30T09:00+01:00"'),
        'oncall.toml:15:9: error: [[schedules.ops.rotations]] start: "2026-11-30T09:00+01:00" '
        "has a UTC offset: write the local time, the time_zone says where it is\n"
        'start = "2026-11-30T09:00+01:00"\n        ^^^^^^^^^^^^^^^^^^^^^^^^',
    ),
    "a misspelt rotation key": (
        PEOPLE + SCHEDULE.replace("shift =", "shfit ="),
        "oncall.toml:12:3: error: [[schedules.ops.rotations]]: missing key 'shift'\n"
        "[[schedules.ops.rotations]]\n  ^^^^^^^^^^^^^^^^^^^^^^^\n"
        "oncall.toml:14:1: error: [[schedules.ops.rotations]] shfit: unknown key\n"
        "shfit = \"1w\"\n^^^^^\nhint: did you mean 'shift'?",
    ),
    "an override that ends before it starts": (
        PEOPLE + SCHEDULE + '\n[[schedules.ops.overrides]]\nstart = "2026-12-27T00:00"\n'
        'end = "2026-12-24T00:00"\nadd = "bob"\n',
        "oncall.toml:19:7: error: [[schedules.ops.overrides]] end: the override must end after "
        'it starts ("2026-12-27T00:00")\nend = "2026-12-24T00:00"\n      ^^^^^^^^^^^^^^^^^^',
    ),
    "an override adding a person who does not exist": (
        PEOPLE + SCHEDULE + '\n[[schedules.ops.overrides]]\nstart = "2026-12-24T00:00"\n'
        'end = "2026-12-27T00:00"\nadd = "dave"\n',
        "oncall.toml:20:7: error: [[schedules.ops.overrides]] add: unknown person 'dave'\n"
        'add = "dave"\n      ^^^^^^\nhint: people are defined as [people.ID]',
    ),
    "an override that does nothing": (
        PEOPLE + SCHEDULE + '\n[[schedules.ops.overrides]]\nstart = "2026-12-24T00:00"\n'
        'end = "2026-12-27T00:00"\n',
        "oncall.toml:17:3: error: [[schedules.ops.overrides]]: the override neither adds nor "
        "removes anyone\n[[schedules.ops.overrides]]\n  ^^^^^^^^^^^^^^^^^^^^^^^\n"
        'hint: add = "ID" puts someone on call, remove = "ID" takes someone off; both swap',
    ),
    "a step naming an unknown channel": (
        PEOPLE + '[escalation.ops]\n[[escalation.ops.steps]]\nafter = "0s"\n'
        'notify = ["sms", "pager(person:alice)"]\n',
        "oncall.toml:11:19: error: [[escalation.ops.steps]] notify: unknown channel 'pager'\n"
        'notify = ["sms", "pager(person:alice)"]\n                  ^^^^^\n'
        "hint: the channels are email, push, slack, sms or webhook",
    ),
    "a step naming unknown recipients": (
        PEOPLE + SCHEDULE + '[escalation.ops]\n[[escalation.ops.steps]]\nafter = "5m"\n'
        'notify = ["sms(oncall:osp, person:alcie, managrs)"]\n',
        "oncall.toml:19:16: error: [[escalation.ops.steps]] notify: unknown schedule 'osp'\n"
        'notify = ["sms(oncall:osp, person:alcie, managrs)"]\n'
        "               ^^^^^^^^^^\nhint: did you mean 'ops'?\n"
        "oncall.toml:19:28: error: [[escalation.ops.steps]] notify: unknown person 'alcie'\n"
        'notify = ["sms(oncall:osp, person:alcie, managrs)"]\n'
        "                           ^^^^^^^^^^^^\nhint: did you mean 'alice'?\n"
        "oncall.toml:19:42: error: [[escalation.ops.steps]] notify: unknown recipient group "
        "'managrs'\n"
        'notify = ["sms(oncall:osp, person:alcie, managrs)"]\n'
        "                                         ^^^^^^^\nhint: did you mean 'managers'?",
    ),
    "a target that is not one": (
        '[escalation.ops]\n[[escalation.ops.steps]]\nafter = "0s"\nnotify = ["sms(oncall:)"]\n',
        "oncall.toml:4:11: error: [[escalation.ops.steps]] notify: expected CHANNEL or "
        'CHANNEL(GROUP, ...), got "sms(oncall:)"\nnotify = ["sms(oncall:)"]\n'
        '          ^^^^^^^^^^^^^^\nhint: such as "slack" or "sms(oncall:fleet_ops, managers)"',
    ),
    "a policy without steps": (
        "[escalation.ops]\nrepeat = -1\n",
        "oncall.toml:1:2: error: [escalation.ops]: missing key 'steps'\n"
        "[escalation.ops]\n ^^^^^^^^^^^^^^\n"
        "oncall.toml:2:10: error: [escalation.ops] repeat: expected a whole number, 0 or more, "
        "got -1\nrepeat = -1\n         ^^",
    ),
    "a window that is not one": (
        '[maintenance.m]\ntime_zone = "UTC"\nwindow = "2am-6am"\nmatchers = [{name = "a", '
        'value = "b"}]\n',
        "oncall.toml:3:10: error: [maintenance.m] window: expected HH:MM-HH:MM such as "
        '"02:00-06:00", got "2am-6am"\nwindow = "2am-6am"\n         ^^^^^^^^^',
    ),
    "a misspelt day": (
        '[maintenance.m]\ntime_zone = "UTC"\ndays = ["sat", "snu"]\nwindow = "02:00-06:00"\n'
        'matchers = [{name = "a", value = "b"}]\n',
        'oncall.toml:3:16: error: [maintenance.m] days: unknown day "snu"\n'
        'days = ["sat", "snu"]\n               ^^^^^\nhint: did you mean \'sun\'?',
    ),
    "a window without matchers": (
        '[maintenance.m]\ntime_zone = "UTC"\nwindow = "02:00-06:00"\nmatchers = []\n',
        "oncall.toml:4:12: error: [maintenance.m] matchers: the window has no matchers\n"
        "matchers = []\n           ^\n"
        'hint: without one it would silence every alert: {name = "rule", value = "..."}',
    ),
    "a matcher with a misspelt key and a bad regex": (
        '[maintenance.m]\ntime_zone = "UTC"\nwindow = "02:00-06:00"\nmatchers = [\n'
        '  {name = "a", value = "b", equl = false},\n'
        '  {name = "rule", value = "(a", regex = true},\n]\n',
        "oncall.toml:5:29: error: [maintenance.m] matchers[0].equl: unknown key\n"
        '  {name = "a", value = "b", equl = false},\n                            ^^^^\n'
        "hint: did you mean 'equal'?\n"
        "oncall.toml:6:27: error: [maintenance.m] matchers[1].value: invalid regular "
        "expression: missing ): (a\n"
        '  {name = "rule", value = "(a", regex = true},\n                          ^^^^',
    ),
}


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_each_mistake_is_an_error_at_its_place(tmp_path: Path, case: str) -> None:
    text, expected = ERRORS[case]
    assert errors_of(tmp_path, text) == expected


def test_every_error_is_reported_in_the_order_of_the_file(tmp_path: Path) -> None:
    text = '[people.alice]\nsms = "x"\nemial = "a@example.com"\n[people.bob]\nname = 3\n'
    assert [e.splitlines()[0] for e in load(tmp_path, text)[1]] == [
        "oncall.toml:2:7: error: [people.alice] sms: expected a phone number in E.164 form such "
        'as +15550100, got "x"',
        "oncall.toml:3:1: error: [people.alice] emial: unknown key",
        "oncall.toml:5:8: error: [people.bob] name: expected a string, got 3",
    ]


def test_a_broken_schedule_is_reported_once_not_by_what_names_it(tmp_path: Path) -> None:
    text = (
        PEOPLE
        + SCHEDULE.replace("Europe/Amsterdam", "Mars/Olympus")
        + '[escalation.ops]\n[[escalation.ops.steps]]\nafter = "0s"\nnotify = ["sms(oncall:ops)"]\n'
    )
    errors = load(tmp_path, text)[1]
    assert [e.splitlines()[0] for e in errors] == [
        "oncall.toml:10:13: error: [schedules.ops] time_zone: unknown time zone 'Mars/Olympus'"
    ]


def test_recipient_groups_naming_people_and_schedules_are_checked_in_alertd_toml(
    tmp_path: Path,
) -> None:
    _, errors = load(
        tmp_path,
        PEOPLE + SCHEDULE,
        recipients='managers = ["m@example.com", "person:bob"]\n'
        'leads = ["person:bbo", "oncall:sop"]',
    )
    assert errors == [
        "alertd.toml:6:10: error: [recipients] leads: unknown person 'bbo'\n"
        'leads = ["person:bbo", "oncall:sop"]\n         ^^^^^^^^^^^^\n'
        "hint: did you mean 'bob'?",
        "alertd.toml:6:24: error: [recipients] leads: unknown schedule 'sop'\n"
        'leads = ["person:bbo", "oncall:sop"]\n                       ^^^^^^^^^^^^\n'
        "hint: did you mean 'ops'?",
    ]


def test_recipient_groups_naming_people_need_an_oncall_file(tmp_path: Path) -> None:
    (tmp_path / "alertd.toml").write_text('[recipients]\nmanagers = ["person:bob"]\n')
    _, errors = load_oncall(load_settings(tmp_path / "alertd.toml", environ={}))
    assert [e.format() for e in errors] == [
        f"{tmp_path}/alertd.toml:2:13: error: [recipients] managers: unknown person 'bob'\n"
        'managers = ["person:bob"]\n            ^^^^^^^^^^^^\n'
        "hint: there is no on-call file: set [oncall] path"
    ]
