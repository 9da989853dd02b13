"""The console's pages over plain HTTP against a real `alertd run`: filters, paging, the alert
page's outcome messages, on call and rules."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.conftest import ADMIN, INGEST, Alertd

from .conftest import client, critical, csrf_of, post_event, sign_in

pytestmark = pytest.mark.e2e

ROW = re.compile(r'data-id="([0-9A-Z]{26})"')


def listed(html: str) -> list[str]:
    return ROW.findall(html)


def test_filters_narrow_the_list_and_a_bad_one_says_what_is_wrong(console: Alertd) -> None:
    urgent = post_event(console, critical("v-filter-1", location={"city": "Utrecht"}))
    speeding = post_event(
        console, {"type": "location_update", "vehicle_id": "v-f2", "speed_kmh": 140}
    )
    acked = post_event(console, critical("v-filter-3"))
    httpx.post(f"{console.url}/v1/alerts/{acked}/ack", json={"by": "x"}, headers=ADMIN)
    with client(console) as http:
        sign_in(http)
        assert {urgent, speeding, acked} <= set(listed(http.get("/ui/alerts").text))
        medium = listed(http.get("/ui/alerts", params={"priority": "medium"}).text)
        assert speeding in medium and urgent not in medium
        assert acked in listed(http.get("/ui/alerts", params={"status": "acked"}).text)
        assert acked not in listed(http.get("/ui/alerts", params={"status": "firing"}).text)
        assert listed(http.get("/ui/alerts", params={"rule": "speeding"}).text) == [speeding]
        by_city = http.get("/ui/alerts", params={"match": "location.city=Utrecht"})
        assert listed(by_city.text) == [urgent]
        both = http.get("/ui/alerts", params=[("match", "vehicle_id=v-filter-1"), ("match", "x=y")])
        assert listed(both.text) == []
        live = http.get("/ui/alerts/list", params={"priority": "medium"})
        assert speeding in listed(live.text) and "<html" not in live.text  # the list alone
        for bad, message in (
            ({"status": "sleeping"}, "Unknown status"),
            ({"priority": "huge"}, "Unknown priority"),
            ({"match": "no equals sign"}, "write FIELD=VALUE"),
            ({"cursor": "nonsense"}, "page link is broken"),
        ):
            answer = http.get("/ui/alerts", params=bad)
            assert answer.status_code == 400
            assert message in answer.text
            assert listed(answer.text) == []


def test_older_alerts_are_a_page_away(console: Alertd) -> None:
    batch = [critical(f"v-page-{n:02}") for n in range(51)]
    answer = httpx.post(f"{console.url}/v1/events", json=batch, headers=INGEST, timeout=10)
    fired = answer.json()["alerts"]
    assert len(fired) == 51
    with client(console) as http:
        sign_in(http)
        first = http.get("/ui/alerts", params={"match": "type=safety_event"}).text
        assert len(listed(first)) == 50
        older = re.search(r'<a href="([^"]+)">Older alerts</a>', first)
        assert older is not None
        link = older.group(1).replace("&amp;", "&")
        assert "match=type%3Dsafety_event" in link  # the filters stay on the next page
        rest = listed(http.get(link).text)
    shown = listed(first) + rest
    assert len(shown) == len(set(shown))
    assert set(fired) <= set(shown)


def test_an_action_done_twice_says_nothing_changed(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-twice"))
    with client(console) as alice, client(console) as bob:
        sign_in(alice)
        sign_in(bob, "bob", "bob-password-1")
        page = alice.get(f"/ui/alerts/{alert_id}").text
        late = bob.get(f"/ui/alerts/{alert_id}").text  # bob opened it before alice acked
        done = alice.post(f"/ui/alerts/{alert_id}/ack", data={"csrf": csrf_of(page)})
        assert done.headers["location"] == f"/ui/alerts/{alert_id}?did=ack"
        assert "Done: acknowledged." in alice.get(done.headers["location"]).text
        again = bob.post(f"/ui/alerts/{alert_id}/ack", data={"csrf": csrf_of(late)})
        assert again.headers["location"] == f"/ui/alerts/{alert_id}?did=ack&already=1"
        said = bob.get(again.headers["location"]).text
        assert "Nothing changed: it was acknowledged already by alice" in said
        assert (
            alice.post(
                "/ui/alerts/01ZZZZZZZZZZZZZZZZZZZZZZZZ/ack", data={"csrf": csrf_of(page)}
            ).status_code
            == 404
        )
        assert (
            alice.post(
                f"/ui/alerts/{alert_id}/frobnicate", data={"csrf": csrf_of(page)}
            ).status_code
            == 404
        )
        assert alice.get("/ui/alerts/01ZZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404


def test_a_resolve_is_recorded_as_the_person_via_web_and_a_refused_action_says_why(
    console: Alertd,
) -> None:
    alert_id = post_event(console, critical("v-resolve"))
    with client(console) as http:
        sign_in(http)
        page = http.get(f"/ui/alerts/{alert_id}").text
        assert [a for a in ("ack", "resolve", "unack") if f'data-action="{a}"' in page] == [
            "ack",
            "resolve",
        ]
        done = http.post(f"/ui/alerts/{alert_id}/resolve", data={"csrf": csrf_of(page)})
        assert done.headers["location"] == f"/ui/alerts/{alert_id}?did=resolve"
        shown = http.get(done.headers["location"]).text
        assert "Done: resolved." in shown
        assert "data-action=" not in shown  # a resolved alert is over: no more buttons
        refused = http.post(f"/ui/alerts/{alert_id}/ack", data={"csrf": csrf_of(page)})
        assert refused.status_code == 409
        assert 'class="notice error"' in refused.text
    resolved = httpx.get(f"{console.url}/v1/alerts/{alert_id}", headers=ADMIN).json()
    assert (resolved["status"], resolved["resolved_by"], resolved["resolved_via"]) == (
        "resolved",
        "alice",
        "web",
    )


def test_on_call_shows_who_now_and_the_hand_overs_ahead(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        page = http.get("/ui/oncall").text
    assert "fleet_ops" in page and "Europe/Amsterdam" in page
    now = re.search(r'<p class="now"><strong>([^<]+)</strong>, until ([^<]+)</p>', page)
    assert now is not None
    assert now.group(1) in ("Alice Martin", "Bob Stone", "Carol Diaz")
    handovers = re.findall(r'<span class="when">([^<]+)</span>', page)
    assert len(handovers) == 14  # a daily rotation: one hand-over a day for two weeks
    assert handovers[0] == now.group(2)
    assert all(h.endswith(("CET", "CEST")) and "09:00" in h for h in handovers)


def test_rules_show_their_clauses_and_counts(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-rules"))
    with client(console) as http:
        sign_in(http)
        page = http.get("/ui/rules").text
    assert 'id="rule-critical_safety_event"' in page and 'id="rule-speeding"' in page
    assert "type == &#34;safety_event&#34; and severity == &#34;critical&#34;" in page
    assert "<code>1s by vehicle_id</code>" in page
    section = page[page.index('id="rule-critical_safety_event"') : page.index('id="rule-speeding"')]
    fired = re.search(r"fired <strong>(\d+)</strong>", section)
    assert fired is not None and int(fired.group(1)) >= 1
    assert f'last fired <a href="/ui/alerts/{alert_id}">' in section
