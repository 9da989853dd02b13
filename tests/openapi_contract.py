"""Checks that an HTTP answer is what openapi.yaml promises: a documented status, a body that
validates against the documented schema. Used by the server tests and the end-to-end tests."""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator

from alertd.server.app import openapi_spec


@cache
def spec() -> dict[str, Any]:
    return openapi_spec()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def assert_answer_documented(method: str, path: str, response: httpx.Response) -> None:
    """`path` is the template as written in the spec, e.g. `/v1/alerts/{id}`."""
    operation = spec()["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered undocumented {status}"
    documented = _resolve(operation["responses"][status])
    content = documented.get("content", {})
    media = response.headers.get("content-type", "").split(";")[0]
    assert media in content, f"{method} {path} {status}: undocumented content type {media!r}"
    if media != "application/json":
        return
    schema = {**content[media]["schema"], "components": spec()["components"]}
    errors = sorted(OAS31Validator(schema).iter_errors(response.json()), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].path)}"
    for header in documented.get("headers", {}):
        assert header.lower() in response.headers, f"{method} {path} {status}: no {header}"
