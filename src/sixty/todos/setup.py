"""Wires the todos module into the app: open CORS on `/api/todos` only, as Todo-Backend requires
(its spec runner and client call the API from another origin)."""

from __future__ import annotations

from fastapi import FastAPI

from sixty.core.config import Settings
from sixty.core.middleware import OpenCORSMiddleware
from sixty.modules import StartupHook
from sixty.todos.router import router

METHODS = ("GET", "POST", "PATCH", "DELETE", "OPTIONS")
EXPOSE_HEADERS = ("Location", "X-Request-ID", "Retry-After", "RateLimit", "RateLimit-Policy")


def install(app: FastAPI, settings: Settings) -> StartupHook | None:
    app.add_middleware(
        OpenCORSMiddleware, prefix=router.prefix, methods=METHODS, expose_headers=EXPOSE_HEADERS
    )
    return None
