"""The converters' 422: a problem document that says where in the input the problem is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sixty.core.errors import Unprocessable
from sixty.core.i18n import N_


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the uploaded input: 1-based `line`, 0-based `record` (JSON) and byte `offset`."""

    line: int | None = None
    record: int | None = None
    offset: int | None = None


class InputError(Unprocessable):
    """Bad input. `line`, `record` and `offset` (when known) go into the problem document."""

    def __init__(self, detail: str, *, code: str, where: Where | None = None, **params: Any) -> None:
        super().__init__(detail, code=code, **params)
        self.where = where or Where()
        self.locate(self.where)

    def locate(self, where: Where) -> InputError:
        """Adds what `where` knows and the error does not yet (a record's line, once known)."""
        self.where = Where(
            line=self.where.line if self.where.line is not None else where.line,
            record=self.where.record if self.where.record is not None else where.record,
            offset=self.where.offset if self.where.offset is not None else where.offset,
        )
        self.extensions = {
            key: value
            for key, value in (
                ("line", self.where.line),
                ("record", self.where.record),
                ("offset", self.where.offset),
            )
            if value is not None
        }
        self.params.update(line=self.where.line, record=self.where.record, offset=self.where.offset)
        return self


def decode_line(line: bytes, *, number: int, offset: int) -> str:
    """One line of the body as text; `offset` is the byte where the line starts."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            N_("Line {line} is not UTF-8 (byte {offset})."),
            code="invalid_utf8",
            where=Where(line=number, offset=offset + error.start),
        ) from None
