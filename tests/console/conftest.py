"""A real `alertd run` for the console's tests: a dry-run config, an on-call file with people
who have passwords, and plain-HTTP helpers to sign in and read pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from tests.e2e.conftest import ADMIN, ADMIN_TOKEN, INGEST, INGEST_TOKEN, REPO, Alertd

PASSWORD = "alice-password-1"
# Hashes as cheap as argon2 allows: checking one reads its cost from the hash itself, so the
# console checks these in microseconds, not the most of a second `alertd passwd`'s take.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

RULES = """\
rule critical_safety_event {
  name     "Critical Safety Event"
  when     type == "safety_event" and severity == "critical"
  priority urgent
  suppress 1s by vehicle_id
  notify   webhook
}

rule speeding {
  name     "Speeding"
  when     type == "location_update" and speed_kmh > 120
  priority medium
  notify   slack
}
"""

ONCALL = """\
[people.alice]
name = "Alice Martin"
password_hash = "{alice}"
email = "alice@example.com"

[people.bob]
name = "Bob Stone"
password_hash = "{bob}"
email = "bob@example.com"

[people.carol]
name = "Carol Diaz"
email = "carol@example.com"

[schedules.fleet_ops]
time_zone = "Europe/Amsterdam"

[[schedules.fleet_ops.rotations]]
members = ["alice", "bob", "carol"]
shift = "1d"
start = "2026-01-05T09:00"
"""


def write_console_setup(home: Path, public_url: str = "", shutdown_grace: str = "5s") -> None:
    (home / "rules").mkdir(parents=True, exist_ok=True)
    (home / "rules" / "fleet.rules").write_text(RULES)
    write_oncall(home, CHEAP.hash(PASSWORD), CHEAP.hash("bob-password-1"))
    (home / "alertd.toml").write_text(
        f"""[server]
listen = "127.0.0.1:0"
ingest_tokens = ["{INGEST_TOKEN}"]
admin_tokens = ["{ADMIN_TOKEN}"]
public_url = "{public_url}"
shutdown_grace = "{shutdown_grace}"

[rules]
paths = ["rules"]
templates = "{REPO / "templates"}"

[state]
path = "var/alertd.db"

[dispatch]
dry_run = true

[oncall]
path = "oncall.toml"

[channels.webhook]
url = "https://ops.example.com/hooks/alertd"

[channels.slack]
token = "xoxb-not-used-in-a-dry-run"
channel = "#fleet-alerts"
"""
    )


def write_oncall(home: Path, alice: str, bob: str) -> None:
    (home / "oncall.toml").write_text(ONCALL.format(alice=alice, bob=bob))


def start(home: Path) -> Alertd:
    """`alertd run` in `home`, listening. Started from a thread of its own, whose event loop is
    its own: Playwright's sync API keeps one running in the main thread."""
    daemon = Alertd(home)
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, daemon.start()).result()
    return daemon


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertd]:
    """One daemon for a module's tests (each starts its own browser context or client)."""
    home = tmp_path_factory.mktemp("console")
    write_console_setup(home)
    daemon = start(home)
    try:
        yield daemon
    finally:
        daemon.kill()


def client(daemon: Alertd) -> httpx.Client:
    return httpx.Client(base_url=daemon.url, timeout=10, follow_redirects=False)


CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html
    return found.group(1)


def sign_in(http: httpx.Client, name: str = "alice", password: str = PASSWORD) -> httpx.Response:
    form = http.get("/ui/signin")
    return http.post(
        "/ui/signin",
        data={"csrf": csrf_of(form.text), "method": "password", "name": name, "password": password},
    )


def post_event(daemon: Alertd, event: dict[str, Any]) -> str:
    """POST one event; the id of the alert it fired."""
    answer = httpx.post(f"{daemon.url}/v1/events", json=event, headers=INGEST, timeout=10)
    assert answer.status_code == 202, answer.text
    alerts: list[str] = answer.json()["alerts"]
    assert len(alerts) == 1, answer.text
    return alerts[0]


def api_alert(daemon: Alertd, alert_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{daemon.url}/v1/alerts/{alert_id}", headers=ADMIN, timeout=10)
    assert answer.status_code == 200, answer.text
    alert: dict[str, Any] = answer.json()
    return alert


def critical(vehicle_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "safety_event", "severity": "critical", "vehicle_id": vehicle_id, **fields}


def stamped(vehicle_id: str, seconds: float = 0, **fields: Any) -> dict[str, Any]:
    """A critical event stamped `seconds` after now: the rule suppresses repeats of a vehicle
    for 1s of event time, so two events 5s apart both fire, however fast they are sent."""
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return critical(vehicle_id, timestamp=at.isoformat(), **fields)
