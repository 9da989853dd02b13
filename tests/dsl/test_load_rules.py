"""The public API: DESIGN.md's sketch rules load, compile and evaluate; errors come all at once."""

import gc
from pathlib import Path

import pytest

from alertd.dsl import RuleError, RuleErrors, compile_text, load_rules, load_with_errors
from alertd.model import NotifyTarget, SourceLocation

SKETCH = """\
# lists and macros are reusable by name
list harsh = ["harsh_braking", "harsh_acceleration", "harsh_cornering"]
macro safety = type == "safety_event"

rule critical_safety_event {
  name     "Critical Safety Event"
  when     safety and severity == "critical"
  priority urgent
  suppress 5m by vehicle_id, driver_id, geocell(location, 2)
  notify   sms, email, slack, push
}

rule multiple_safety_events {
  name     "Multiple Safety Events"
  when     safety
  count    3 within 10m by vehicle_id
  priority medium
  suppress 15m by vehicle_id
  notify   email(managers, safety_team), slack
}
"""

CRITICAL = {
    "type": "safety_event",
    "severity": "critical",
    "vehicle_id": "V-17",
    "driver_id": "D-4",
    "location": {"latitude": 52.52437, "longitude": 13.41053},
}


def test_the_design_sketch_compiles_to_rules() -> None:
    critical, multiple = compile_text(SKETCH, "fleet.rules", groups={"managers", "safety_team"})

    assert critical.id == "critical_safety_event"
    assert critical.name == "Critical Safety Event"
    assert critical.priority == "urgent"
    assert critical.event_types == frozenset({"safety_event"})
    assert critical.condition_source == 'safety and severity == "critical"'
    assert critical.location == SourceLocation("fleet.rules", 5, 1)
    assert critical.count is None
    assert critical.suppress is not None
    assert critical.suppress.duration == 300
    assert critical.suppress.key_source == ("vehicle_id", "driver_id", "geocell(location, 2)")
    assert [t.channel for t in critical.notify] == ["sms", "email", "slack", "push"]

    assert multiple.count is not None
    assert (multiple.count.threshold, multiple.count.within) == (3, 600)
    assert multiple.count.key_source == ("vehicle_id",)
    assert multiple.notify == (
        NotifyTarget("email", ("managers", "safety_team")),
        NotifyTarget("slack"),
    )
    assert multiple.priority == "medium"
    assert multiple.enabled


def test_conditions_and_keys_evaluate_events() -> None:
    critical, multiple = compile_text(SKETCH)

    assert critical.condition(CRITICAL)
    assert not critical.condition({**CRITICAL, "severity": "low"})
    assert not critical.condition({"type": "location_update"})
    assert not critical.condition({})
    assert multiple.condition({"type": "safety_event"})
    assert critical.suppress is not None and multiple.count is not None
    assert critical.suppress.key(CRITICAL) == ("V-17", "D-4", "52.52,13.41")
    assert critical.suppress.key({}) == (None, None, None)
    assert multiple.count.key(CRITICAL) == ("V-17",)


def test_rules_without_optional_clauses_get_defaults() -> None:
    (rule,) = compile_text("rule r { when speed > 120 }")

    assert rule.name == "r"
    assert rule.priority == "medium"
    assert rule.event_types is None
    assert rule.notify == ()
    assert rule.count is None and rule.suppress is None
    assert rule.template is None and rule.labels == {} and rule.enabled


def test_template_labels_description_and_enabled() -> None:
    (rule,) = compile_text(
        """
        rule r {
          description "Speeding on a motorway"
          when speed > 120
          template "speeding"
          labels { team = "safety", region = "north" }
          enabled false
        }
        """
    )
    assert rule.description == "Speeding on a motorway"
    assert rule.template == "speeding"
    assert rule.labels == {"team": "safety", "region": "north"}
    assert not rule.enabled


