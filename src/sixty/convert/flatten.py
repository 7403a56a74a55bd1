"""Flattening a JSON record into CSV rows: nested objects become dotted columns (`address.city`).

Arrays either stay in one cell (`join`: scalars joined with a separator, arrays holding
objects or arrays as compact JSON) or `explode` into one row per element; several arrays in
one record explode into every combination, bounded by `max_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson

from sixty.convert.problems import InputError
from sixty.core.i18n import N_

ArrayMode = Literal["join", "explode"]
# A cell: text, or a number (kept apart: a number is never taken for a formula).
Cell = str | Decimal
Row = dict[str, Cell]


@dataclass(frozen=True, slots=True)
class Flattening:
    arrays: ArrayMode = "join"
    separator: str = "|"
    max_depth: int = 32
    max_columns: int = 1000
    max_rows: int = 1000


def flatten(record: dict[str, Any], how: Flattening) -> list[Row]:
    """The rows of one record (one, unless arrays explode). Raises `InputError` when it nests
    too deeply, has too many columns or rows, or two fields land in one column."""
    if how.arrays == "explode":
        rows = _explode("", record, 0, how)
    else:
        row: Row = {}
        _join_into(row, "", record, 0, how)
        rows = [row]
    if rows and len(rows[0]) > how.max_columns:
        raise _too_many_columns(how.max_columns)
    return rows


def _cell(value: Any) -> Cell:
    if isinstance(value, str | Decimal):
        return value
    if value is None:
        return ""
    return "true" if value else "false"


def _child(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _put(row: Row, column: str, cell: Cell) -> None:
    if column in row:
        raise InputError(
            N_("Two fields of a record flatten to the same column {column}."),
            code="column_collision",
            column=repr(column),
        )
    row[column] = cell


def _too_deep(how: Flattening) -> InputError:
    return InputError(
        N_("Record {record} (line {line}) nests deeper than {limit} levels."),
        code="too_deep",
        limit=how.max_depth,
    )


def _too_many_columns(limit: int) -> InputError:
    return InputError(N_("The records have more than {limit} columns."), code="too_many_columns", limit=limit)


def _json_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError


def _join_into(row: Row, prefix: str, value: Any, depth: int, how: Flattening) -> None:
    if isinstance(value, dict):
        if depth >= how.max_depth:
            raise _too_deep(how)
        if not value and prefix:
            _put(row, prefix, "")  # keep the column of an empty object
        for key, item in value.items():
            _join_into(row, _child(prefix, key), item, depth + 1, how)
            if len(row) > how.max_columns:
                raise _too_many_columns(how.max_columns)
    elif isinstance(value, list):
        if depth >= how.max_depth:
            raise _too_deep(how)
        if all(not isinstance(item, dict | list) for item in value):
            _put(row, prefix, how.separator.join(str(_cell(item)) for item in value))
        else:
            _check_depth(value, depth, how)
            _put(row, prefix, orjson.dumps(value, default=_json_number).decode())
    else:
        _put(row, prefix, _cell(value))


def _check_depth(value: Any, depth: int, how: Flattening) -> None:
    """Refuses what nests deeper than the limit inside an array kept whole as JSON."""
    pending = [(value, depth)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            if level >= how.max_depth:
                raise _too_deep(how)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)


def _explode(prefix: str, value: Any, depth: int, how: Flattening) -> list[Row]:
    if isinstance(value, dict | list) and depth >= how.max_depth:
        raise _too_deep(how)
    if isinstance(value, dict):
        rows: list[Row] = [{}]
        for key, item in value.items():
            below = _explode(_child(prefix, key), item, depth + 1, how)
            if len(rows) * len(below) > how.max_rows:
                raise _too_many_rows(how)
            combined: list[Row] = []
            for row in rows:
                for other in below:
                    merged = dict(row)
                    for column, cell in other.items():
                        _put(merged, column, cell)
                    combined.append(merged)
            rows = combined
            if len(rows[0]) > how.max_columns:
                raise _too_many_columns(how.max_columns)
        if not value and prefix:
            return [{prefix: ""}]
        return rows
    if isinstance(value, list):
        exploded: list[Row] = []
        for item in value:
            exploded.extend(_explode(prefix, item, depth + 1, how))
            if len(exploded) > how.max_rows:
                raise _too_many_rows(how)
        return exploded or [{}]  # an empty array keeps the record's row, its cells empty
    return [{prefix: _cell(value)}]


def _too_many_rows(how: Flattening) -> InputError:
    return InputError(
        N_("Record {record} (line {line}) explodes into more than {limit} rows."),
        code="too_many_rows",
        limit=how.max_rows,
    )
