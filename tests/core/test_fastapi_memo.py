"""The memoized FastAPI internals (core/fastapi_memo.py) answer what FastAPI's own do."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies import utils
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _IncludedRouter, iter_route_contexts
from starlette.routing import Match

from sixty.core import fastapi_memo
from sixty.core.routing import module_router


def dependants(app: FastAPI) -> Iterator[Dependant]:
    def walk(dependant: Dependant) -> Iterator[Dependant]:
        yield dependant
        for sub in dependant.dependencies:
            yield from walk(sub)

    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield from walk(context.original_route.dependant)


def params(dependant: Dependant) -> list[Any]:
    return [
        *dependant.path_params,
        *dependant.query_params,
        *dependant.header_params,
        *dependant.cookie_params,
        *dependant.body_params,
    ]


def ours(name: str) -> Any:
    return getattr(utils, name)


def original(name: str) -> Any:
    return ours(name).__wrapped__


def test_the_app_runs_with_the_memos_installed(app: FastAPI) -> None:
    # create_app installs them; installing again wraps nothing twice.
    fastapi_memo.install()
    for name in (*fastapi_memo._BY_IDENTITY, "_get_param_aliases", "_get_cache_key"):
        wrapped = getattr(utils, name).__wrapped__
        assert not hasattr(wrapped, "__wrapped__"), name
    assert hasattr(_IncludedRouter._match, "__wrapped__")


def test_every_memoized_answer_is_fastapis_own(app: FastAPI) -> None:
    every = list(dependants(app))
    fields = [field for dependant in every for field in params(dependant)]
    assert len(every) > 300
    assert len(fields) > 300
    for _ in range(2):  # first computed, then looked up: the same answers
        for dependant in every:
            assert ours("_get_cache_key")(dependant=dependant) == original("_get_cache_key")(
                dependant=dependant
            )
        for field in fields:
            assert utils._get_param_model(field) == original("_get_param_model")(field)
            assert utils._is_json_field(field) == original("_is_json_field")(field)
            annotation = field.field_info.annotation
            assert ours("field_annotation_is_sequence")(annotation) == original(
                "field_annotation_is_sequence"
            )(annotation)
            for convert in (False, True):
                assert utils._get_param_aliases(field, convert_underscores=convert) == original(
                    "_get_param_aliases"
                )(field, convert_underscores=convert)


def test_a_full_memo_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastapi_memo, "MEMO_LIMIT", 2)
    calls: list[object] = []

    def kind(value: object) -> str:
        calls.append(value)
        return type(value).__name__

    memoized = fastapi_memo._memoize(kind, fastapi_memo._by_identity)
    first, second, third = object(), [1], {"a": 1}
    assert [memoized(first), memoized(first), memoized(second)] == ["object", "object", "list"]
    assert calls == [first, second]  # the repeat was looked up
    assert memoized(third) == "dict"  # past the limit: emptied, then kept
    assert memoized(first) == "object"
    assert calls == [first, second, third, first]


def included(app: FastAPI, prefix: str) -> _IncludedRouter:
    return next(
        route
        for route in app.router.routes
        if isinstance(route, _IncludedRouter) and route.original_router.prefix == prefix
    )


def scope(path: str, method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


def test_a_route_match_is_reused_only_for_the_same_request_line() -> None:
    app = FastAPI()
    router = module_router("/api/example", "example")

    @router.get("/{item}")
    async def read_item(item: str) -> dict[str, str]:
        return {"item": item}

    @router.delete("/{item}")
    async def delete_item(item: str) -> None:
        return None

    app.include_router(router)
    branch = included(app, "/api/example")
    request = scope("/api/example/one")
    match, child, route, _ = branch._match(request)
    assert isinstance(route, APIRoute)
    assert (match, child["path_params"], route.endpoint) == (Match.FULL, {"item": "one"}, read_item)
    assert branch._match(request)[2] is route  # reused
    assert inspect.unwrap(branch._match)(branch, request)[:3] == (match, child, route)

    request["path"] = "/api/example/two"  # another path on the same scope: matched again
    assert branch._match(request)[1]["path_params"] == {"item": "two"}
    request["method"] = "DELETE"
    assert getattr(branch._match(request)[2], "endpoint", None) is delete_item
    request["method"] = "PUT"
    assert branch._match(request)[0] == Match.PARTIAL  # 405, as FastAPI answers it
    request["path"] = "/api/elsewhere"
    assert branch._match(request)[0] == Match.NONE
