"""The Todo-Backend representation: `title`, `completed`, `order` and an absolute `url`.

Input types are strict: `"completed": "yes"` or `"order": "3"` is a 422, never silently coerced.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)
from pydantic.config import JsonDict

from sixty.core.i18n import N_
from sixty.core.text import NOT_BLANK

TITLE_MAX = 500
ORDER_MIN, ORDER_MAX = -(2**31), 2**31 - 1  # what every backend's INTEGER holds

# Kept as sent (the spec echoes what was posted); at least one character that is not blank.
Title = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=TITLE_MAX, pattern=NOT_BLANK)]


def _integral(value: object) -> object:
    """JSON has one number type: `3.0` is the integer 3 (as JSON Schema's `integer` says);
    `3.5`, `"3"` and `true` stay what they are and are refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Order = Annotated[StrictInt, Field(ge=ORDER_MIN, le=ORDER_MAX), BeforeValidator(_integral)]

EXAMPLE: JsonDict = {
    "id": "0b6f1f5e-4a53-4b8a-9a4b-0f3e6a1d2c7e",
    "title": "walk the dog",
    "completed": False,
    "order": 1,
    "url": "http://127.0.0.1:8000/api/todos/0b6f1f5e-4a53-4b8a-9a4b-0f3e6a1d2c7e",
}

TITLE_DOC = f"1..{TITLE_MAX} characters, not all blank; kept exactly as sent."
ORDER_DOC = "The client's position for the todo, any 32-bit integer, kept as given; lists sort by it."


class TodoCreate(BaseModel):
    """A new todo: `title` is required (a todo says what to do); `completed` defaults to false."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "walk the dog", "order": 1}]}
    )

    title: Title = Field(description=TITLE_DOC)
    completed: StrictBool = Field(default=False, description="Defaults to false.")
    order: Order | None = Field(default=None, description=ORDER_DOC + " Omitted or null: none.")


def _update_schema(schema: dict[str, Any]) -> None:
    """`title` and `completed` refuse null (see `_not_null`), so their documented schema has no
    null either; `order` keeps it (null removes the position)."""
    for name in ("title", "completed"):
        field = schema["properties"][name]
        field.update(next(kind for kind in field.pop("anyOf") if kind != {"type": "null"}))
        field.pop("default", None)
    schema["examples"] = [{"completed": True}, {"title": "bathe the cat", "order": 2}]


class TodoUpdate(BaseModel):
    """Only the fields to change (PATCH), in any combination."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_update_schema)

    # Omitted means "keep"; an explicit null is refused. (Nullable types rather than a union with
    # None, so a bad value reports one error, on the field itself.)
    title: Title | None = Field(default=None, description="Omit to keep the title.")
    completed: StrictBool | None = Field(default=None, description="Omit to keep it.")
    order: Order | None = Field(default=None, description=ORDER_DOC + " Null removes it; omit to keep.")

    @field_validator("title", "completed", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value


class TodoRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: uuid.UUID
    title: str
    completed: bool
    order: int | None = Field(description="Null when the todo was never given one.")
    url: str = Field(description="The todo's absolute URL: GET, PATCH and DELETE it there.")
