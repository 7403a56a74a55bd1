"""Checks answers against the RealWorld spec itself (`realworld_openapi.yml`, a copy of the
spec the blog implements): each operation's documented response schema, by operation id."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).with_name("realworld_openapi.yml")
SPEC_URI = "urn:realworld-openapi"
# The spec's examples carry milliseconds; so do all our timestamps.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    # Our one documented deviation: `bio` and `image` are null when unset (the spec types them
    # string and requires them, so they are present either way).
    for name in ("User", "Profile"):
        for field in ("bio", "image"):
            spec["components"]["schemas"][name]["properties"][field] = {"type": ["string", "null"]}
    return spec


@cache
def _operations() -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for item in _spec()["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _validator(pointer: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(_spec()))
    return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=registry)


def check(operation_id: str, status: int, payload: Any) -> None:
    """Fails unless `status` is a response the spec documents for the operation and `payload`
    matches its schema (an error body: the spec's GenericErrorModel)."""
    responses = _operations()[operation_id]["responses"]
    assert str(status) in responses or status >= 400, (operation_id, status)
    if status >= 400:
        _validator("/components/schemas/GenericErrorModel").validate(payload)
        return
    reference = responses[str(status)]["$ref"]  # '#/components/responses/UserResponse'
    response = _spec()["components"]["responses"][reference.rsplit("/", 1)[1]]
    if "application/json" not in response.get("content", {}):
        assert payload in (None, b"", ""), (operation_id, payload)
        return
    pointer = reference[1:] + "/content/application~1json/schema"
    _validator(pointer).validate(payload)
    _check_timestamps(payload)


def _check_timestamps(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("createdAt", "updatedAt"):
                assert TIMESTAMP.match(item), (key, item)
            else:
                _check_timestamps(item)
    elif isinstance(value, list):
        for item in value:
            _check_timestamps(item)
