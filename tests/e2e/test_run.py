"""`alertd run` end to end: a real process, real HTTP, a real SQLite file, a real webhook
receiver; events in, notifications out, and nothing lost to bad input, bad rules or kill -9."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ..openapi_contract import assert_answer_documented
from ..waiting import eventually, until
from .conftest import (
    ADMIN,
    CRITICAL,
    INGEST,
    REPO,
    RULES,
    Alertd,
    Receiver,
    recorded_sent,
    write_setup,
)

pytestmark = pytest.mark.e2e


async def test_an_event_in_a_signed_notification_out(alertd: Alertd, receiver: Receiver) -> None:
    async with alertd.client() as client:
        response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        assert response.status_code == 202
        (alert_id,) = response.json()["alerts"]

        (notification,) = await receiver.wait_for(1)
        assert notification["body"]["alert_id"] == alert_id
        assert notification["body"]["event"]["vehicle_id"] == "v-1042"
        assert notification["headers"]["idempotency-key"].startswith(alert_id)

        # The dispatcher records "sent" just after the receiver answers.
        await eventually(lambda: recorded_sent(alertd, [alert_id]), "the page recorded sent")
        detail = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
        assert_answer_documented("GET", "/v1/alerts/{id}", detail)
        (state,) = detail.json()["notifications"]
        assert (state["channel"], state["state"], state["attempts"]) == ("webhook", "sent", 1)

        listing = await client.get(
            "/v1/alerts", params={"rule": "critical_safety_event"}, headers=ADMIN
        )
        assert_answer_documented("GET", "/v1/alerts", listing)
        assert [a["id"] for a in listing.json()["alerts"]] == [alert_id]

        metrics = (await client.get("/metrics")).text
        for line in [
            "alertd_events_received_total 1.0",
            'alertd_rule_decisions_total{decision="fired",rule="critical_safety_event"} 1.0',
            'alertd_notifications_total{channel="webhook",outcome="sent"} 1.0',
            'alertd_delivery_latency_seconds_count{channel="webhook"} 1.0',
            "alertd_outbox_pending 0.0",
            "alertd_last_reload_successful 1.0",
        ]:
            assert line in metrics, line

        acked = await client.post(f"/v1/alerts/{alert_id}/ack", json={"by": "ops"}, headers=ADMIN)
        assert_answer_documented("POST", "/v1/alerts/{id}/ack", acked)
        assert acked.json()["status"] == "acked"

    fired = [line for line in alertd.log() if line.get("msg") == "alert fired"]
    assert [line["alert_id"] for line in fired] == [alert_id]
    assert any(line.get("outcome") == "sent" for line in alertd.log())  # per delivery attempt
    assert "e2e-" not in alertd.log_text()  # no token or secret in any log line


async def test_bad_requests_get_clear_answers_and_change_nothing(alertd: Alertd) -> None:
    async with alertd.client() as client:
        cases = [
            (await client.post("/v1/events", json=CRITICAL), 401),
            (await client.get("/v1/alerts", headers=INGEST), 403),
            (
                await client.post(
                    "/v1/events",
                    content=b"[{",
                    headers={**INGEST, "Content-Type": "application/json"},
                ),
                400,
            ),
            (
                await client.post(
                    "/v1/events", json=[CRITICAL, {**CRITICAL, "timestamp": "soon"}], headers=INGEST
                ),
                400,
            ),
            (await client.post("/v1/events", json=[CRITICAL] * 1000, headers=INGEST), 413),
            (
                await client.post(
                    "/v1/events", content=b"x", headers={**INGEST, "Content-Type": "text/plain"}
                ),
                415,
            ),
            (await client.get("/v1/alerts", params={"cursor": "zzz"}, headers=ADMIN), 400),
            *[  # were 500: the store cannot place such a time among alert ids
                (await client.get("/v1/alerts", params={"since": since}, headers=ADMIN), 400)
                for since in ["nan", "inf", "1e300"]
            ],
        ]
        for response, status in cases:
            assert response.status_code == status, response.text
            assert_answer_documented(response.request.method, response.request.url.path, response)
        assert cases[3][0].json()["details"][0]["index"] == 1

        (alertd.rules_dir / "safety.rules").write_text(
            RULES.replace("severity ==", "severity == (", 1)
        )
        reload = await client.post("/v1/reload", headers=ADMIN)
        assert reload.status_code == 422
        assert_answer_documented("POST", "/v1/reload", reload)
        assert reload.json()["details"][0]["text"].startswith("rules/safety.rules:4:3: error: ")

        alerts = await client.get("/v1/alerts", headers=ADMIN)
        assert alerts.json()["alerts"] == []


async def test_kill_9_while_the_receiver_fails_loses_nothing_and_keeps_windows(
    alertd: Alertd, receiver: Receiver
) -> None:
    receiver.status = 500
    async with alertd.client() as client:
        response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        (alert_id,) = response.json()["alerts"]
    await until(lambda: receiver.refused >= 2, "delivery to be tried, and retried")

    alertd.kill()  # SIGKILL: no shutdown, no drain
    receiver.status = 200
    await alertd.start()

    # Delivered by the restarted daemon: recorded sent. (The receiver's count says less: an
    # attempt the killed one had under way may still be read, and now answered 200.)
    await eventually(lambda: recorded_sent(alertd, [alert_id]), "the page delivered at last")
    assert {n["body"]["alert_id"] for n in receiver.received} == {alert_id}
    async with alertd.client() as client:
        again = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        assert again.status_code == 202
        assert again.json()["alerts"] == []  # still inside the 5 minute suppression window
        listing = await client.get("/v1/alerts", headers=ADMIN)
        assert [a["id"] for a in listing.json()["alerts"]] == [alert_id]


async def test_sighup_with_a_broken_rule_file_keeps_the_old_rules(
    alertd: Alertd, receiver: Receiver
) -> None:
    broken = RULES.replace("priority urgent", "priority urgnet")
    (alertd.rules_dir / "safety.rules").write_text(broken)
    alertd.send_signal(signal.SIGHUP)
    failed = await alertd.wait_for_log("reload failed; the previous rules keep running")
    assert failed["errors"] == [
        "rules/safety.rules:4:12: error: unknown priority 'urgnet'\nhint: did you mean 'urgent'?"
    ]

    async with alertd.client() as client:
        metrics = (await client.get("/metrics")).text
        assert "alertd_last_reload_successful 0.0" in metrics
        assert 'alertd_rule_reloads_total{result="failure"} 1.0' in metrics
        response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        assert len(response.json()["alerts"]) == 1  # the old rules still run

        breakdown = """
rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  priority high
  notify   webhook
}
"""
        (alertd.rules_dir / "safety.rules").write_text(RULES + breakdown)
        alertd.send_signal(signal.SIGHUP)
        await alertd.wait_for_log("rules reloaded")
        rules = (await client.get("/v1/rules", headers=ADMIN)).json()["rules"]
        assert [r["id"] for r in rules] == ["critical_safety_event", "breakdown"]
        response = await client.post(
            "/v1/events", json={"type": "breakdown", "vehicle_id": "v-9"}, headers=INGEST
        )
        assert len(response.json()["alerts"]) == 1
        again = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        assert again.json()["alerts"] == []  # the surviving rule kept its suppression window
    await receiver.wait_for(2)


async def test_sigterm_drains_what_is_in_flight_then_exits_0(
    alertd: Alertd, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()  # the receiver holds its answers: sends are in flight
    async with alertd.client() as client:
        events = [{**CRITICAL, "vehicle_id": f"v-{i}"} for i in range(3)]
        response = await client.post("/v1/events", json=events, headers=INGEST)
        assert len(response.json()["alerts"]) == 3
    await until(lambda: receiver.arrivals >= 1, "a notification to be in flight")
    alertd.send_signal(signal.SIGTERM)
    await alertd.wait_for_log("draining notifications")
    receiver.gate.set()
    assert await alertd.wait() == 0
    assert len(receiver.received) == 3
    stopped = [line for line in alertd.log() if line.get("msg") == "stopped"]
    assert stopped[-1]["pending"] == 0


async def test_sigterm_turns_readyz_503_and_keeps_taking_events_for_the_shutdown_delay(
    tmp_path: Path, receiver: Receiver
) -> None:
    write_setup(tmp_path, receiver.url, shutdown_delay="3s")
    alertd = Alertd(tmp_path)
    await alertd.start()
    try:
        async with alertd.client() as client:
            assert (await client.get("/readyz")).status_code == 200
            alertd.send_signal(signal.SIGTERM)
            for _ in range(100):  # what a load balancer's health check sees
                ready = await client.get("/readyz")
                if ready.status_code == 503:
                    break
                await asyncio.sleep(0.01)
            assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
            late = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
            assert late.status_code == 202  # still served: the balancer may not have noticed
            (alert_id,) = late.json()["alerts"]
        assert await alertd.wait() == 0
        (notification,) = await receiver.wait_for(1)
        assert notification["body"]["alert_id"] == alert_id
        steps = [line["msg"] for line in alertd.log() if line["msg"].startswith("shutting down")]
        assert steps == [
            "shutting down: /readyz answers 503; still taking events for the shutdown delay",
            "shutting down: intake stopped, finishing requests in flight",
        ]
    finally:
        alertd.kill()


async def test_what_the_drain_cannot_deliver_stays_pending_for_the_next_start(
    tmp_path: Path, receiver: Receiver
) -> None:
    write_setup(tmp_path, receiver.url, shutdown_grace="1s")
    alertd = Alertd(tmp_path)
    await alertd.start()
    try:
        receiver.status = 503
        async with alertd.client() as client:
            await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        alertd.send_signal(signal.SIGTERM)
        assert await alertd.wait() == 0
        assert [line for line in alertd.log() if line.get("msg") == "stopped"][-1]["pending"] == 1

        receiver.status = 200
        await alertd.start()
        await receiver.wait_for(1)
    finally:
        alertd.kill()


async def test_watched_rule_files_reload_themselves(tmp_path: Path, receiver: Receiver) -> None:
    write_setup(tmp_path, receiver.url, watch=True)
    alertd = Alertd(tmp_path)
    await alertd.start()
    try:
        await alertd.wait_for_log("watching rule and template files")
        (alertd.rules_dir / "safety.rules").write_text(RULES.replace("critical", "high"))
        reloaded = await alertd.wait_for_log("rules reloaded")
        assert reloaded["trigger"] == "watch"
        async with alertd.client() as client:
            response = await client.post(
                "/v1/events", json={**CRITICAL, "severity": "high"}, headers=INGEST
            )
            assert len(response.json()["alerts"]) == 1
    finally:
        alertd.kill()


def readme_example_event() -> dict[str, Any]:
    """The event the README's quickstart sends with curl."""
    found = re.search(r"-d '(\{.*?\})'", (REPO / "README.md").read_text(), re.DOTALL)
    assert found is not None, "the README's curl example has no -d '{...}'"
    event: dict[str, Any] = json.loads(found.group(1))
    return event


