"""B13 Converters: JSON (array or NDJSON) to CSV, and CSV to JSON, streamed with flat memory.

Everything here is blocking and runs in a worker thread, reading the request body as a file
(`streams.BodyReader`) and producing the answer as an iterator of byte chunks.

- JSON to CSV, columns from the records: every record is flattened and spooled to a temporary
  file while the union of columns is collected (in order of first appearance); then the CSV
  is written from the spool. The whole input is read, and validated, before the answer starts.
- JSON to CSV, columns given: rows are written as records arrive, no spooling. Only the first
  chunk of the answer is produced before it starts; a bad record further on can no longer
  change the status, so the answer is cut off (the client sees an incomplete response).
- CSV to JSON: records are written to a temporary file as JSON while the CSV is validated;
  then the file is streamed.
"""

from __future__ import annotations

import csv
import io
import marshal
import re
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

import orjson

from sixty.convert.flatten import Flattening, Row, escape_formula, flatten
from sixty.convert.problems import InputError, Where, decode_line
from sixty.convert.records import InputKind, Record, read_records
from sixty.core.config import Settings
from sixty.core.i18n import N_

__all__ = ["ConvertLimits", "CsvFormat", "InputError", "InputKind", "JsonFormat"]

CHUNK_BYTES = 1 << 16  # the answer is produced in chunks of about this size
_LENGTH = struct.Struct("<I")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class ConvertLimits:
    max_record_bytes: int
    max_columns: int
    max_depth: int
    max_rows_per_record: int
    spool_dir: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> ConvertLimits:
        return cls(
            max_record_bytes=settings.convert_max_record_bytes,
            max_columns=settings.convert_max_columns,
            max_depth=settings.convert_max_depth,
            max_rows_per_record=settings.convert_max_rows_per_record,
            spool_dir=settings.convert_spool_dir,
        )

    def spool(self) -> IO[bytes]:
        # Unnamed where the OS allows (Linux O_TMPFILE): the space comes back whenever it closes.
        return tempfile.TemporaryFile(dir=self.spool_dir)


@dataclass(frozen=True, slots=True)
class CsvFormat:
    delimiter: str = ","
    quote_all: bool = False
    line_terminator: str = "\r\n"
    bom: bool = False
    header: bool = True
    escape_formulas: bool = True

    def writer(self, buffer: io.StringIO) -> Any:
        return csv.writer(
            buffer,
            delimiter=self.delimiter,
            quoting=csv.QUOTE_ALL if self.quote_all else csv.QUOTE_MINIMAL,
            lineterminator=self.line_terminator,
        )

    def header_cells(self, columns: Iterable[str]) -> list[str] | None:
        """The header row (column names escaped like text cells), or None without one."""
        if not self.header:
            return None
        return [escape_formula(column) if self.escape_formulas else column for column in columns]


# --- JSON to CSV --------------------------------------------------------------------------------


def _flattening(
    arrays: Literal["join", "explode"], separator: str, output: CsvFormat, limits: ConvertLimits
) -> Flattening:
    return Flattening(
        arrays=arrays,
        separator=separator,
        escape_formulas=output.escape_formulas,
        max_depth=limits.max_depth,
        max_columns=limits.max_columns,
        max_rows=limits.max_rows_per_record,
    )


def _located_rows(records: Iterable[Record], how: Flattening) -> Iterator[Row]:
    for record in records:
        try:
            rows = flatten(record.value, how)
        except InputError as error:
            raise error.locate(record.where) from None
        yield from rows


# Records mostly share a few sets of fields ("shapes"): a spooled row is its shape's number and
# its cells, and a shape's column positions are worked out once. Past this many shapes (sparse
# data), rows are spooled as (column, cell) pairs instead, so memory stays bounded.
MAX_SHAPES = 4096
_PAIRS = -1


@dataclass(slots=True)
class Spooled:
    """Flattened rows on disk, and the columns they use, in order of first appearance."""

    file: IO[bytes]
    columns: list[str]
    shapes: list[tuple[int, ...]]  # the column index of each cell, per shape

    def rows(self) -> Iterator[Sequence[str]]:
        """Every row, as wide as `columns`, empty where a record has no such field."""
        width = len(self.columns)
        # Per shape: pick each column's cell from the row, or the "" appended after its cells.
        pickers = [_picker(width, shape) for shape in self.shapes]
        self.file.seek(0)
        read = self.file.read
        while header := read(_LENGTH.size):
            shape, cells = marshal.loads(read(_LENGTH.unpack(header)[0]))  # noqa: S302 - our own spool
            if shape == _PAIRS:
                row = [""] * width
                for index in range(0, len(cells), 2):
                    row[cells[index]] = cells[index + 1]
                yield row
            else:
                cells.append("")
                yield pickers[shape](cells)


