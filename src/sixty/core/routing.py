"""The router every module uses: JSON bodies must say so (415 otherwise), and a request for a
path outside the module's prefix is turned away without trying each of its routes."""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette._utils import get_route_path  # what every route matches against
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from sixty.core.errors import UnsupportedMediaType
from sixty.core.i18n import N_


def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class JSONRoute(APIRoute):
    """An APIRoute whose JSON body must come as `application/json` (or `+json`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        body = self.body_field
        if body is None or isinstance(body.field_info, params.Form | params.File):
            return handler

        async def checked_handler(request: Request) -> Response:
            headers = request.headers
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            if has_body:
                if not _is_json(headers.get("content-type", "")):
                    raise UnsupportedMediaType(N_("Send the request body as application/json."))
                try:  # strict RFC 8259 (UTF-8 only), so every malformed body is a 422, never a 400
                    parsed = orjson.loads(await request.body())
                except orjson.JSONDecodeError as error:
                    raise RequestValidationError(
                        [
                            {
                                "type": "json_invalid",
                                "loc": ("body", error.pos),
                                "msg": error.msg,
                                "input": None,
                            }
                        ]
                    ) from None
                # Starlette's Request.json() caches here; FastAPI then reuses this parse.
                request._json = parsed
            return await handler(request)

        return checked_handler


class ModuleRouter(APIRouter):
    """A module's router. FastAPI matches a request against every route of every router in turn
    (about 1 us each, over 200 routes): a router whose own prefix the path does not start with
    answers "no match" at once instead. That holds only where no prefix is added when it is
    included: by the app, or by a router without a prefix (tests/core/test_routing.py checks
    every route of the app is still reached). A router nested under a prefix is a plain APIRouter.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.prefix and not get_route_path(scope).startswith(self.prefix):
            return Match.NONE, {}
        return super().matches(scope)


def module_router(
    prefix: str, tag: str, *, route_class: type[APIRoute] = JSONRoute, **kwargs: Any
) -> APIRouter:
    """The router of one module: its prefix, its OpenAPI tag, JSON routes."""
    return ModuleRouter(prefix=prefix, tags=[tag], route_class=route_class, **kwargs)
