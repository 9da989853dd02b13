"""The Rules page's playground over plain HTTP (no JavaScript) against a real `alertd run`: an
event explained against the running rules and their live windows, a rule edited and tried on
it, errors where they are, and nothing changed by asking."""

from __future__ import annotations

import html
import json
import re

import httpx
import pytest

from tests.e2e.conftest import ADMIN, Alertd

from .conftest import api_alert, client, critical, csrf_of, post_event, sign_in

pytestmark = pytest.mark.e2e

SLOW = '{"type": "location_update", "vehicle_id": "v-play", "speed_kmh": 100}'


def text_of(page: str) -> str:
    """The page's text, tags dropped and spaces folded: what a person reads."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def try_it(http: httpx.Client, event: str, draft: str = "") -> httpx.Response:
    form = http.get("/ui/rules")
    return http.post(
        "/ui/rules/try", data={"csrf": csrf_of(form.text), "event": event, "draft": draft}
    )


def test_an_event_that_does_not_fire_shows_the_failing_comparison(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        answer = try_it(http, SLOW)
    assert answer.status_code == 200
    shown = text_of(answer.text)
    assert "speeding no match speed_kmh > 120 is false with speed_kmh = 100" in shown
    assert "rules/fleet.rules:11:42" in shown  # where the comparison is written
    # The event stays in the form, to change and try again.
    assert f">{SLOW}</textarea>" in html.unescape(answer.text)


def test_the_live_windows_decide_and_nothing_is_recorded(console: Alertd) -> None:
    fired = post_event(console, critical("v-play-live"))
    before = httpx.get(f"{console.url}/v1/alerts", headers=ADMIN, timeout=10).json()["alerts"]
    event = '{"type": "safety_event", "severity": "critical", "vehicle_id": "v-play-live"}'
    with client(console) as http:
        sign_in(http)
        shown = text_of(try_it(http, event).text)
    assert "critical_safety_event suppressed v-play-live suppressed until" in shown
    after = httpx.get(f"{console.url}/v1/alerts", headers=ADMIN, timeout=10).json()["alerts"]
    assert after == before
    assert api_alert(console, fired)["match_count"] == 1


def test_an_edited_rule_is_tried_on_the_same_event_before_it_is_saved(console: Alertd) -> None:
    draft = 'rule speeding {\n  when type == "location_update" and speed_kmh > 90\n}\n'
    with client(console) as http:
        sign_in(http)
        answer = try_it(http, SLOW, draft)
    shown = text_of(answer.text)
    assert "Your rule text" in shown
    tried, running = shown.split("The running rules")
    assert "speeding fired" in tried
    assert "speeding no match speed_kmh > 120 is false" in running
    # Nothing was saved: the running rule is as it was.
    rules = httpx.get(f"{console.url}/v1/rules", headers=ADMIN, timeout=10).json()["rules"]
    assert [r["when"] for r in rules if r["id"] == "speeding"] == [
        'type == "location_update" and speed_kmh > 120'
    ]


def test_rule_text_with_mistakes_shows_them_with_line_and_column(console: Alertd) -> None:
    draft = 'rule speeding {\n  when type == "location_update" and speed_kmh >\n  notify slak\n}\n'
    with client(console) as http:
        sign_in(http)
        answer = try_it(http, SLOW, "rule r {\n  when speed_kmh > 90\n  notify slak\n}\n")
        page = html.unescape(answer.text)
        assert "playground.rules:3:10: error: unknown channel 'slak'" in page
        assert "hint: did you mean 'slack'?" in page
        assert "nothing was tried" in page
        broken = html.unescape(try_it(http, SLOW, draft).text)
        assert "playground.rules:3:10: error: unexpected 'slak'" in broken


def test_a_recent_alert_or_a_rule_fills_the_form(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-play-pick", driver_id="d-pick"))
    with client(console) as http:
        sign_in(http)
        page = http.get("/ui/rules").text
        assert f'href="/ui/rules?event={alert_id}#playground"' in page
        alert_page = http.get(f"/ui/alerts/{alert_id}").text
        assert f'href="/ui/rules?event={alert_id}#playground" data-playground' in alert_page
        picked = html.unescape(http.get("/ui/rules", params={"event": alert_id}).text)
        assert '"vehicle_id": "v-play-pick"' in picked
        edit = html.unescape(http.get("/ui/rules", params={"edit": "speeding"}).text)
        assert 'rule speeding {\n  name     "Speeding"' in edit
        gone = text_of(http.get("/ui/rules", params={"event": "01ZZZZZZZZZZZZZZZZZZZZZZZZ"}).text)
        assert "There is no such alert" in gone


def test_an_event_that_is_not_one_json_object_says_so(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        for event, problem in (
            ("{", "The event is not JSON"),
            ("[1]", "The event must be one JSON object"),
            ('{"timestamp": "soon"}', "The event is invalid: timestamp"),
        ):
            answer = try_it(http, event)
            assert answer.status_code == 400
            assert problem in text_of(answer.text)


def test_the_playground_needs_its_csrf_token_and_a_session(console: Alertd) -> None:
    with client(console) as http:
        assert http.post("/ui/rules/try", data={"event": SLOW}).status_code == 403
        sign_in(http)
        refused = http.post("/ui/rules/try", data={"event": SLOW})
        assert refused.status_code == 403
        assert "not sent from this console" in refused.text


SCRIPT = '<script>alert("owned")</script>'


def test_html_in_the_event_or_the_rule_text_is_shown_escaped(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-play-x", driver_id=SCRIPT))
    event = json.dumps({"type": "location_update", "vehicle_id": "v", "speed_kmh": SCRIPT})
    draft = f"rule x {{ when speed_kmh == {json.dumps(SCRIPT)} }}\nrule y {{ when {SCRIPT} }}"
    with client(console) as http:
        sign_in(http)
        answers = [
            http.get("/ui/rules", params={"event": alert_id}),
            try_it(http, event),
            try_it(http, event, draft),
            try_it(http, SCRIPT),
        ]
    for answer in answers:
        assert "<script>alert" not in answer.text
    assert "&lt;script&gt;" in answers[1].text  # the value read, shown as text
    assert "playground.rules:2:15: error:" in html.unescape(answers[2].text)
