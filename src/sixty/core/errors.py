"""One error hierarchy, one response shape: RFC 9457 problem details (`application/problem+json`).

Raise a `Problem` subclass from a service or router; the handlers registered by
`install_error_handlers` turn it, request validation errors, Starlette's HTTP
errors and unexpected exceptions into the same translated document.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from sixty.core.i18n import N_, _

logger = logging.getLogger("sixty.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Where the bad value is: `body`, `query`, `path`, `header`, then the field path."
    )
    field: str = Field(description="Dotted field name, without the location.")
    message: str = Field(description="What is wrong, in the negotiated language.")
    type: str = Field(description="Machine-readable error type, e.g. `string_too_long`.")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:sixty:problem:not_found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "The requested resource does not exist.",
                    "instance": "/api/notes/5d7c2b1e-7c3f-4a5e-9d59-6a1f3f0c2b11",
                    "code": "not_found",
                }
            ]
        }
    )

    type: str = Field(description="URI naming the problem type.")
    title: str = Field(description="Short summary of the problem type, in the negotiated language.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(default=None, description="This occurrence, explained.")
    instance: str | None = Field(default=None, description="The request path.")
    code: str = Field(description="Stable machine-readable error code.")
    request_id: str | None = Field(default=None, description="The request's `X-Request-ID`.")
    errors: list[FieldError] | None = Field(
        default=None, description="One entry per invalid field (422 only)."
    )


class Problem(Exception):
    """Base of every error the API reports on purpose.

    `detail` is a message template marked with `N_()`; it is translated and
    formatted with `params` when the response is rendered.
    """

    status: int = 500
    code: str = "internal_error"
    title: str = N_("Internal server error")
    # True when the request's writes must be committed even though it answers an error.
    keep_changes: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        keep_changes: bool = False,
        **params: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.params = params
        self.headers = dict(headers or {})
        # RFC 9457 extension members: more fields a client acts on (e.g. a follow-up token).
        self.extensions = dict(extensions or {})
        self.keep_changes = keep_changes
        if code is not None:
            self.code = code


class BadRequest(Problem):
    status, code, title = 400, "bad_request", N_("Bad request")


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", N_("Not authenticated")

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(Problem):
    status, code, title = 403, "forbidden", N_("Forbidden")


class NotFound(Problem):
    status, code, title = 404, "not_found", N_("Not found")


class Conflict(Problem):
    status, code, title = 409, "conflict", N_("Conflict")


class Gone(Problem):
    status, code, title = 410, "gone", N_("Gone")


class PreconditionFailed(Problem):
    status, code, title = 412, "precondition_failed", N_("Precondition failed")


class ContentTooLarge(Problem):
    status, code, title = 413, "content_too_large", N_("Content too large")


class UnsupportedMediaType(Problem):
    status, code, title = 415, "unsupported_media_type", N_("Unsupported media type")


class Unprocessable(Problem):
    status, code, title = 422, "validation_failed", N_("Validation failed")


class TooManyRequests(Problem):
    status, code, title = 429, "rate_limited", N_("Too many requests")


class ServiceUnavailable(Problem):
    status, code, title = 503, "service_unavailable", N_("Service unavailable")


@dataclass(frozen=True)
class InvalidField:
    """One bad value a service found beyond what the schema checks (an answer that does not
    fit its question): where it is, its error type, and a message marked with `N_()`."""

    loc: tuple[str | int, ...]
    type: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


def invalid_fields(fields: Sequence[InvalidField]) -> Unprocessable:
    """A 422 listing every bad field in `errors`, shaped like the request validation errors,
    so a client reads both the same way. Raise it from a request (messages are translated
    into the request's language here)."""
    errors = [
        {
            "loc": list(bad.loc),
            "field": ".".join(str(part) for part in bad.loc[1:]),
            "message": _format(bad.message, bad.params),
            "type": bad.type,
        }
        for bad in fields
    ]
    return Unprocessable(
        N_("The request has {count} invalid field(s)."), count=len(errors), extensions={"errors": errors}
    )


# Titles and details for errors raised by the framework itself (routing, body limits).
_STATUS_TEXT: dict[int, tuple[str, str, str | None]] = {
    400: ("bad_request", N_("Bad request"), N_("The request could not be understood.")),
    401: ("unauthorized", N_("Not authenticated"), None),
    403: ("forbidden", N_("Forbidden"), None),
    404: ("not_found", N_("Not found"), N_("The requested resource does not exist.")),
    405: ("method_not_allowed", N_("Method not allowed"), N_("This method is not allowed on this resource.")),
    413: (
        "content_too_large",
        N_("Content too large"),
        N_("The request body is larger than this endpoint accepts."),
    ),
    415: ("unsupported_media_type", N_("Unsupported media type"), None),
    429: ("rate_limited", N_("Too many requests"), None),
    500: (
        "internal_error",
        N_("Internal server error"),
        N_("An unexpected error occurred; it has been logged."),
    ),
}

# Per-field messages for the validation errors clients meet most; others keep Pydantic's text.
_FIELD_MESSAGES: dict[str, str] = {
    "missing": N_("This field is required."),
    "extra_forbidden": N_("This field is not allowed."),
    "string_too_short": N_("Must be at least {min_length} characters long."),
    "string_too_long": N_("Must be at most {max_length} characters long."),
    "string_type": N_("Must be a string."),
    "string_pattern_mismatch": N_("Has an invalid format."),
    "int_parsing": N_("Must be an integer."),
    "int_type": N_("Must be an integer."),
    "bool_parsing": N_("Must be true or false."),
    "bool_type": N_("Must be true or false."),
    "greater_than_equal": N_("Must be greater than or equal to {ge}."),
    "less_than_equal": N_("Must be less than or equal to {le}."),
    "uuid_parsing": N_("Must be a valid UUID."),
    "uuid_type": N_("Must be a valid UUID."),
    "json_invalid": N_("The body is not valid JSON."),
    "model_attributes_type": N_("Must be a JSON object."),
    "dict_type": N_("Must be a JSON object."),
    "enum": N_("Must be one of: {expected}."),
    "literal_error": N_("Must be one of: {expected}."),
    "value_error": N_("Has an invalid value."),
    "invalid_cursor": N_("The cursor is invalid or has been tampered with."),
}


def problem_type(code: str) -> str:
    return f"urn:sixty:problem:{code}"


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None,
    headers: Mapping[str, str] | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "request_id": request.scope.get("state", {}).get("request_id"),
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extensions:
        body.update({key: value for key, value in extensions.items() if key not in body})
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _format(template: str, params: Mapping[str, Any]) -> str:
    text = _(template)
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):  # a translation with a bad placeholder
        return template.format(**params)