def test_load_rules_reads_folders_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "second.rules").write_text("rule second { when shared }\n")
    (tmp_path / "a.rules").write_text('macro shared = type == "x"\nrule first { when shared }\n')
    (tmp_path / "notes.txt").write_text("not rules")

    rules = load_rules([tmp_path])

    assert [r.id for r in rules] == ["first", "second"]
    assert rules[1].event_types == frozenset({"x"})  # the macro came from the other file


def test_all_errors_across_files_are_raised_together_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.rules").write_text('rule dup { when type == "x" }\n')
    (tmp_path / "a.rules").write_text(
        'rule dup { when type == "y" }\nrule bad { when foo }\nrule worse { when x == }\n'
    )

    with pytest.raises(RuleErrors) as info:
        load_rules([tmp_path])

    found = [(Path(e.path).name, e.line, e.column, e.message) for e in info.value.errors]
    assert found == [
        ("a.rules", 2, 17, "unknown macro 'foo'"),
        ("a.rules", 3, 24, "unexpected '}', expected an expression"),
        ("b.rules", 1, 6, f"duplicate rule id 'dup' (first defined at {tmp_path}/a.rules:1:1)"),
    ]


def test_load_with_errors_compiles_the_rules_without_an_error_of_their_own(
    tmp_path: Path,
) -> None:
    # What `alertd check` needs to go on to the templates of the good rules.
    (tmp_path / "a.rules").write_text(
        'macro broken = hour("Europ/Berlin") > 22\n'
        'rule good { when type == "x"\n notify sms }\n'
        "rule uses_broken { when broken and speed > 3\n notify sms }\n"
        "rule bad { when speed > }\n"
    )

    rules, errors = load_with_errors([tmp_path], templates=None)

    assert [rule.id for rule in rules] == ["good", "uses_broken"]
    assert [(e.line, e.message) for e in errors] == [
        (1, "unknown time zone 'Europ/Berlin'"),
        (6, "unexpected '}', expected an expression"),
    ]
    assert rules[1].condition({"speed": 5}) is False  # the broken macro is false
    with pytest.raises(RuleErrors):
        load_rules([tmp_path])


def test_a_template_clause_must_name_a_folder_of_the_templates_folder(tmp_path: Path) -> None:
    (tmp_path / "templates" / "night" / "sms").mkdir(parents=True)
    (tmp_path / "a.rules").write_text('rule r { when x == 1\n template "nigth" }\n')

    _, errors = load_with_errors([tmp_path / "a.rules"], templates=tmp_path / "templates")

    assert [e.format() for e in errors] == [
        f"{tmp_path}/a.rules:2:11: error: unknown template 'nigth'\n"
        ' template "nigth" }\n'
        "          ^^^^^^^\n"
        "hint: did you mean 'night'?"
    ]


def test_missing_paths_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RuleErrors) as info:
        load_rules([tmp_path / "nope.rules"])
    assert info.value.format() == f"{tmp_path}/nope.rules: error: no such file or directory"


def test_an_error_formats_with_source_line_caret_and_hint() -> None:
    with pytest.raises(RuleErrors) as info:
        compile_text(
            "rule r {\n  when speed > 3\n  suppress 5m by geocel(location, 2)\n}\n",
            "rules/fleet.rules",
        )
    (error,) = info.value.errors
    assert isinstance(error, RuleError)
    assert (error.path, error.line, error.column) == ("rules/fleet.rules", 3, 18)
    assert error.suggestion == "did you mean 'geocell'?"
    assert error.format() == (
        "rules/fleet.rules:3:18: error: unknown function 'geocel'\n"
        "  suppress 5m by geocel(location, 2)\n"
        "                 ^^^^^^\n"
        "hint: did you mean 'geocell'?"
    )


def test_loading_pauses_the_garbage_collector_and_restores_it() -> None:
    assert gc.isenabled()
    compile_text(SKETCH)
    assert gc.isenabled()
    with pytest.raises(RuleErrors):
        compile_text("rule broken { when }")
    assert gc.isenabled()
    gc.disable()  # an application that manages the collector itself keeps it as it was
    try:
        compile_text(SKETCH)
        assert not gc.isenabled()
    finally:
        gc.enable()