def lines_of(alertd: Alertd, logger: str) -> list[dict[str, Any]]:
    return [line for line in alertd.log() if line.get("logger") == logger]


async def test_the_shipped_config_does_what_the_readme_says(tmp_path: Path) -> None:
    """The README quickstart on the shipped alertd.toml: no tokens, dry run, a development token
    printed at start; the example event fires critical_safety_event, which makes six
    notifications (SMS and email to the default and the urgent recipients, Slack, push), each
    logged twice; push has no topic in the shipped file and says so; the same event again is
    suppressed; the alert list has no delivery states, the alert itself has them."""
    for folder in ("rules", "templates"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    shutil.copy(REPO / "oncall.toml", tmp_path / "oncall.toml")
    shipped = (REPO / "alertd.toml").read_text()
    (tmp_path / "alertd.toml").write_text(shipped.replace("127.0.0.1:8080", "127.0.0.1:0"))
    alertd = Alertd(tmp_path)
    await alertd.start()
    try:
        token = (tmp_path / "var" / "dev-token").read_text().strip()
        assert f"development token (ingest and admin): {token}" in alertd.log_text()
        auth = {"Authorization": f"Bearer {token}"}
        async with alertd.client() as client:
            response = await client.post("/v1/events", json=readme_example_event(), headers=auth)
            assert response.status_code == 202
            (alert_id,) = response.json()["alerts"]
            fired = await alertd.wait_for_log("alert fired")
            assert fired["rule"] == "critical_safety_event"
            await until(lambda: len(lines_of(alertd, "alertd.notify")) >= 6, "six deliveries")
            rendered = lines_of(alertd, "alertd.notify.console")
            delivered = lines_of(alertd, "alertd.notify")
            assert len(rendered) == len(delivered) == 6
            channels = [line["msg"].split()[2] for line in rendered]
            assert channels == ["sms", "sms", "email", "email", "slack", "push"]
            assert "push notification" in rendered[-1]["msg"]
            assert "has no recipient configured" in rendered[-1]["msg"]
            assert [line["outcome"] for line in delivered] == ["sent"] * 5 + ["failed"]

            again = await client.post("/v1/events", json=readme_example_event(), headers=auth)
            assert again.json() == {"accepted": 1, "alerts": []}

            listed = (await client.get("/v1/alerts", headers=auth)).json()["alerts"]
            assert [alert["id"] for alert in listed] == [alert_id]
            assert "notifications" not in listed[0]
            states: list[tuple[str, str]] = []
            for _ in range(200):  # each outcome is recorded (a commit) just after it is logged
                one = (await client.get(f"/v1/alerts/{alert_id}", headers=auth)).json()
                states = [(n["channel"], n["state"]) for n in one["notifications"]]
                if all(state != "pending" for _channel, state in states):
                    break
                await asyncio.sleep(0.05)
            assert states == [
                ("sms", "sent"),
                ("sms", "sent"),
                ("email", "sent"),
                ("email", "sent"),
                ("slack", "sent"),
                ("push", "failed"),
            ]
    finally:
        alertd.kill()


async def test_counting_windows_survive_kill_9(alertd: Alertd) -> None:
    (alertd.rules_dir / "count.rules").write_text(
        """rule repeated_harsh_braking {
  name     "Repeated Harsh Braking"
  when     type == "harsh_braking"
  count    3 within 10m by vehicle_id
  priority medium
  notify   webhook
}
"""
    )
    harsh = {"type": "harsh_braking", "vehicle_id": "v-5"}
    async with alertd.client() as client:
        assert (await client.post("/v1/reload", headers=ADMIN)).status_code == 200
        for _ in range(2):
            response = await client.post("/v1/events", json=harsh, headers=INGEST)
            assert response.json()["alerts"] == []  # counting: 1, then 2 of 3

    alertd.kill()
    await alertd.start()

    async with alertd.client() as client:
        response = await client.post("/v1/events", json=harsh, headers=INGEST)
        assert len(response.json()["alerts"]) == 1  # the third, counted across the restart


async def test_webhook_credentials_stay_out_of_the_log_and_the_api(
    tmp_path: Path, receiver: Receiver
) -> None:
    write_setup(tmp_path, receiver.url.replace("://", "://bob:hunter2@") + "?token=abc123")
    alertd = Alertd(tmp_path)
    await alertd.start()
    try:
        receiver.status = 500
        async with alertd.client() as client:
            response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
            (alert_id,) = response.json()["alerts"]
            for _ in range(200):  # until the failed attempt is recorded
                detail = await client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)
                (state,) = detail.json()["notifications"]
                if state["last_error"]:
                    break
                await asyncio.sleep(0.05)
            assert state["recipient"] == receiver.url
            assert state["last_error"].startswith(f"webhook {receiver.url} answered HTTP 500")
            receiver.status = 200
            await receiver.wait_for(1)
        retried = next(line for line in alertd.log() if line.get("outcome") == "retried")
        assert retried["msg"].startswith(
            f"webhook notification {alert_id}.1 to '{receiver.url}' failed (attempt 1)"
        )
        assert retried["msg"].endswith(f"webhook {receiver.url} answered HTTP 500: {{}}")
        assert "hunter2" not in alertd.log_text() and "abc123" not in alertd.log_text()
    finally:
        alertd.kill()


async def test_a_body_far_over_the_limit_gets_a_readable_413_not_a_reset(alertd: Alertd) -> None:
    """urllib sends `Connection: close` and the whole body before it reads the answer: the
    daemon must take the body in (and drop it) to be heard, not close on unread data."""
    body = b"[" + b" " * (40 * 1024 * 1024) + b"]"  # 40 MiB; the limit here is 100 kB

    def post() -> tuple[int, object]:
        request = urllib.request.Request(
            f"{alertd.url}/v1/events",
            data=body,
            headers={**INGEST, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    status, answer = await asyncio.to_thread(post)
    assert (status, answer) == (413, {"error": "request body exceeds 100000 bytes", "details": []})
    async with alertd.client() as client:  # and the daemon serves on
        response = await client.post("/v1/events", json=CRITICAL, headers=INGEST)
        assert response.status_code == 202