# Pydantic names the member of a union a value failed in (`function-after[...]`, `none`) in the
# location; a field that may be omitted but not null is such a union. Clients see the field.
_UNION_MEMBER = re.compile(r"^[a-z-]+\[.*\]$|^(none|str|int|float|bool|constrained-str)$")


def _useful_errors(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The errors minus "should be None" from the null branch of an optional field."""
    return [error for error in errors if error.get("type") != "none_required"] or list(errors)


def _field_error(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = [
        part if isinstance(part, int) else str(part)
        for index, part in enumerate(error.get("loc", ()))
        if index < 2 or isinstance(part, int) or not _UNION_MEMBER.match(str(part))
    ]
    field_path = loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    kind = str(error.get("type", "value_error"))
    template = _FIELD_MESSAGES.get(kind)
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    if kind == "value_error" and "error" in context:
        message = _(context["error"])  # our own validators' text, marked with N_()
    elif template is not None:
        message = _format(template, context)
    else:
        message = str(error.get("msg", ""))
    return {
        "loc": loc,
        "field": ".".join(str(part) for part in field_path),
        "message": message,
        "type": kind,
    }


async def handle_problem(request: Request, error: Exception) -> Response:
    exc = cast(Problem, error)
    detail = _format(exc.detail, exc.params) if exc.detail else None
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=_(exc.title),
        detail=detail,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def handle_validation_error(request: Request, error: Exception) -> Response:
    exc = cast(RequestValidationError, error)
    errors = [_field_error(error) for error in _useful_errors(exc.errors())]
    return problem_response(
        request,
        status=422,
        code="validation_failed",
        title=_("Validation failed"),
        detail=_format(N_("The request has {count} invalid field(s)."), {"count": len(errors)}),
        errors=errors,
    )


_HTTP_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str | None:
    """Every method the path supports (Starlette names only its first matching route's),
    found by asking the routes whether each method would match fully."""
    allowed = [
        method
        for method in _HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.routes
        )
    ]
    return ", ".join(allowed) or None


async def handle_http_exception(request: Request, error: Exception) -> Response:
    exc = cast(StarletteHTTPException, error)
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allow := _allowed_methods(request)):
        headers["Allow"] = allow
    code, title, detail = _STATUS_TEXT.get(
        exc.status_code,
        (HTTPStatus(exc.status_code).name.lower(), HTTPStatus(exc.status_code).phrase, None),
    )
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=_(title),
        detail=_(detail) if detail else None,
        headers=headers,
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    logger.error(
        "unhandled error",
        exc_info=exc,
        extra={"request_id": request.scope.get("state", {}).get("request_id"), "path": request.url.path},
    )
    code, title, detail = _STATUS_TEXT[500]
    return problem_response(
        request, status=500, code=code, title=_(title), detail=_(detail) if detail else None
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, handle_problem)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(Exception, handle_unexpected)


PROBLEM_DESCRIPTIONS = {
    400: "Malformed request.",
    401: "Not authenticated.",
    403: "Authenticated, but not allowed to do this.",
    404: "The resource does not exist, or is not visible to the caller.",
    405: "Method not allowed.",
    409: "Conflicts with the current state.",
    410: "No longer available.",
    412: "The `If-Match` precondition failed: the resource changed.",
    413: "The request body is too large.",
    415: "The request body is not JSON.",
    422: "Invalid input: `errors` lists each bad field.",
    429: "Rate limited; see `Retry-After`.",
    500: "Unexpected error; details are logged under the request id.",
    502: "An outside service answered something that could not be used.",
    503: "A dependency is unavailable.",
}


def problem_example(status: int) -> dict[str, Any]:
    code, title, detail = _STATUS_TEXT.get(
        status, (HTTPStatus(status).name.lower(), HTTPStatus(status).phrase, None)
    )
    example: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail or PROBLEM_DESCRIPTIONS.get(status),
        "instance": "/api/notes/5d7c2b1e-7c3f-4a5e-9d59-6a1f3f0c2b11",
        "code": code,
        "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
    }
    if status == 422:
        example.update(
            code="validation_failed",
            type=problem_type("validation_failed"),
            title="Validation failed",
            detail="The request has 1 invalid field(s).",
            errors=[
                {
                    "loc": ["body", "title"],
                    "field": "title",
                    "message": "This field is required.",
                    "type": "missing",
                }
            ],
        )
    return example


def problem_response_doc(status: int) -> dict[str, Any]:
    return {
        "description": PROBLEM_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/ProblemDetails"},
                "example": problem_example(status),
            }
        },
    }


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem documents for `statuses`."""
    return {status: problem_response_doc(status) for status in statuses}


# For modules whose public spec fixes another error shape (the blog's RealWorld errors).


def problem_text(error: Problem) -> str:
    """The problem's detail (its title when it has none), translated and formatted."""
    return _format(error.detail, error.params) if error.detail else _(error.title)


def field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """One entry per invalid field, with its translated message, as in a 422 problem document."""
    return [_field_error(entry) for entry in error.errors()]


def http_error_text(status: int) -> str:
    """The translated text the problem documents use for a status the framework raises."""
    _code, title, detail = _STATUS_TEXT.get(status, ("", HTTPStatus(status).phrase, None))
    return _(detail or title)
