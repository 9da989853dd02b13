"""The silences API over HTTP: make one (201 and its id; 400 with every problem), list them by
state, read one, expire one (and again: nothing changes), a maintenance window listed beside
them and refused an expire; every answer as openapi.yaml documents it."""

from __future__ import annotations

from typing import Any

import httpx

from alertd.clock import FakeClock
from alertd.oncall import parse_oncall
from tests.notify.conftest import make_settings
from tests.openapi_contract import assert_answer_documented

from .conftest import ADMIN, INGEST, Served, ServeFactory, silences_in_memory

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z (the fake clock's start)
REQUEST: dict[str, Any] = {
    "matchers": [
        {"name": "vehicle_id", "value": "v-9"},
        {"name": "rule", "value": "speeding", "equal": False},
    ],
    "ends_at": "2026-01-01T02:00:00Z",
    "created_by": "alice",
    "comment": "v-9 is in the workshop",
}


async def create(client: httpx.AsyncClient, **changes: Any) -> httpx.Response:
    response = await client.post("/v1/silences", json={**REQUEST, **changes}, headers=ADMIN)
    assert_answer_documented("POST", "/v1/silences", response)
    return response


async def test_a_silence_is_made_and_read_back(serve: ServeFactory) -> None:
    async with serve(clock=FakeClock(NOW)) as served:
        made = await create(served.client)
        assert made.status_code == 201
        silence_id = made.json()["id"]
        assert made.json() == {"id": silence_id}
        assert made.headers["location"] == f"/v1/silences/{silence_id}"
        got = await served.client.get(f"/v1/silences/{silence_id}", headers=ADMIN)
        assert_answer_documented("GET", "/v1/silences/{id}", got)
    assert got.status_code == 200
    assert got.json() == {
        "id": silence_id,
        "kind": "silence",
        "state": "active",
        "matchers": [
            {"name": "vehicle_id", "value": "v-9", "regex": False, "equal": True},
            {"name": "rule", "value": "speeding", "regex": False, "equal": False},
        ],
        "starts_at": "2026-01-01T00:00:00.000Z",
        "ends_at": "2026-01-01T02:00:00.000Z",
        "created_by": "alice",
        "created_via": "api",
        "comment": "v-9 is in the workshop",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "recurs": None,
    }


async def test_a_bad_silence_is_400_with_every_problem(served: Served) -> None:
    response = await create(
        served.client,
        matchers=[{"name": "vehicle_id", "value": "(v-9", "regex": True}],
        ends_at="2020-01-01T00:00:00Z",
        comment="",
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "the silence is invalid; nothing was stored",
        "details": [
            {
                "field": "matchers[0].value",
                "error": "invalid regular expression: missing ): (v-9",
            },
            {"field": "ends_at", "error": "is not in the future: the silence would be over"},
            {
                "field": "comment",
                "error": "is required: a non-empty string saying why, for whoever reads it",
            },
        ],
    }
    listed = await served.client.get("/v1/silences", headers=ADMIN)
    assert listed.json() == {"silences": []}


async def test_what_is_not_a_silence_at_all(served: Served) -> None:
    client = served.client
    as_text = await client.post("/v1/silences", content=b"x", headers=ADMIN)
    assert as_text.status_code == 415
    assert 'send application/json, {"matchers": [' in as_text.json()["error"]
    broken = await client.post(
        "/v1/silences",
        content=b'{"matchers": [',
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json()["details"] == []
    listed = await client.post("/v1/silences", json=[REQUEST], headers=ADMIN)
    assert listed.status_code == 400
    assert listed.json()["error"].startswith("expected a JSON object: ")
    for response, method in ((as_text, "POST"), (broken, "POST"), (listed, "POST")):
        assert_answer_documented(method, "/v1/silences", response)


async def test_listing_by_state(serve: ServeFactory) -> None:
    clock = FakeClock(NOW)
    async with serve(clock=clock) as served:
        client = served.client
        active = (await create(client)).json()["id"]
        pending = (await create(client, starts_at="2026-01-01T01:00:00Z")).json()["id"]
        over = (await create(client, ends_at="2026-01-01T00:10:00Z")).json()["id"]
        clock.advance(15 * 60)
        every = await client.get("/v1/silences", headers=ADMIN)
        assert_answer_documented("GET", "/v1/silences", every)
        assert [(s["id"], s["state"]) for s in every.json()["silences"]] == [
            (active, "active"),
            (pending, "pending"),
            (over, "expired"),
        ]
        only = await client.get("/v1/silences", params={"state": "pending"}, headers=ADMIN)
        assert [s["id"] for s in only.json()["silences"]] == [pending]
        for query, error in (
            ({"state": "over"}, "expected one of active, pending, expired"),
            ({"stat": "active"}, "(did you mean 'state'?); known: state"),
            ({"state": ""}, "expected a value (leave the parameter out for no filter)"),
        ):
            refused = await client.get("/v1/silences", params=query, headers=ADMIN)
            assert refused.status_code == 400
            assert refused.json()["error"].endswith(error)
            assert_answer_documented("GET", "/v1/silences", refused)


async def test_expiring_a_silence(serve: ServeFactory) -> None:
    clock = FakeClock(NOW)
    async with serve(clock=clock) as served:
        client = served.client
        silence_id = (await create(client)).json()["id"]
        clock.advance(60)
        expired = await client.delete(f"/v1/silences/{silence_id}", headers=ADMIN)
        assert_answer_documented("DELETE", "/v1/silences/{id}", expired)
        assert expired.status_code == 200
        body = expired.json()
        assert (body["state"], body["ends_at"], body["changed"], body["message"]) == (
            "expired",
            "2026-01-01T00:01:00.000Z",
            True,
            "expired",
        )
        clock.advance(60)
        again = await client.delete(f"/v1/silences/{silence_id}", headers=ADMIN)
        assert again.status_code == 200
        assert (again.json()["changed"], again.json()["message"]) == (
            False,
            "already expired at 2026-01-01T00:01:00.000Z; nothing changed",
        )
        # Still readable, as expired, until retention deletes it.
        got = await client.get(f"/v1/silences/{silence_id}", headers=ADMIN)
        assert got.json()["state"] == "expired"
        for method in ("GET", "DELETE"):
            missing = await client.request(
                method, "/v1/silences/01KNOSUCH00000000000000000", headers=ADMIN
            )
            assert (missing.status_code, missing.json()["error"]) == (404, "no such silence")
            assert_answer_documented(method, "/v1/silences/{id}", missing)


async def test_maintenance_windows_are_listed_and_cannot_be_expired(
    serve: ServeFactory, tmp_path: Any
) -> None:
    text = """
[maintenance.north_depot]
time_zone = "UTC"
window = "00:00-06:00"
matchers = [{name = "depot", value = "north"}]
comment = "nightly service"
"""
    oncall, errors = parse_oncall(text, "/etc/alertd/oncall.toml", make_settings(tmp_path))
    assert errors == []
    async with serve(clock=FakeClock(NOW)) as served:
        served.backend.silencing = silences_in_memory(oncall)
        listed = await served.client.get("/v1/silences", headers=ADMIN)
        assert_answer_documented("GET", "/v1/silences", listed)
        [window] = listed.json()["silences"]
        assert window == {
            "id": "maintenance:north_depot",
            "kind": "maintenance",
            "state": "active",
            "matchers": [{"name": "depot", "value": "north", "regex": False, "equal": True}],
            "starts_at": "2026-01-01T00:00:00.000Z",
            "ends_at": "2026-01-01T06:00:00.000Z",
            "created_by": "oncall.toml",
            "created_via": None,
            "comment": "nightly service",
            "created_at": None,
            "updated_at": None,
            "recurs": "every day 00:00-06:00 UTC",
        }
        refused = await served.client.delete("/v1/silences/maintenance:north_depot", headers=ADMIN)
        assert_answer_documented("DELETE", "/v1/silences/{id}", refused)
        assert refused.status_code == 409
        assert refused.json()["error"] == (
            "maintenance:north_depot is a maintenance window of oncall.toml: remove or change "
            "[maintenance.north_depot] there, then reload"
        )


async def test_silences_need_an_admin_token(served: Served) -> None:
    client = served.client
    for method, path in (
        ("POST", "/v1/silences"),
        ("GET", "/v1/silences"),
        ("GET", "/v1/silences/x"),
        ("DELETE", "/v1/silences/x"),
    ):
        anonymous = await client.request(method, path)
        assert anonymous.status_code == 401
        ingest = await client.request(method, path, headers=INGEST)
        assert ingest.status_code == 403
