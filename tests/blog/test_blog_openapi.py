"""The blog's OpenAPI operations declare the spec's `Token` scheme where it applies."""

from __future__ import annotations

from fastapi import FastAPI

from tests.core.test_openapi import operations

PUBLIC = {"POST /api/blog/users", "POST /api/blog/users/login", "GET /api/blog/tags"}
OPTIONAL = {
    "GET /api/blog/profiles/{username}",
    "GET /api/blog/articles",
    "GET /api/blog/articles/{slug}",
    "GET /api/blog/articles/{slug}/comments",
}


def test_operations_declare_the_token_scheme(app: FastAPI) -> None:
    document = app.openapi()
    assert document["components"]["securitySchemes"]["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": document["components"]["securitySchemes"]["Token"]["description"],
    }
    blog = [
        (f"{method.upper()} {path}", op) for path, method, op in operations(document) if "/api/blog/" in path
    ]
    assert len(blog) == 19  # every RealWorld operation
    for where, operation in blog:
        security = operation.get("security")
        if where in PUBLIC:
            assert security is None, where
        elif where in OPTIONAL:
            assert security == [{"Token": []}, {}], where
            assert "401" in operation["responses"], where
        else:
            assert security == [{"Token": []}], where
            assert "401" in operation["responses"], where