def _picker(width: int, shape: tuple[int, ...]) -> Callable[[list[str]], Sequence[str]]:
    position = {column: index for index, column in enumerate(shape)}
    missing = len(shape)
    indexes = [position.get(column, missing) for column in range(width)]
    if width == 1:
        return lambda cells: (cells[indexes[0]],)
    return itemgetter(*indexes)


def spool_rows(
    body: BinaryIO,
    kind: InputKind,
    *,
    arrays: Literal["join", "explode"],
    separator: str,
    output: CsvFormat,
    limits: ConvertLimits,
) -> Spooled:
    """Reads and flattens every record into a spool file (cells as they will be written), so
    that any bad input is found before the answer starts."""
    spool = limits.spool()
    columns: dict[str, int] = {}
    shapes: dict[tuple[str, ...], int] = {}
    layouts: list[tuple[int, ...]] = []
    write = spool.write
    how = _flattening(arrays, separator, output, limits)
    try:
        for record in read_records(body, kind, max_record_bytes=limits.max_record_bytes):
            try:
                rows = flatten(record.value, how)
            except InputError as error:
                raise error.locate(record.where) from None
            for row in rows:
                names = tuple(row)
                shape = shapes.get(names)
                if shape is None:
                    layout = tuple(_column(columns, name, record, limits) for name in names)
                    if len(shapes) < MAX_SHAPES:
                        shape = shapes[names] = len(layouts)
                        layouts.append(layout)
                if shape is None:
                    pairs: list[int | str] = []
                    for name, cell in row.items():
                        pairs += (columns[name], cell)
                    data = marshal.dumps((_PAIRS, pairs))
                else:
                    # marshal: the fastest round trip of plain lists; the file is ours alone.
                    data = marshal.dumps((shape, list(row.values())))
                write(_LENGTH.pack(len(data)))
                write(data)
    except BaseException:
        spool.close()
        raise
    return Spooled(spool, list(columns), layouts)


def _column(columns: dict[str, int], name: str, record: Record, limits: ConvertLimits) -> int:
    index = columns.get(name)
    if index is None:
        if len(columns) == limits.max_columns:
            raise InputError(
                N_("The records have more than {limit} columns."),
                code="too_many_columns",
                where=record.where,
                limit=limits.max_columns,
            )
        index = columns[name] = len(columns)
    return index


def csv_from_spool(spooled: Spooled, output: CsvFormat) -> Iterator[bytes]:
    """The CSV of spooled rows, in chunks; closes the spool when done (or when closed early)."""
    try:
        header = output.header_cells(spooled.columns) if spooled.columns else None
        yield from _csv_chunks(header, spooled.rows(), output)
    finally:
        spooled.file.close()


def stream_csv(
    body: BinaryIO,
    kind: InputKind,
    *,
    columns: list[str],
    arrays: Literal["join", "explode"],
    separator: str,
    output: CsvFormat,
    limits: ConvertLimits,
) -> Iterator[bytes]:
    """The CSV of the records in the caller's `columns`, written as the records are read;
    fields outside those columns are left out."""
    records = read_records(body, kind, max_record_bytes=limits.max_record_bytes)
    rows = (
        [row.get(column, "") for column in columns]
        for row in _located_rows(records, _flattening(arrays, separator, output, limits))
    )
    return _csv_chunks(output.header_cells(columns), rows, output)


