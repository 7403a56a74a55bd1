"""The OpenAPI document shows the security scheme on every protected operation."""

from __future__ import annotations

from fastapi import FastAPI

PUBLIC = {
    "POST /api/auth/register",
    "POST /api/auth/login",
    "POST /api/auth/token",
    "POST /api/auth/login/mfa",
    "POST /api/auth/refresh",
    "POST /api/auth/verify-email",
    "GET /api/auth/verify-email",
    "POST /api/auth/password-reset",
    "POST /api/auth/password-reset/confirm",
    "POST /api/auth/login/code",
    "POST /api/auth/login/code/verify",
}


def test_protected_operations_declare_the_bearer_scheme_and_401(app: FastAPI) -> None:
    document = app.openapi()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/auth/token"
    protected = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            if path.startswith("/api/blog/"):  # the RealWorld spec's own scheme: tests/blog
                continue
            if operation.get("security"):
                assert operation["security"] == [{"bearer": []}], where
                assert "401" in operation["responses"], where
                protected.add(where)
            elif path.startswith(("/api/auth", "/api/admin")):
                assert where in PUBLIC, f"{where} has no security scheme"
    assert {
        "GET /api/auth/me",
        "GET /api/admin/users",
        "GET /api/admin/outbox",
        "POST /api/auth/logout",
    } <= protected
    assert not protected & PUBLIC
