"""The served OpenAPI description stays true: valid, route for route, and answer for answer."""

from __future__ import annotations

import orjson
from openapi_spec_validator import validate

from alertd.config import ServerSettings
from alertd.server.app import CURSOR, EPOCH_SECONDS, MAX_PAGE, Api, openapi_spec
from alertd.server.auth import Role

from ..openapi_contract import assert_answer_documented
from .conftest import ADMIN, ALERT, INGEST, FakeBackend, Served, ServeFactory

METHODS = {"get", "post", "put", "patch", "delete"}


def test_the_description_is_valid_openapi_3_1() -> None:
    validate(openapi_spec())


def test_every_route_is_described_and_every_described_route_is_served() -> None:
    backend = FakeBackend()
    api = Api(backend, backend, ServerSettings())
    served = {(route.method, route.path) for route in api.routes}
    described = {
        (method.upper(), path)
        for path, operations in openapi_spec()["paths"].items()
        for method in operations
        if method in METHODS
    }
    assert served == described


def test_the_described_security_is_the_enforced_one() -> None:
    spec = openapi_spec()
    expected = {
        None: [],
        Role.INGEST: [{"ingestToken": []}, {"adminToken": []}],
        Role.ADMIN: spec["security"],
    }
    backend = FakeBackend()
    for route in Api(backend, backend, ServerSettings()).routes:
        operation = spec["paths"][route.path][route.method.lower()]
        assert operation.get("security", spec["security"]) == expected[route.role], route.path


async def test_the_served_description_is_the_shipped_one(served: Served) -> None:
    response = await served.client.get("/openapi.json")
    assert orjson.loads(response.content) == openapi_spec()


async def test_answers_match_their_documented_schemas(serve: ServeFactory) -> None:
    async with serve(max_body_bytes=2000) as served:
        client = served.client
        alert_id = ALERT["id"]
        calls = [
            ("POST", "/v1/events", client.post("/v1/events", json={"a": 1}, headers=INGEST)),
            ("POST", "/v1/events", client.post("/v1/events", json=[1], headers=INGEST)),
            ("POST", "/v1/events", client.post("/v1/events", json={})),
            ("POST", "/v1/events", client.post("/v1/events", json=[{}] * 999, headers=INGEST)),
            (
                "POST",
                "/v1/events",
                client.post("/v1/events", content=b"{}", headers={**INGEST, "Content-Type": "x/y"}),
            ),
            (  # says gzip, is not: 400, and its answer has `details` like every 400 here
                "POST",
                "/v1/events",
                client.post(
                    "/v1/events", json={"a": 1}, headers={**INGEST, "Content-Encoding": "gzip"}
                ),
            ),
            ("GET", "/v1/alerts", client.get("/v1/alerts", headers=ADMIN)),
            ("GET", "/v1/alerts", client.get("/v1/alerts?limit=0", headers=ADMIN)),
            ("GET", "/v1/alerts", client.get("/v1/alerts", headers=INGEST)),
            ("GET", "/v1/alerts/{id}", client.get(f"/v1/alerts/{alert_id}", headers=ADMIN)),
            ("GET", "/v1/alerts/{id}", client.get("/v1/alerts/x", headers=ADMIN)),
            (
                "POST",
                "/v1/alerts/{id}/ack",
                client.post(f"/v1/alerts/{alert_id}/ack", json={"by": "me"}, headers=ADMIN),
            ),
            ("POST", "/v1/alerts/{id}/ack", client.post("/v1/alerts/x/ack", headers=ADMIN)),
            (
                "POST",
                "/v1/alerts/{id}/unack",
                client.post(f"/v1/alerts/{alert_id}/unack", json={"by": "again"}, headers=ADMIN),
            ),
            (
                "POST",
                "/v1/alerts/{id}/resolve",
                client.post(f"/v1/alerts/{alert_id}/resolve", json={"via": "x"}, headers=ADMIN),
            ),
            (
                "POST",
                "/v1/alerts/{id}/resolve",
                client.post(f"/v1/alerts/{alert_id}/resolve", json={"via": "cli"}, headers=ADMIN),
            ),
            (
                "POST",
                "/v1/alerts/{id}/escalate",
                client.post(f"/v1/alerts/{alert_id}/escalate", headers=ADMIN),
            ),
            (
                "POST",
                "/v1/alerts/{id}/escalate",
                client.post("/v1/alerts/x/escalate", headers=ADMIN),
            ),
            (
                "POST",
                "/v1/alerts/{id}/ack",
                client.post(
                    f"/v1/alerts/{alert_id}/ack",
                    content=b"me",
                    headers={**ADMIN, "Content-Type": "text/plain"},
                ),
            ),
            ("GET", "/v1/rules", client.get("/v1/rules", headers=ADMIN)),
            *(
                ("POST", "/v1/explain", client.post("/v1/explain", json=body, headers=headers))
                for body, headers in (
                    ({"type": "breakdown", "vehicle_id": "v1"}, ADMIN),
                    ({"type": "location_update", "speed_kmh": "0"}, ADMIN),
                    ({"type": "trip_update"}, ADMIN),
                    ([{"type": "breakdown"}], ADMIN),
                    ({"timestamp": "bad"}, ADMIN),
                    ({"type": "breakdown"}, INGEST),
                )
            ),
            (
                "POST",
                "/v1/explain",
                client.post("/v1/explain", content=b"{}", headers={**ADMIN, "Content-Type": "x/y"}),
            ),
            ("POST", "/v1/reload", client.post("/v1/reload", headers=ADMIN)),
            ("GET", "/healthz", client.get("/healthz")),
            ("GET", "/readyz", client.get("/readyz")),
            ("GET", "/metrics", client.get("/metrics")),
            ("GET", "/openapi.json", client.get("/openapi.json")),
        ]
        for method, path, call in calls:
            assert_answer_documented(method, path, await call)

        served.backend.shedding = 2
        served.backend.state = "draining"
        served.backend.reload_errors = [
            {"path": "a.rules", "line": 1, "column": 2, "message": "m", "text": "a.rules:1:2: m"}
        ]
        assert_answer_documented(
            "POST", "/v1/events", await client.post("/v1/events", json={}, headers=INGEST)
        )
        assert_answer_documented("GET", "/readyz", await client.get("/readyz"))
        assert_answer_documented(
            "POST", "/v1/reload", await client.post("/v1/reload", headers=ADMIN)
        )


def test_the_described_query_formats_are_the_ones_the_server_reads() -> None:
    parameters = {
        p["name"]: p["schema"] for p in openapi_spec()["paths"]["/v1/alerts"]["get"]["parameters"]
    }
    assert parameters["cursor"]["pattern"] == f"^{CURSOR.pattern}$"
    epoch = [s for s in parameters["since"]["anyOf"] if "pattern" in s]
    assert [s["pattern"] for s in epoch] == [f"^{EPOCH_SECONDS.pattern}$"]
    assert parameters["limit"]["maximum"] == MAX_PAGE
