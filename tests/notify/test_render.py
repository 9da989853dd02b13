"""Rendering alerts with the shipped templates, per-rule overrides, escaping and fallbacks."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from alertd.config import NotifySettings
from alertd.model import CountEvents, event_text
from alertd.notify.errors import TemplateError
from alertd.notify.render import CONTEXT_NAMES, PARTS, Renderer, map_link
from tests.notify.conftest import TEMPLATES, make_alert

NOTIFY = NotifySettings(timezone="Europe/Berlin", dashboard_url="https://fleet.example.com/a/")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer.load(TEMPLATES, NOTIFY)


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def overlay(tmp_path: Path, files: dict[str, str]) -> Renderer:
    """The shipped templates plus these files."""
    folder = tmp_path / "templates"
    for path in TEMPLATES.rglob("*.*"):
        target = folder / path.relative_to(TEMPLATES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    return Renderer.load(write(folder, files), NOTIFY)


def test_every_kind_renders_with_the_shipped_templates(renderer: Renderer) -> None:
    alert = make_alert(suppressed_count=2)
    for kind in PARTS:
        rendered = renderer.render(alert, kind)
        assert rendered.error is None, rendered.error
    email = renderer.render(alert, "email").content
    assert email["subject"] == "[HIGH] Critical Safety Event — V-17, D-4"
    assert "Fired at 2026-01-01 01:00:00 CET for V-17, D-4." in email["text"]
    assert "2 more matching events suppressed" in email["text"]
    assert "https://fleet.example.com/a/01KDTEST0000000000000000AA" in email["html"]
    sms = renderer.render(alert, "sms").content["text"]
    assert sms.startswith("[HIGH] Critical Safety Event: V-17, D-4 at 01:00 CET (+2 suppressed)")
    body = orjson.loads(renderer.render(alert, "webhook").content["body"])
    assert body["alert_id"] == alert.id
    assert body["key"] == ["V-17", "D-4"]
    assert body["event"] == alert.event
    assert body["fired_at"] == "2026-01-01T00:00:00+00:00"
    push = renderer.render(alert, "push").content
    assert push["data"]["alert_id"] == alert.id
    assert all(isinstance(value, str) for value in push["data"].values())


def test_email_lists_the_counted_events_and_shows_nested_fields_as_json(
    renderer: Renderer,
) -> None:
    counted = [{"type": "safety_event", "n": n, "note": "<b>"} for n in range(12)]
    email = renderer.render(make_alert(count_events=CountEvents.of(counted)), "email").content
    assert "12 events made this alert fire:" in email["text"]
    assert '  - {"n": 0, "note": "\\u003cb\\u003e", "type": "safety_event"}' in email["text"]
    assert '"n": 9,' in email["text"] and '"n": 10,' not in email["text"]  # the first ten
    assert '  location: {"latitude": 52.52, "longitude": 13.405}' in email["text"]
    assert '"<b>"' not in email["html"] and email["html"].count("<li><code>") == 10


def test_counted_events_render_alike_held_as_texts_or_decoded(renderer: Renderer) -> None:
    """The engine's alert holds its window's events as JSON texts and the firing match's event
    as it came; an alert read back from a store holds them decoded: the same notifications."""
    counted = [{"type": "safety_event", "n": n, "at": {"lat": 52.5}} for n in range(3)]
    held = make_alert(count_events=CountEvents(tuple(map(event_text, counted[:-1])), counted[-1]))
    decoded = make_alert(count_events=CountEvents.of(counted))
    for kind in ("email", "sms", "slack", "push", "webhook"):
        assert renderer.render(held, kind).content == renderer.render(decoded, kind).content
    assert orjson.loads(renderer.render(held, "webhook").content["body"])["count_events"] == (
        counted
    )


def test_a_key_part_the_event_lacked_is_left_out_not_shown_as_none(renderer: Renderer) -> None:
    alert = make_alert(key=("V-17", None, None))
    assert (
        renderer.render(alert, "email").content["subject"] == "[HIGH] Critical Safety Event — V-17"
    )
    assert (
        renderer.render(alert, "sms")
        .content["text"]
        .startswith("[HIGH] Critical Safety Event: V-17 at")
    )
    for kind in PARTS:
        assert "None" not in str(renderer.render(alert, kind).content), kind
    assert orjson.loads(renderer.render(alert, "webhook").content["body"])["key"] == [
        "V-17",
        None,
        None,
    ]
    bare = renderer.render(make_alert(key=(None,)), "slack").content["text"]
    assert bare.startswith("*HIGH* · 2026-01-01")


def test_html_is_escaped_in_the_html_body_only(renderer: Renderer) -> None:
    alert = make_alert(event={"driver": "<script>alert(1)</script>"})
    email = renderer.render(alert, "email").content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email["html"]
    assert "<script>" not in email["html"]
    assert "driver: <script>alert(1)</script>" in email["text"]


def test_slack_markup_in_event_text_stays_text(tmp_path: Path) -> None:
    renderer = overlay(
        tmp_path, {"slack/text.md": "Driver says: {{ event.note }} <{{ alert_url }}|open>"}
    )
    alert = make_alert(event={"note": "<!channel> & <https://evil.example|bank>"})
    text = renderer.render(alert, "slack").content["text"]
    assert text == (
        "Driver says: &lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt; "
        "<https://fleet.example.com/a/01KDTEST0000000000000000AA|open>"
    )


def test_header_injection_is_flattened_to_one_line(renderer: Renderer) -> None:
    alert = make_alert(rule_name="Breakdown\r\nBcc: x@example.com", key=("V1\nX-Evil: 1",))
    subject = renderer.render(alert, "email").content["subject"]
    assert subject == "[HIGH] Breakdown Bcc: x@example.com — V1 X-Evil: 1"
    assert "\r" not in subject and "\n" not in subject


def test_sms_loses_control_characters_and_is_capped_by_segments(tmp_path: Path) -> None:
    renderer = overlay(tmp_path, {"sms/text.txt": "{{ event.text }}"})
    text = renderer.render(make_alert(event={"text": "a\x00b\x1bc\x07\r\nd"}), "sms").content
    assert text == {"text": "abc\nd"}
    long = renderer.render(make_alert(event={"text": "x" * 10_000}), "sms").content["text"]
    assert len(long) == 3 * 153 and long.endswith("...")  # GSM-7, three segments
    unicode = renderer.render(make_alert(event={"text": "ü✓" * 5000}), "sms").content["text"]
    assert len(unicode) == 3 * 67 and unicode.endswith("…")  # UCS-2, three segments


def test_long_values_and_invalid_unicode_are_tamed(renderer: Renderer) -> None:
    alert = make_alert(event={"note": "y" * 10_000, "bad": "a\ud800b"})
    email = renderer.render(alert, "email").content
    assert "y" * 1999 + "…" in email["text"] and "y" * 2001 not in email["text"]
    assert "a\ufffdb" in email["html"]
    body = renderer.render(alert, "webhook").content["body"]
    assert orjson.loads(body)["event"]["bad"] == "a\ufffdb"
    body.encode()  # valid UTF-8 now


def test_a_rule_overrides_parts_by_its_template_clause_or_by_its_id(tmp_path: Path) -> None:
    renderer = overlay(
        tmp_path,
        {
            "harsh/sms/text.txt": "harsh {{ event.vehicle_id }}",
            "rules/critical_safety/sms/text.txt": "by id {{ event.vehicle_id }}",
        },
    )
    assert renderer.render(make_alert(template="harsh"), "sms").content["text"] == "harsh V-17"
    assert renderer.render(make_alert(), "sms").content["text"] == "by id V-17"
    other = make_alert(rule_id="other")
    assert renderer.render(other, "sms").content["text"].startswith("[HIGH] Critical Safety")
    # Parts the override does not have come from the defaults.
    assert renderer.render(make_alert(template="harsh"), "email").error is None


def test_dotted_names_read_keys_and_dict_methods_as_jinja_does(tmp_path: Path) -> None:
    renderer = overlay(
        tmp_path,
        {
            "sms/text.txt": "{{ event.vehicle_id }}|{{ event.nope }}|{{ event.nope.deeper }}|"
            "{{ event['items'] }}|{{ event.items is callable }}|{{ event.get('driver_id') }}"
        },
    )
    alert = make_alert(event={"vehicle_id": "V-1", "driver_id": "D-2", "items": "crates"})
    rendered = renderer.render(alert, "sms")
    assert rendered.error is None
    assert rendered.content["text"] == "V-1|||crates|True|D-2"


def test_a_template_failing_at_run_time_falls_back_to_plain_text(tmp_path: Path) -> None:
    renderer = overlay(tmp_path, {"sms/text.txt": "{{ event.vehicle_id }}\n{{ 1 / 0 }}"})
    rendered = renderer.render(make_alert(), "sms")
    assert rendered.error == f"{tmp_path}/templates/sms/text.txt:2: error: division by zero"
    assert rendered.content["text"].startswith(
        "[HIGH] Critical Safety Event fired at 2026-01-01 01:00:00 CET for V-17, D-4."
    )


def test_a_webhook_template_must_render_a_json_object(tmp_path: Path) -> None:
    renderer = overlay(tmp_path, {"webhook/body.json": '{"a": {{ event.vehicle_id }}'})
    rendered = renderer.render(make_alert(), "webhook")
    assert rendered.error is not None and "rendered JSON is invalid" in rendered.error
    assert orjson.loads(rendered.content["body"])["fallback"] is True


def test_the_sandbox_keeps_templates_away_from_python_internals(tmp_path: Path) -> None:
    renderer = overlay(
        tmp_path, {"sms/text.txt": "{{ event.__class__.__mro__[1].__subclasses__() }}"}
    )
    rendered = renderer.render(make_alert(), "sms")
    assert rendered.error is not None and "unsafe" in rendered.error


def test_syntax_errors_are_reported_with_file_and_line_at_load(tmp_path: Path) -> None:
    folder = write(tmp_path / "t", {"sms/text.txt": "ok\n{% if %}", "slack/text.md": "{{ x }"})
    with pytest.raises(TemplateError) as info:
        Renderer.load(folder, NOTIFY)
    assert str(info.value).splitlines() == [
        f"{folder}/slack/text.md:1: error: unexpected '}}'",
        f"{folder}/sms/text.txt:2: error: Expected an expression, got 'end of statement block'",
    ]


def test_check_renders_each_alert_strictly(tmp_path: Path) -> None:
    renderer = overlay(tmp_path, {"harsh/push/title.txt": "{{ alert.key.pop() }}"})
    errors = renderer.check([(make_alert(template="harsh"), ["email", "push"])])
    assert [str(e) for e in errors] == [
        f"{tmp_path}/templates/harsh/push/title.txt:1: error: "
        "access to attribute 'pop' of 'list' object is unsafe."
    ]
    assert renderer.check([(make_alert(), ["email", "sms", "slack", "push", "webhook"])]) == []


def test_check_reports_every_broken_part_of_a_channel(tmp_path: Path) -> None:
    broken = {"email/subject.txt": "{{ alert.key.pop() }}", "email/body.txt": "{{ 1 / 0 }}"}
    errors = overlay(tmp_path, broken).check([(make_alert(), ["email"])])
    assert [(Path(e.path).name, e.line) for e in errors] == [("subject.txt", 1), ("body.txt", 1)]
    assert "division by zero" in errors[1].message


def test_a_missing_template_is_an_error_for_check(tmp_path: Path) -> None:
    renderer = Renderer.load(write(tmp_path / "t", {"sms/text.txt": "hi"}), NOTIFY)
    errors = renderer.check([(make_alert(), ["sms", "webhook"])])
    assert [str(e) for e in errors] == [
        f"{tmp_path}/t/webhook/body.json:1: error: template not found (looked for "
        "rules/critical_safety/webhook/body.json, webhook/body.json)"
    ]


def test_helpers_format_time_in_the_configured_zone_and_link_maps(tmp_path: Path) -> None:
    renderer = overlay(
        tmp_path, {"sms/text.txt": "{{ localtime(event.ts, '%H:%M') }} {{ event.ts | localtime }}"}
    )
    text = renderer.render(make_alert(event={"ts": "2026-07-01T12:00:00Z"}), "sms").content
    assert text == {"text": "14:00 2026-07-01 14:00:00 CEST"}
    assert map_link({"lat": 1.5, "lon": 2}) == (
        "https://www.openstreetmap.org/?mlat=1.50000&mlon=2.00000#map=15/1.50000/2.00000"
    )
    assert map_link(None) == "" and map_link({"latitude": "x"}) == ""


def test_an_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(TemplateError, match="unknown time zone 'Mars/Olympus'"):
        Renderer.load(TEMPLATES, NotifySettings(timezone="Mars/Olympus"))


def test_the_context_names_a_template_may_use_are_the_context(renderer: Renderer) -> None:
    assert set(renderer.context(make_alert(), "email")) == CONTEXT_NAMES


def test_a_misspelt_name_in_a_template_is_reported_with_its_line(tmp_path: Path) -> None:
    renderer = Renderer.load(
        write(
            tmp_path / "t",
            {
                "sms/text.txt": "{{ alert.id }}\n{{ evnt.vehicle_id }}",
                "push/title.txt": "{% set n = 2 %}{% for e in count_events %}{{ e.x }}{% endfor %}"
                "{{ n }} {{ event.no_such_field }} {{ localtime(alert.fired_at) }}",
            },
        ),
        NOTIFY,
    )
    assert [str(p) for p in renderer.unknown_names()] == [
        f"{tmp_path}/t/sms/text.txt:2: error: unknown name 'evnt' (did you mean 'event'?): "
        "it would render as nothing"
    ]
