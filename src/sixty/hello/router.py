"""B1 Hello World: `GET /api/hello`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator

from sixty.core.errors import problem_responses
from sixty.core.i18n import N_
from sixty.core.routing import module_router
from sixty.hello import service
from sixty.hello.schemas import Greeting

router = module_router("/api/hello", "hello")


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError(N_("Must contain printable characters only."))
    return value


Name = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="Who to greet: 1..64 printable characters.",
        examples=["Ada"],
    ),
    AfterValidator(lambda value: None if value is None else _printable(value)),
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
async def hello(name: Name = None) -> Greeting:
    return Greeting(message=service.greet(name))
