"""Memoized per-request introspection and route matching inside FastAPI's request handling.

For every parameter of every request, FastAPI works out again facts that never change once the
app is built: whether a parameter's annotation is a sequence, whether it is a Pydantic model or
JSON, which aliases it answers to, and each dependency's cache key. On `GET /api/hello` (one
query parameter) that was about a tenth of the instructions of the whole request; on a read with
a principal and a few dependencies, more. `install()` wraps those pure helpers of
`fastapi.dependencies.utils` so each answer is computed once per field, annotation or dependency
and then looked up.

FastAPI also matches a request against the routes of an included router twice: once to find
which router answers (`APIRouter.matches`), then again to pick the route (`_handle_selected`).
The second match now reuses the first, kept in the request's scope with the path, root path and
method it was made for; a scope whose path or method has changed since is matched afresh.

Each memo is keyed by the object's identity and keeps the object itself beside the answer, so an
id cannot be reused by another object while its entry lives; a memo that grows past
`MEMO_LIMIT` entries (FastAPI builds new dependants per request only for dependency overrides,
which tests use) starts again empty. The helpers are FastAPI internals, so the wrapped names are
checked when installing: a FastAPI release that renames one fails at start-up, loudly, and
tests/core/test_fastapi_memo.py compares every memoized answer with FastAPI's own.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from fastapi import routing
from fastapi.dependencies import utils
from starlette.types import Scope

MEMO_LIMIT = 10_000

# The helpers memoized, by name in fastapi.dependencies.utils. Each takes one object (a field,
# an annotation or a dependant) and answers a value that depends on nothing else.
_BY_IDENTITY = ("_get_param_model", "_is_json_field", "field_annotation_is_sequence")


def _memoize(original: Callable[..., Any], key: Callable[..., tuple[Any, Hashable]]) -> Callable[..., Any]:
    """`original`, answering from a memo. `key` takes the same arguments and names the object the
    answer belongs to and the memo key (its id, and any other argument that changes the answer);
    the object is kept beside the answer, so its id cannot be reused while the entry lives."""
    memo: dict[Hashable, tuple[Any, Any]] = {}

    def memoized(*args: Any, **kwargs: Any) -> Any:
        owner, slot = key(*args, **kwargs)
        hit = memo.get(slot)
        if hit is not None and hit[0] is owner:
            return hit[1]
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        answer = original(*args, **kwargs)
        memo[slot] = (owner, answer)
        return answer

    memoized.__wrapped__ = original  # type: ignore[attr-defined]
    return memoized


def _by_identity(value: Any) -> tuple[Any, Hashable]:
    return value, id(value)


def _by_field(field: Any, *, convert_underscores: bool = False) -> tuple[Any, Hashable]:
    return field, (id(field), convert_underscores)


def _by_dependant(*, dependant: Any, uses_scopes_cache: Any = None) -> tuple[Any, Hashable]:
    return dependant, id(dependant)  # the scopes cache only speeds FastAPI's own computation up


_MATCHES = "sixty.route_matches"  # scope key: id(included router) -> (router, where, answer)


def _memo_route_match(original: Callable[[Any, Scope], Any]) -> Callable[[Any, Scope], Any]:
    def _match(self: Any, scope: Scope) -> Any:
        where = (scope.get("path"), scope.get("root_path"), scope.get("method"))
        matches = scope.get(_MATCHES)
        if matches is not None:
            hit = matches.get(id(self))
            if hit is not None and hit[0] is self and hit[1] == where:
                return hit[2]
        else:
            matches = scope[_MATCHES] = {}
        answer = original(self, scope)
        matches[id(self)] = (self, where, answer)
        return answer

    _match.__wrapped__ = original  # type: ignore[attr-defined]
    return _match


def install() -> None:
    """Wrap the helpers once per process; calling it again changes nothing."""
    if getattr(utils, "_sixty_memoized", False):
        return
    for name in _BY_IDENTITY:
        setattr(utils, name, _memoize(getattr(utils, name), _by_identity))
    utils._get_param_aliases = _memoize(utils._get_param_aliases, _by_field)
    utils._get_cache_key = _memoize(utils._get_cache_key, _by_dependant)  # type: ignore[attr-defined]
    included = routing._IncludedRouter
    included._match = _memo_route_match(included._match)  # type: ignore[assignment]
    utils._sixty_memoized = True  # type: ignore[attr-defined]
