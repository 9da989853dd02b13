"""The Silences page and its form over plain HTTP against a real `alertd run`: a silence made
from the form (as the signed-in person, via web) silences the next matching alert; "Silence
similar" fills the form from an alert; mistakes come back on the form with what was typed; a
silence is expired with its button; the forms need their CSRF token."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN, Alertd

from .conftest import api_alert, client, csrf_of, post_event, sign_in, stamped

pytestmark = pytest.mark.e2e

ROW = re.compile(
    r'<input name="name" value="([^"]*)".*?<option selected>([^<]*)</option>.*?'
    r'<input name="value" value="([^"]*)"',
    re.S,
)


def rows(page: str) -> list[tuple[str, str, str]]:
    return [tuple(html.unescape(part) for part in row) for row in ROW.findall(page)]  # type: ignore[misc]


def form(http: httpx.Client, *rows: tuple[str, str, str], **fields: str) -> dict[str, Any]:
    page = http.get("/ui/silences/new")
    data: dict[str, Any] = {
        "csrf": csrf_of(page.text),
        "name": [row[0] for row in rows],
        "op": [row[1] for row in rows],
        "value": [row[2] for row in rows],
        "for": "2h",
        "until": "",
        "from": "",
        "comment": "in the workshop",
        "alert": "",
    }
    data.update(fields)
    return data


def test_silence_similar_fills_the_form_and_the_silence_silences(console: Alertd) -> None:
    first = post_event(console, stamped("v-similar", 0) | {"location": {"city": "Utrecht"}})
    with client(console) as http:
        sign_in(http)
        detail = http.get(f"/ui/alerts/{first}")
        assert f'href="/ui/silences/new?alert={first}"' in detail.text
        filled = http.get("/ui/silences/new", params={"alert": first})
        assert filled.status_code == 200
        assert rows(filled.text) == [
            ("rule", "=", "critical_safety_event"),
            ("vehicle_id", "=", "v-similar"),  # the rule suppresses `by vehicle_id`
            ("", "=", ""),
            ("", "=", ""),
        ]
        assert '<option value="location.city">' in filled.text  # the event's other fields
        assert '<option value="severity">' in filled.text
        data = form(
            http,
            ("rule", "=", "critical_safety_event"),
            ("vehicle_id", "=", "v-similar"),
            ("", "=", ""),
            alert=first,
        )
        made = http.post("/ui/silences", data=data)
        assert made.status_code == 303
        silence_id = made.headers["location"].removeprefix("/ui/silences?made=")
        listed = http.get(made.headers["location"])
        assert "Silence made" in listed.text
        assert f'id="silence-{silence_id}"' in listed.text
    silence = httpx.get(f"{console.url}/v1/silences/{silence_id}", headers=ADMIN).json()
    assert (silence["created_by"], silence["created_via"], silence["comment"]) == (
        "alice",
        "web",
        "in the workshop",
    )
    second = post_event(console, stamped("v-similar", 5))
    quiet = api_alert(console, second)
    assert (quiet["status"], quiet["silenced_by"]) == ("silenced", silence_id)
    other = post_event(console, stamped("v-not-similar", 5))
    assert api_alert(console, other)["status"] == "firing"
    with client(console) as http:
        sign_in(http)
        page = http.get(f"/ui/alerts/{second}").text
        assert f'<a href="/ui/silences#silence-{silence_id}">silence {silence_id}</a>' in page


def test_mistakes_come_back_on_the_form(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        data = form(
            http,
            ("vehicle_id", "=~", "(v-1"),
            ("depot", "!=", "north"),
            comment="",
            until="2020-01-01T10:00",
        )
        refused = http.post("/ui/silences", data=data)
        assert refused.status_code == 400
        text = html.unescape(refused.text)
        assert "The silence was not made" in text
        assert "Matcher 1, value: invalid regular expression: missing ): (v-1." in text
        assert "Until: is not in the future: the silence would be over." in text
        assert "Comment: is required" in text
        assert rows(refused.text)[:2] == [("vehicle_id", "=~", "(v-1"), ("depot", "!=", "north")]
        assert 'value="2020-01-01T10:00"' in refused.text
        nothing = http.post("/ui/silences", data=form(http, ("", "=", "")))
        assert "Add a matcher" in nothing.text
        bad_for = http.post(
            "/ui/silences", data=form(http, ("vehicle_id", "=", "v-1"), **{"for": "soon"})
        )
        assert "For: invalid duration &#39;soon&#39;" in bad_for.text
    listed = httpx.get(f"{console.url}/v1/silences", headers=ADMIN).json()["silences"]
    assert not any(s["comment"] == "" for s in listed)


def test_a_silence_is_expired_with_its_button(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        made = http.post(
            "/ui/silences",
            data=form(http, ("vehicle_id", "=", "v-expire"), until="2099-01-01T00:00"),
        )
        silence_id = made.headers["location"].removeprefix("/ui/silences?made=")
        page = http.get("/ui/silences").text
        active = page[page.index('id="silences-active"') : page.index('id="silences-pending"')]
        assert f'data-expire="{silence_id}"' in active
        expired = http.post(f"/ui/silences/{silence_id}/expire", data={"csrf": csrf_of(page)})
        assert expired.status_code == 303
        after = http.get(expired.headers["location"]).text
        assert "Expired: that silence silences nothing any more." in after
        gone = after[after.index('id="silences-expired"') :]
        assert f'id="silence-{silence_id}"' in gone
        assert f'data-expire="{silence_id}"' not in after
        again = http.post(f"/ui/silences/{silence_id}/expire", data={"csrf": csrf_of(after)})
        assert "already=1" in again.headers["location"]
        missing = http.post(
            "/ui/silences/01KNOSUCHSILENCE0000000000/expire", data={"csrf": csrf_of(after)}
        )
        assert missing.status_code == 404
    assert (
        httpx.get(f"{console.url}/v1/silences/{silence_id}", headers=ADMIN).json()["state"]
        == "expired"
    )


def test_the_forms_need_their_csrf_token_and_a_session(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        data = form(http, ("vehicle_id", "=", "v-csrf"))
        del data["csrf"]
        refused = http.post("/ui/silences", data=data)
        assert refused.status_code == 403
    with client(console) as http:
        assert http.get("/ui/silences").status_code == 303  # signed out: to sign in
        assert http.get("/ui/silences/new").status_code == 303
        assert http.post("/ui/silences", data={"name": "x"}).status_code == 403
    listed = httpx.get(f"{console.url}/v1/silences", headers=ADMIN).json()["silences"]
    assert not any("v-csrf" in str(s["matchers"]) for s in listed)