def _csv_chunks(
    header: list[str] | None, rows: Iterable[Sequence[str]], output: CsvFormat
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = output.writer(buffer)
    if output.bom:
        buffer.write("\ufeff")
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


# --- CSV to JSON --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsonFormat:
    ndjson: bool = False
    header: bool = True  # the first row names the fields; without it each record is an array
    nested: bool = False  # `address.city` -> {"address": {"city": ...}}
    infer_types: bool = False  # numbers, true/false and empty cells (null) instead of strings only


class _CsvLines:
    """The body's lines as text for `csv.reader`, which reads exactly the lines of one row at a
    time: the line and byte of an encoding error are exact, and a row (quoted fields may span
    lines) is refused once it passes `max_record_bytes`."""

    def __init__(self, body: BinaryIO, max_record_bytes: int) -> None:
        self.body = body
        self.max_record_bytes = max_record_bytes
        self.line = 0
        self.offset = 0
        self.row_bytes = 0  # of the row being read

    def __iter__(self) -> Iterator[str]:
        while line := self.body.readline(self.max_record_bytes + 1):
            self.line += 1
            self.row_bytes += len(line)
            if self.row_bytes > self.max_record_bytes:
                raise InputError(
                    N_("The row at line {line} is longer than {limit} bytes."),
                    code="record_too_large",
                    where=Where(line=self.line, offset=self.offset),
                    limit=self.max_record_bytes,
                )
            text = decode_line(line, number=self.line, offset=self.offset)
            yield text.removeprefix("\ufeff") if self.line == 1 else text
            self.offset += len(line)

    def row_done(self) -> None:
        self.row_bytes = 0


def _check_header(header: list[str], *, nested: bool, limits: ConvertLimits) -> list[tuple[str, ...]]:
    where = Where(line=1)
    if len(header) > limits.max_columns:
        raise InputError(
            N_("The CSV has more than {limit} columns."),
            code="too_many_columns",
            where=where,
            limit=limits.max_columns,
        )
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise InputError(
                N_("Column {column} of the header has no name."),
                code="invalid_header",
                where=where,
                column=position,
            )
        if name in seen:
            raise InputError(
                N_("The header names the column {name} twice."),
                code="invalid_header",
                where=where,
                name=repr(name),
            )
        seen.add(name)
    paths = [tuple(name.split(".")) if nested else (name,) for name in header]
    if nested:
        leaves = set(paths)
        for path in paths:
            if "" in path:
                raise InputError(
                    N_("The column {name} has an empty part between its dots."),
                    code="invalid_header",
                    where=where,
                    name=repr(".".join(path)),
                )
            for cut in range(1, len(path)):
                if path[:cut] in leaves:
                    raise InputError(
                        N_("The column {name} is both a value and an object."),
                        code="invalid_header",
                        where=where,
                        name=repr(".".join(path[:cut])),
                    )
    return paths


def _typed(cell: str) -> Any:
    if not cell:
        return None
    if cell in ("true", "false"):
        return cell == "true"
    if _JSON_NUMBER.fullmatch(cell):
        return orjson.Fragment(cell)  # written as sent: no float rounding, any size
    return cell


def _record(paths: list[tuple[str, ...]], cells: list[Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for path, cell in zip(paths, cells, strict=True):
        target = record
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = cell
    return record


def spool_json(body: BinaryIO, *, delimiter: str, output: JsonFormat, limits: ConvertLimits) -> IO[bytes]:
    """Reads the whole CSV, writing its records as JSON to a spool file (rewound), so that any
    bad input is found before the answer starts."""
    # The csv module's own field limit is process-wide: only ever raise it; _CsvLines bounds rows.
    if csv.field_size_limit() < limits.max_record_bytes:
        csv.field_size_limit(limits.max_record_bytes)
    lines = _CsvLines(body, limits.max_record_bytes)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    spool = limits.spool()
    try:
        _write_json(spool, reader, lines, output, limits)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _write_json(
    spool: IO[bytes], reader: Any, lines: _CsvLines, output: JsonFormat, limits: ConvertLimits
) -> None:
    paths: list[tuple[str, ...]] | None = None
    width: int | None = None
    count = 0
    line = 0
    write = spool.write
    write(b"" if output.ndjson else b"[")
    try:
        for cells in reader:
            lines.row_done()
            start, line = line + 1, reader.line_num
            if not cells:
                continue  # a blank line
            if width is None:
                width = len(cells)
                if output.header:
                    paths = _check_header(cells, nested=output.nested, limits=limits)
                    continue
                if width > limits.max_columns:
                    raise InputError(
                        N_("The CSV has more than {limit} columns."),
                        code="too_many_columns",
                        where=Where(line=start),
                        limit=limits.max_columns,
                    )
            if len(cells) != width:
                raise InputError(
                    N_("The row at line {line} has {count} fields; the first row has {width}."),
                    code="ragged_row",
                    where=Where(line=start),
                    count=len(cells),
                    width=width,
                )
            values = [_typed(cell) for cell in cells] if output.infer_types else cells
            data = orjson.dumps(_record(paths, values) if paths is not None else values)
            if output.ndjson:
                write(data + b"\n")
            else:
                write(b"\n" + data if count == 0 else b",\n" + data)
            count += 1
    except csv.Error as error:
        raise InputError(
            N_("The CSV is malformed at line {line}: {reason}."),
            code="invalid_csv",
            where=Where(line=reader.line_num),
            reason=str(error),
        ) from None
    if width is None:
        raise InputError(N_("The body is empty."), code="empty_body")
    if not output.ndjson:
        write(b"\n]\n" if count else b"]\n")


def file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    """A file in chunks; closes it when done (or when closed early)."""
    try:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk
    finally:
        file.close()
