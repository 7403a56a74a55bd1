"""B1 Hello World: `GET /api/hello`."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Query, Response

from sixty.core.errors import problem_responses
from sixty.core.routing import module_router
from sixty.hello import service
from sixty.hello.schemas import Greeting

router = module_router("/api/hello", "hello")


# Printable: no control characters (C0, DEL, C1), soft hyphen, zero-width and bidi
# controls, or line/paragraph separators. The same pattern is in the OpenAPI schema.
PRINTABLE = r"^[^\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+$"

Name = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=PRINTABLE,
        description="Who to greet: 1..64 printable characters (no control or invisible format characters).",
        examples=["Ada"],
    ),
]


@router.get(
    "",
    summary="Say hello",
    description="Greets the world, or `name` when given, in the language negotiated from "
    "`Accept-Language` (en, es, fr, de); `Content-Language` says which one was used.",
    response_model=Greeting,
    responses={
        200: {"content": {"application/json": {"example": {"message": "Hello, World!"}}}},
        **problem_responses(422),
    },
)
async def hello(name: Name = None) -> Response:
    # Sent as it is: FastAPI would validate a returned Greeting against the response model again
    # and serialise it (a tenth of this route's work); `Greeting` documents the answer.
    return Response(orjson.dumps({"message": service.greet(name)}), media_type="application/json")
