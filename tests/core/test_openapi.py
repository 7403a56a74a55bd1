"""B19: the OpenAPI document is valid and complete, the docs work offline, and
schemathesis finds no failure against a live server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from httpx import AsyncClient
from openapi_spec_validator import validate

from tests.conftest import LIVE_ADMIN_EMAIL, LIVE_ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "post", "put", "patch", "delete"}


# Modules bound to a public spec answer errors in its shape, not as problem documents:
# by path prefix, the schema their error responses document.
SPEC_ERROR_SCHEMAS = {"/api/blog/": "#/components/schemas/GenericErrorModel"}


def spec_error_schema(path: str) -> str | None:
    return next((ref for prefix, ref in SPEC_ERROR_SCHEMAS.items() if path.startswith(prefix)), None)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_document_is_valid_openapi_31(app: FastAPI) -> None:
    document = app.openapi()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_operation_is_documented(app: FastAPI) -> None:
    document = app.openapi()
    tags = {tag["name"] for tag in document["tags"]}
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation.get("description"), where
        assert set(operation["tags"]) <= tags, where
        responses = operation["responses"]
        assert "500" in responses, where
        for status, response in responses.items():
            content = response.get("content", {})
            if status.startswith(("4", "5")) and status != "503":
                if spec_schema := spec_error_schema(path):
                    assert content["application/json"]["schema"] == {"$ref": spec_schema}, (where, status)
                    assert "application/problem+json" not in content, (where, status)
                    continue
                assert "application/problem+json" in content, (where, status)
                assert "application/json" not in content, (where, status)
            if status.startswith("2") and content:
                media = next(iter(content.values()))
                assert "example" in media or "examples" in media, (where, status)
        has_input = bool(operation.get("parameters")) or "requestBody" in operation
        if has_input:
            assert "422" in responses, where
        if "requestBody" in operation:
            assert {"413", "415"} <= responses.keys(), where


def test_problem_schema_is_registered(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert "ProblemDetails" in schemas
    assert "FieldError" in schemas
    assert "HTTPValidationError" not in schemas


def test_each_module_has_a_tag(app: FastAPI) -> None:
    names = [tag["name"] for tag in app.openapi()["tags"]]
    assert names == [
        "health",
        "hello",
        "auth",
        "notes",
        "todos",
        "library",
        "blog",
        "files",
        "weather",
        "currency",
        "chatbot",
        "contact",
        "feedback",
        "calculator",
        "convert",
        "portfolio",
        "images",
        "shortener",
    ]


async def test_swagger_ui_and_redoc_are_served_offline(client: AsyncClient) -> None:
    swagger = await client.get("/docs")
    redoc = await client.get("/redoc")
    for page in (swagger, redoc):
        assert page.status_code == 200
        assert "cdn." not in page.text
        assert "fonts.googleapis" not in page.text
    assert "/docs/assets/swagger-ui-bundle.js" in swagger.text
    assert "/docs/assets/redoc.standalone.js" in redoc.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        response = await client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 10_000
    spec = await client.get("/openapi.json")
    assert spec.json()["info"]["title"] == "Sixty"


def _access_token(base: str) -> str:
    response = httpx.post(
        f"{base}/api/auth/login",
        json={"email": LIVE_ADMIN_EMAIL, "password": LIVE_ADMIN_PASSWORD},
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def test_schemathesis_finds_no_failure(live_server: str, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(ROOT / "tests" / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{live_server}/openapi.json",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261126",
        "--max-examples",
        "40",
        "--max-time",
        "120",
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        "--header",
        f"Authorization: Bearer {_access_token(live_server)}",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    summary = result.stdout[-6000:]
    failures = result.stdout.partition("FAILURES")[2][:8000]  # which operation failed, and how
    assert result.returncode == 0, failures + summary
    assert "failures" not in summary.split("SUMMARY")[-1].lower() or " 0 failures" in summary, summary
