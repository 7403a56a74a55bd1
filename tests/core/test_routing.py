"""Routing: every documented operation reaches its own route, and modules' routers turn away
paths outside their prefix (core/routing.py `ModuleRouter`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient
from starlette.routing import Match

from sixty.core.middleware import route_template
from sixty.core.routing import ModuleRouter, module_router

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def concrete(template: str, operation: dict[str, Any]) -> str:
    """A request path for an OpenAPI path template: each parameter a value of its type that no
    literal route uses."""
    schemas = {
        parameter["name"]: parameter.get("schema", {})
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }

    def value(match: re.Match[str]) -> str:
        schema = schemas.get(match.group(1), {})
        if schema.get("format") == "uuid":
            return "5f0c8c4e-8a52-4d43-9d0e-2b7f3c1a9e61"
        if schema.get("type") == "integer":
            return "1"
        return "sample-1"

    return re.sub(r"\{([^}]+)\}", value, template)


async def routed_template(app: FastAPI, method: str, path: str) -> str:
    """The template of the route the app picks for `method path` (what metrics label it with)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", b"0")],
        "client": ("127.0.0.1", 5555),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    await app(scope, receive, send)
    return route_template(scope)


async def test_every_documented_operation_reaches_its_route(app: FastAPI, client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = [
        (method.upper(), template, operation)
        for template, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) > 150  # the whole platform, not a module or two
    misrouted = {
        f"{method} {template}": routed
        for method, template, operation in operations
        if (routed := await routed_template(app, method, concrete(template, operation))) != template
    }
    assert misrouted == {}


async def test_an_unknown_path_is_a_problem_404(client: AsyncClient) -> None:
    for path in ("/api/nothing-here", "/api/notesx", "/api/blog-archive/1", "/nowhere"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_a_module_router_turns_away_paths_outside_its_prefix() -> None:
    router = module_router("/api/example", "example")
    assert isinstance(router, ModuleRouter)

    @router.get("/{item}")
    async def item(item: str) -> dict[str, str]:
        return {"item": item}

    def scope(path: str, root_path: str = "") -> dict[str, Any]:
        return {"type": "http", "method": "GET", "path": path, "root_path": root_path}

    # Outside the prefix: no match, without trying its routes.
    assert router.matches(scope("/api/other/1")) == (Match.NONE, {})
    assert router.matches(scope("/api/exampl")) == (Match.NONE, {})
    # Behind a proxy's root path, the path below it counts, as for every route.
    assert router.matches(scope("/base/api/other/1", root_path="/base")) == (Match.NONE, {})
    assert router.matches(scope("/based/api/example/1", root_path="/base")) == (Match.NONE, {})


def _runs_on_the_loop(call: Any) -> bool:
    if inspect.isroutine(call):
        return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
    method = getattr(call, "__call__", None)  # noqa: B004 - a dependency may be an instance (HTTPBearer)
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


def test_no_endpoint_or_dependency_runs_in_a_thread(app: FastAPI) -> None:
    # FastAPI runs a plain `def` endpoint or dependency in a worker thread: a thread hop per
    # request, for what is at most a few attribute reads.
    def calls(dependant: Any) -> Iterator[Any]:
        for sub in dependant.dependencies:
            yield sub.call
            yield from calls(sub)

    routes = [
        context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]
    assert len(routes) > 150
    in_threads = {
        f"{route.path} {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in (route.endpoint, *calls(route.dependant))
        if not _runs_on_the_loop(call)
    }
    assert in_threads == set()
