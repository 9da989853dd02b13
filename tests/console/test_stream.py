"""GET /v1/alerts/stream (admin token) and /ui/stream (a console session) against a real
`alertd run`: every alert change, in order, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN, INGEST, Alertd
from tests.sse import events

from .conftest import client, critical, csrf_of, post_event, sign_in, start, write_console_setup

pytestmark = pytest.mark.e2e


def test_the_stream_sends_each_change_and_resumes_after_the_last_id(console: Alertd) -> None:
    with httpx.Client(base_url=console.url, headers=ADMIN, timeout=10) as http:
        with http.stream("GET", "/v1/alerts/stream") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = events(stream.iter_lines())
            ready = next(received)
            assert ready["event"] == "ready"
            assert ready["data"] == {"cursor": int(ready["id"]), "complete": True}
            fired = post_event(console, critical("v-stream-1"))
            change = next(received)
        assert change["event"] == "alert"
        assert int(change["id"]) > int(ready["id"])
        assert change["data"]["change"] == "fired"
        assert change["data"]["alert"]["id"] == fired
        assert change["data"]["alert"]["status"] == "firing"
        # Away from the stream: an ack and a second alert happen, then we come back.
        acked = http.post(f"/v1/alerts/{fired}/ack", json={"by": "ops"})
        assert acked.status_code == 200
        second = post_event(console, critical("v-stream-2"))
        with http.stream(
            "GET", "/v1/alerts/stream", headers={"Last-Event-ID": change["id"]}
        ) as stream:
            received = events(stream.iter_lines())
            assert next(received)["id"] == change["id"]  # ready: resumed where we were
            missed = [next(received), next(received)]
    assert [(m["data"]["change"], m["data"]["alert"]["id"]) for m in missed] == [
        ("acked", fired),
        ("fired", second),
    ]
    assert missed[0]["data"]["alert"]["acked_by"] == "ops"


def test_after_starts_from_a_cursor_and_a_bad_one_is_refused(console: Alertd) -> None:
    post_event(console, critical("v-stream-3"))
    with httpx.Client(base_url=console.url, headers=ADMIN, timeout=10) as http:
        with http.stream("GET", "/v1/alerts/stream", params={"after": "0"}) as stream:
            received = events(stream.iter_lines())
            assert next(received)["data"] == {"cursor": 0, "complete": True}
            first = next(received)
        assert (first["id"], first["data"]["change"]) == ("1", "fired")
        for bad in ({"after": "-1"}, {"after": "x"}, {"after": ["1", "2"]}, {"since": "1"}):
            assert http.get("/v1/alerts/stream", params=bad).status_code == 400
        assert http.get("/v1/alerts/stream", headers={"Last-Event-ID": "1e3"}).status_code == 400


def test_the_stream_needs_an_admin_token(console: Alertd) -> None:
    assert httpx.get(f"{console.url}/v1/alerts/stream", timeout=10).status_code == 401
    assert (
        httpx.get(f"{console.url}/v1/alerts/stream", headers=INGEST, timeout=10).status_code == 403
    )


def test_the_console_follows_the_same_stream_with_its_session(console: Alertd) -> None:
    with client(console) as http:
        assert http.get("/ui/stream").status_code == 303  # no session: sign in first
        sign_in(http)
        alert_id = post_event(console, critical("v-stream-ui"))
        with http.stream("GET", "/ui/stream", params={"after": "0"}) as stream:
            assert stream.status_code == 200
            assert "default-src 'none'" in stream.headers["content-security-policy"]
            found = list(_until_alert(events(stream.iter_lines()), alert_id))
        assert found[-1]["data"]["alert"]["id"] == alert_id
        page = http.get(f"/ui/alerts/{alert_id}").text
        http.post(f"/ui/alerts/{alert_id}/ack", data={"csrf": csrf_of(page)})
        with http.stream("GET", "/ui/stream", headers={"Last-Event-ID": found[-1]["id"]}) as s:
            received = events(s.iter_lines())
            next(received)
            acked = next(received)
    assert (acked["data"]["change"], acked["data"]["alert"]["acked_by"]) == ("acked", "alice")


def _until_alert(received: Iterator[dict[str, Any]], alert_id: str) -> Iterator[dict[str, Any]]:
    for event in received:
        yield event
        if event["event"] == "alert" and event["data"]["alert"]["id"] == alert_id:
            return


def test_a_shutdown_ends_the_streams_instead_of_waiting_for_them(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A stream never ends by itself: were it not closed, SIGTERM would wait the whole
    shutdown_grace (60 s here) for it, and `wait` below would give up first."""
    home = tmp_path_factory.mktemp("shutdown")
    write_console_setup(home, shutdown_grace="60s")
    daemon = start(home)
    try:
        with (
            httpx.Client(base_url=daemon.url, headers=ADMIN, timeout=30) as http,
            http.stream("GET", "/v1/alerts/stream") as stream,
        ):
            received = events(stream.iter_lines())
            assert next(received)["event"] == "ready"
            daemon.send_signal(signal.SIGTERM)
            assert list(received) == []  # the stream ended, with nothing more
        with ThreadPoolExecutor(1) as thread:
            assert thread.submit(asyncio.run, daemon.wait(timeout=20)).result() == 0
    finally:
        daemon.kill()
