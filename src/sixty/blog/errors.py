"""The RealWorld error shape on the blog's routes, and its OpenAPI documentation.

The platform answers RFC 9457 problem documents; the RealWorld spec fixes
`{"errors": {"body": ["..."]}}` instead. The blog's routes are `BlogRoute`s, and
`install_error_shape` wraps the app's exception handlers so that an error raised while
a `BlogRoute` handles the request takes the spec's shape: the platform's `Problem`s
(from the blog's and the auth module's services, and the 401 of a bad token), request
validation errors, the framework's HTTP errors (413 for a body over the limit) and
unexpected errors (500, logged). Every other route keeps the platform's answers.

The handlers run where the platform's do, after the request's unit of work has seen
the error (and rolled back what the request wrote). The spec has no 409: a taken
username or email is a 422, as the spec's registration says.

Errors raised before a blog route is chosen (an unknown path: 404, a wrong method:
405) come from the platform and keep its problem documents.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, cast

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sixty.blog.schemas import GenericErrorModel, error_body
from sixty.core.errors import Problem, field_errors, http_error_text, problem_text
from sixty.core.i18n import _
from sixty.core.routing import JSONRoute

logger = logging.getLogger("sixty.blog")

Handler = Callable[[Request, Exception], Awaitable[Response]]

# The spec's 401 names its own scheme.
WWW_AUTHENTICATE = {"WWW-Authenticate": "Token"}
# Statuses the platform may use that the spec does not have, and what the spec says instead.
SPEC_STATUS = {409: 422}


class BlogRoute(JSONRoute):
    """A JSON route whose errors take the RealWorld shape (see `install_error_shape`)."""


def error_response(status: int, messages: list[str], headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(error_body(messages)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _validation_messages(error: RequestValidationError) -> list[str]:
    """`field: message` per invalid field, the field named without the spec's envelope key."""
    messages = []
    for entry in field_errors(error):
        path = entry["field"].split(".")
        if path and path[0] in ("user", "article", "comment") and len(path) > 1:
            path = path[1:]
        field = ".".join(path)
        messages.append(f"{field}: {entry['message']}" if field else entry["message"])
    return messages


async def _problem(request: Request, error: Exception) -> Response:
    problem = cast(Problem, error)
    status = SPEC_STATUS.get(problem.status, problem.status)
    headers = {key: value for key, value in problem.headers.items() if key.lower() != "www-authenticate"}
    if status == 401:
        headers.update(WWW_AUTHENTICATE)
    return error_response(status, [problem_text(problem)], headers)


async def _invalid(request: Request, error: Exception) -> Response:
    return error_response(422, _validation_messages(cast(RequestValidationError, error)))


async def _http_error(request: Request, error: Exception) -> Response:
    http_error = cast(StarletteHTTPException, error)
    headers = dict(http_error.headers or {})
    return error_response(http_error.status_code, [http_error_text(http_error.status_code)], headers)


async def _unexpected(request: Request, error: Exception) -> Response:
    logger.error(
        "unhandled error",
        exc_info=error,
        extra={"request_id": request.scope.get("state", {}).get("request_id"), "path": request.url.path},
    )
    return error_response(500, [_("An unexpected error occurred; it has been logged.")])


BLOG_HANDLERS: dict[type[Exception], Handler] = {
    Problem: _problem,
    RequestValidationError: _invalid,
    StarletteHTTPException: _http_error,
    Exception: _unexpected,
}


def _on_blog_route(request: Request) -> bool:
    """Whether a blog route handles the request. A route whose path matched but whose method
    did not is in the scope too (it raises the 405), yet it was never chosen."""
    route = request.scope.get("route")
    return isinstance(route, BlogRoute) and request.method in (route.methods or ())


def _scoped(blog: Handler, platform: Handler | None) -> Handler:
    async def handler(request: Request, error: Exception) -> Response:
        if platform is None or _on_blog_route(request):
            return await blog(request, error)
        return await platform(request, error)

    return handler


def install_error_shape(app: FastAPI) -> None:
    """Errors of the blog's routes in the spec's shape; every other route keeps the app's
    handlers (installed before this, by `core.errors.install_error_handlers`)."""
    for kind, blog in BLOG_HANDLERS.items():
        platform = cast(Handler | None, app.exception_handlers.get(kind))
        app.add_exception_handler(kind, _scoped(blog, platform))


# --- OpenAPI --------------------------------------------------------------------------------

DESCRIPTIONS = {
    401: "Not authenticated: no token, or a token that is invalid, expired or of an ended session.",
    403: "Authenticated, but not allowed: someone else's article or comment.",
    404: "No such article, comment or user.",
    413: "The request body is larger than the platform accepts.",
    415: "The request body is not JSON.",
    422: "Invalid input: one `field: message` per problem (a taken username or email too).",
    429: "Rate limited; see `Retry-After` (and the `RateLimit` fields).",
    500: "Unexpected error; it has been logged.",
    503: "The rate limiter's store is down and configured to refuse.",
}
EXAMPLES = {
    401: "Sign in first: send `Authorization: Token <token>`.",
    403: "Only its author may change or delete this article.",
    404: "There is no article how-to-train-your-dragon.",
    413: "The request body is larger than this endpoint accepts.",
    415: "Send the request body as application/json.",
    422: "email: Is not a valid email address.",
    429: "Too many requests; try again in 42 second(s).",
    500: "An unexpected error occurred; it has been logged.",
    503: "Rate limits cannot be checked right now; try again shortly.",
}


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the blog's errors (500 always)."""
    docs: dict[int | str, dict[str, Any]] = {
        status: {
            "model": GenericErrorModel,
            "description": DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {"application/json": {"example": error_body([EXAMPLES[status]])}},
        }
        for status in (*statuses, 500)
    }
    if 429 in docs:
        docs[429]["headers"] = {
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
        }
    return docs
