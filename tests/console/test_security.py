"""The console's defences, judged over plain HTTP against a real `alertd run`: sign-in before
anything, escaped event text, the Content-Security-Policy, cookie flags, CSRF tokens, and
sign-in rate limits."""

from __future__ import annotations

import re

import httpx
import pytest

from alertd.console.routing import ROUTES
from tests.e2e.conftest import ADMIN_TOKEN, Alertd

from .conftest import (
    CHEAP,
    PASSWORD,
    api_alert,
    client,
    critical,
    csrf_of,
    post_event,
    sign_in,
    start,
    write_console_setup,
    write_oncall,
)

pytestmark = pytest.mark.e2e

SCRIPT = '<script>alert("owned")</script>'
IMAGE = "<img src=x onerror=alert(1)>"


def concrete(path: str, alert_id: str) -> str:
    return path.replace("{id}", alert_id).replace("{action}", "ack")


def test_every_page_but_sign_in_sends_the_signed_out_to_sign_in(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-signed-out"))
    pages = [r.path for r in ROUTES if r.method == "GET" and not r.public]
    assert {"/ui/alerts", "/ui/alerts/{id}", "/ui/oncall", "/ui/rules", "/ui/stream"} <= set(pages)
    with client(console) as http:
        for path in pages:
            answer = http.get(concrete(path, alert_id) + "?status=firing")
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/ui/signin?next=%2Fui%2F"), path
            assert alert_id not in answer.text
        assert http.get("/ui/").headers["location"] == "/ui/signin"
        assert http.get("/ui/signin").status_code == 200
        for route in (r for r in ROUTES if r.method == "POST" and not r.public):
            assert http.post(concrete(route.path, alert_id), data={}).status_code == 403
    assert api_alert(console, alert_id)["status"] == "firing"


def test_event_text_with_html_and_script_is_shown_escaped_everywhere(console: Alertd) -> None:
    event = critical(f"v-{SCRIPT}", driver_id=IMAGE, note={"deep": SCRIPT})
    alert_id = post_event(console, event)
    pages = [
        "/ui/alerts",
        "/ui/alerts/list",
        f"/ui/alerts/{alert_id}",
        f"/ui/alerts/{alert_id}/live",
        "/ui/rules",
        "/ui/alerts?" + httpx.QueryParams({"match": f"vehicle_id=v-{SCRIPT}"}).__str__(),
        "/ui/alerts?" + httpx.QueryParams({"rule": SCRIPT, "match": f"{IMAGE}=1"}).__str__(),
    ]
    with client(console) as http:
        sign_in(http)
        for path in pages:
            answer = http.get(path)
            assert answer.status_code in (200, 400), path
            assert "<script>alert" not in answer.text, path
            assert "<img src=x" not in answer.text, path
        listed = http.get("/ui/alerts").text
        assert "v-&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in listed
        detail = http.get(f"/ui/alerts/{alert_id}").text
        assert "&lt;img src=x onerror=alert(1)&gt;" in detail
        filtered = http.get("/ui/alerts", params={"match": f"vehicle_id=v-{SCRIPT}"}).text
        assert f'data-id="{alert_id}"' in filtered  # the filter found it, and echoed it escaped


def test_every_answer_carries_the_content_security_policy(console: Alertd) -> None:
    with client(console) as http:
        answers = [http.get("/ui/signin"), http.get("/ui/alerts"), http.get("/ui/nothing-here")]
        sign_in(http)
        answers += [http.get(path) for path in ("/ui/alerts", "/ui/oncall", "/ui/rules")]
        css = re.search(r'href="(/ui/static/console\.css\?v=\w+)"', answers[-1].text)
        assert css is not None
        answers.append(http.get(css.group(1)))
    for answer in answers:
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert answers[2].status_code == 404
    assert answers[-1].headers["content-type"].startswith("text/css")


def test_pages_have_no_inline_script_or_style(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        alert_id = post_event(console, critical("v-inline"))
        for path in ("/ui/alerts", f"/ui/alerts/{alert_id}", "/ui/oncall", "/ui/rules"):
            html = http.get(path).text
            assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], path
            assert "<style" not in html and " style=" not in html, path
            assert re.search(r"\son[a-z]+=", html) is None, path


def cookie_flags(answer: httpx.Response) -> set[str]:
    session = [v for v in answer.headers.get_list("set-cookie") if v.startswith("alertd_session=")]
    assert len(session) == 1, answer.headers
    return {flag.strip() for flag in session[0].split(";")[1:]}


def test_the_session_cookie_is_httponly_strict_and_expiring(console: Alertd) -> None:
    with client(console) as http:
        answer = sign_in(http)
    assert answer.status_code == 303
    flags = cookie_flags(answer)
    assert {"HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=604800"} <= flags
    assert "Secure" not in flags  # public_url is not https here: a Secure cookie would be lost


def test_the_session_cookie_is_secure_when_public_url_is_https(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("https")
    write_console_setup(home, public_url="https://alertd.example.com")
    daemon = start(home)
    try:
        with client(daemon) as http:
            form = http.get("/ui/signin")
            signin_cookie = form.headers["set-cookie"]
            assert "Secure" in signin_cookie.split("; ")
            # httpx, like a browser, keeps a Secure cookie from plain http: send it by hand
            answer = http.post(
                "/ui/signin",
                data={"csrf": csrf_of(form.text), "method": "password", "name": "alice"}
                | {"password": PASSWORD},
                headers={"Cookie": signin_cookie.partition(";")[0]},
            )
            assert "Secure" in cookie_flags(answer)
    finally:
        daemon.kill()


def test_a_form_without_its_csrf_token_is_refused(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-csrf"))
    with client(console) as http:
        sign_in(http)
        page = http.get(f"/ui/alerts/{alert_id}").text
        for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
            refused = http.post(f"/ui/alerts/{alert_id}/ack", data=data)
            assert refused.status_code == 403
            assert "not sent from this console" in refused.text
        assert api_alert(console, alert_id)["status"] == "firing"
        done = http.post(f"/ui/alerts/{alert_id}/ack", data={"csrf": csrf_of(page)})
        assert done.status_code == 303
    assert api_alert(console, alert_id)["acked_by"] == "alice"
    with client(console) as fresh:  # the sign-in form needs its own token too
        refused = fresh.post(
            "/ui/signin", data={"method": "password", "name": "alice", "password": PASSWORD}
        )
        assert refused.status_code == 403
        assert "alertd_session" not in refused.headers.get("set-cookie", "")


def test_a_token_from_another_session_does_not_do(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-other-session"))
    with client(console) as alice, client(console) as bob:
        sign_in(alice)
        sign_in(bob, "bob", "bob-password-1")
        alices_token = csrf_of(alice.get(f"/ui/alerts/{alert_id}").text)
        assert (
            bob.post(f"/ui/alerts/{alert_id}/ack", data={"csrf": alices_token}).status_code == 403
        )


def test_sign_in_attempts_are_limited_per_name(console: Alertd) -> None:
    with client(console) as http:
        for _ in range(5):
            assert sign_in(http, "carol", "wrong-password").status_code == 401
        refused = sign_in(http, "carol", "wrong-password")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in refused.text


def test_a_wrong_password_or_name_says_the_same(console: Alertd) -> None:
    with client(console) as http:
        wrong_password = sign_in(http, "bob", "not-bobs-password")
        no_such_person = sign_in(http, "nobody-at-all", "not-bobs-password")
    assert wrong_password.status_code == no_such_person.status_code == 401
    for answer in (wrong_password, no_such_person):
        assert "Wrong name or password." in answer.text
        assert "alertd_session" not in answer.headers.get("set-cookie", "")


def test_an_admin_token_signs_in_and_acts_by_the_name_given(console: Alertd) -> None:
    alert_id = post_event(console, critical("v-token"))
    with client(console) as http:
        form = http.get("/ui/signin").text
        wrong = http.post(
            "/ui/signin", data={"csrf": csrf_of(form), "method": "token", "token": "nope"}
        )
        assert wrong.status_code == 401
        signed = http.post(
            "/ui/signin",
            data={"csrf": csrf_of(form), "method": "token", "token": ADMIN_TOKEN, "name": "Dana"},
        )
        assert signed.status_code == 303
        page = http.get(f"/ui/alerts/{alert_id}").text
        http.post(f"/ui/alerts/{alert_id}/ack", data={"csrf": csrf_of(page)})
    assert api_alert(console, alert_id)["acked_by"] == "Dana"


def test_a_new_password_ends_the_sessions_of_the_old_one(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("rotate")
    write_console_setup(home)
    daemon = start(home)
    try:
        with client(daemon) as http:
            sign_in(http)
            assert http.get("/ui/alerts").status_code == 200
            write_oncall(home, CHEAP.hash("a new password"), CHEAP.hash("bob-password-1"))
            assert http.get("/ui/alerts").status_code == 303
            assert sign_in(http, "alice", "a new password").status_code == 303
            assert http.get("/ui/alerts").status_code == 200
    finally:
        daemon.kill()


def test_a_session_outlives_a_restart_of_the_daemon(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The secret sessions are signed with is kept in the state folder, so a restart (or a
    kill -9) signs nobody out."""
    home = tmp_path_factory.mktemp("restart")
    write_console_setup(home)
    daemon = start(home)
    try:
        with client(daemon) as http:
            sign_in(http)
            cookie = http.cookies["alertd_session"]
        secret = (home / "var" / "session-secret").read_bytes()
        daemon.kill()
        daemon = start(home)
        assert (home / "var" / "session-secret").read_bytes() == secret
        with client(daemon) as http:
            http.cookies.set("alertd_session", cookie, path="/ui")
            assert http.get("/ui/alerts").status_code == 200
    finally:
        daemon.kill()


def test_signing_out_ends_the_session_in_that_browser(console: Alertd) -> None:
    with client(console) as http:
        sign_in(http)
        page = http.get("/ui/alerts").text
        out = http.post("/ui/signout", data={"csrf": csrf_of(page)})
        assert out.status_code == 303
        assert "Max-Age=0" in out.headers["set-cookie"]
        assert http.get("/ui/alerts").status_code == 303
