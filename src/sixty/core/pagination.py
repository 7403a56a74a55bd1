"""Cursor (keyset) pagination, shared by every list endpoint.

A page answers `{"items": [...], "next_cursor": "..." | null}`. The cursor is
opaque to clients: the sort key and the last row's position, signed with the
app secret so a tampered or foreign cursor is a 422 rather than a 500 or a
silently wrong page. Keyset pages stay fast at any depth (no OFFSET scan).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import Integer, and_, bindparam, or_
from sqlalchemy.orm import InstrumentedAttribute

from sixty.core.i18n import N_, _
from sixty.core.reader import AnySelect, Reader, Row

ItemT = TypeVar("ItemT")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1..100).")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=512, description="Opaque cursor from the previous page's `next_cursor`."),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


def invalid_cursor(cursor: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "invalid_cursor",
                "loc": ("query", "cursor"),
                "msg": _(N_("The cursor is invalid or has been tampered with.")),
                "input": cursor,
            }
        ]
    )


class CursorCodec:
    """Signs and verifies cursors with the app secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"sixty.cursor:" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> str:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def encode(self, values: Sequence[Any]) -> str:
        payload = base64.urlsafe_b64encode(orjson.dumps(list(values))).rstrip(b"=")
        return f"{payload.decode()}.{self._sign(payload)}"

    def decode(self, cursor: str) -> list[Any]:
        payload, _dot, signature = cursor.partition(".")
        expected = self._sign(payload.encode()).encode()
        if not payload or not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            raise invalid_cursor(cursor)
        try:
            values = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, orjson.JSONDecodeError):
            raise invalid_cursor(cursor) from None
        if not isinstance(values, list):
            raise invalid_cursor(cursor)
        return values


async def cursor_codec(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.cursor_codec
    return codec


@dataclass(frozen=True)
class SortKey:
    """One allowed `sort` value: a column, its direction, and the unique tie-breaker."""

    name: str
    column: InstrumentedAttribute[Any]
    descending: bool
    tiebreak: InstrumentedAttribute[Any]


def sort_keys(
    tiebreak: InstrumentedAttribute[Any], **columns: InstrumentedAttribute[Any]
) -> dict[str, SortKey]:
    """`sort=field` and `sort=-field` for each allowed column."""
    keys: dict[str, SortKey] = {}
    for name, column in columns.items():
        keys[name] = SortKey(name, column, False, tiebreak)
        keys[f"-{name}"] = SortKey(f"-{name}", column, True, tiebreak)
    return keys


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _from_json(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    python_type = column.type.python_type
    if python_type is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive datetime in cursor")
        return parsed
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if not isinstance(value, python_type):
        raise TypeError("cursor value of the wrong type")
    return value


def keyset_page(base: AnySelect, sort: SortKey, *, after: bool) -> AnySelect:
    """`base` ordered by `sort`, limited to `:limit` rows, and when `after` is set,
    starting past the row at (`:after_value`, `:after_key`). Build it once per shape."""
    column, tiebreak = sort.column, sort.tiebreak
    statement = base
    if after:
        value = bindparam("after_value", type_=column.type)
        key = bindparam("after_key", type_=tiebreak.type)
        past = (column < value) if sort.descending else (column > value)
        tie = (tiebreak < key) if sort.descending else (tiebreak > key)
        statement = statement.where(or_(past, and_(column == value, tie)))
    order = (column.desc(), tiebreak.desc()) if sort.descending else (column.asc(), tiebreak.asc())
    return statement.order_by(*order).limit(bindparam("limit", type_=Integer()))


async def paginate(
    reader: Reader,
    statement_for: Callable[[bool], AnySelect],
    *,
    sort: SortKey,
    params: PageParams,
    codec: CursorCodec,
    **filters: Any,
) -> tuple[list[Row], str | None]:
    """One page of rows; `statement_for(after)` returns the (cached) `keyset_page` statement."""
    values: dict[str, Any] = {"limit": params.limit + 1, **filters}
    if params.cursor is not None:
        decoded = codec.decode(params.cursor)
        if len(decoded) != 3 or decoded[0] != sort.name:
            raise invalid_cursor(params.cursor)  # from another sort order, or malformed
        try:
            values["after_value"] = _from_json(decoded[1], sort.column)
            values["after_key"] = _from_json(decoded[2], sort.tiebreak)
        except (TypeError, ValueError):
            raise invalid_cursor(params.cursor) from None
    rows = await reader.all(statement_for(params.cursor is not None), **values)
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    next_cursor = codec.encode(
        [sort.name, _to_json(last[sort.column.key]), _to_json(last[sort.tiebreak.key])]
    )
    return rows, next_cursor
