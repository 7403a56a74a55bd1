"""Flattening a JSON record into CSV rows: nested objects become dotted columns (`address.city`).

Arrays either stay in one cell (`join`: scalars joined with a separator, arrays holding
objects or arrays as compact JSON) or `explode` into one row per element; several arrays in
one record explode into every combination, bounded by `max_rows`.

Cells come out as the text to write: numbers as sent, `true`/`false`, null as an empty cell,
and text that a spreadsheet would run as a formula (OWASP "CSV injection": it starts with
= + - @, tab or CR) behind a `'`, unless `escape_formulas` is off. A number is never escaped:
`-5` is a number, not a formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson

from sixty.convert.problems import InputError
from sixty.core.i18n import N_

ArrayMode = Literal["join", "explode"]
Row = dict[str, str]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Keyed by None, True and False only: a Decimal 1 would find True's entry.
_WORDS: dict[Any, str] = {None: "", True: "true", False: "false"}


@dataclass(frozen=True, slots=True)
class Flattening:
    arrays: ArrayMode = "join"
    separator: str = "|"
    escape_formulas: bool = True
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


def escape_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(scalar: Any, escape: bool) -> str:
    kind = type(scalar)
    if kind is str:
        return "'" + scalar if escape and scalar.startswith(FORMULA_STARTS) else str(scalar)
    if kind is Decimal:
        return str(scalar)
    return _WORDS[scalar]


def _join_into(row: Row, prefix: str, value: dict[str, Any], depth: int, how: Flattening) -> None:
    """Flattens an object into `row`; `prefix` is "" or ends with a dot. The hot loop of a
    conversion, so it dispatches on exact types (JSON decoding makes no subclasses)."""
    if depth >= how.max_depth:
        raise _too_deep(how)
    escape = how.escape_formulas
    for key, item in value.items():
        column = prefix + key
        kind = type(item)
        if kind is str:
            cell = "'" + item if escape and item.startswith(FORMULA_STARTS) else item
        elif kind is Decimal:
            cell = str(item)
        elif kind is dict:
            if item:
                _join_into(row, column + ".", item, depth + 1, how)
                if len(row) > how.max_columns:
                    raise _too_many_columns(how.max_columns)
                continue
            cell = ""  # keep the column of an empty object
        elif kind is list:
            if depth + 1 >= how.max_depth:
                raise _too_deep(how)
            if any(type(element) is dict or type(element) is list for element in item):
                _check_depth(item, depth + 1, how)
                cell = orjson.dumps(item, default=_json_number).decode()
            else:
                cell = how.separator.join([_text(element, False) for element in item])
                if escape and cell.startswith(FORMULA_STARTS):
                    cell = "'" + cell
        else:
            cell = _WORDS[item]
        if column in row:
            raise _collision(column)
        row[column] = cell


def _json_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError


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
            below = _explode(f"{prefix}.{key}" if prefix else key, item, depth + 1, how)
            if len(rows) * len(below) > how.max_rows:
                raise _too_many_rows(how)
            combined: list[Row] = []
            for row in rows:
                for other in below:
                    merged = dict(row)
                    for column, cell in other.items():
                        if column in merged:
                            raise _collision(column)
                        merged[column] = cell
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
    return [{prefix: _text(value, how.escape_formulas)}]


def _collision(column: str) -> InputError:
    return InputError(
        N_("Two fields of a record flatten to the same column {column}."),
        code="column_collision",
        column=repr(column),
    )


def _too_deep(how: Flattening) -> InputError:
    return InputError(
        N_("Record {record} (line {line}) nests deeper than {limit} levels."),
        code="too_deep",
        limit=how.max_depth,
    )


def _too_many_columns(limit: int) -> InputError:
    return InputError(N_("The records have more than {limit} columns."), code="too_many_columns", limit=limit)


def _too_many_rows(how: Flattening) -> InputError:
    return InputError(
        N_("Record {record} (line {line}) explodes into more than {limit} rows."),
        code="too_many_rows",
        limit=how.max_rows,
    )
