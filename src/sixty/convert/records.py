"""Reading uploaded JSON records one at a time: a JSON array of objects, or NDJSON.

Both readers pull from a blocking binary file (the request body, read in a worker thread) and
hold at most one record (bounded by `max_record_bytes`) plus one read-ahead chunk in memory.
Numbers are kept as `Decimal`, so they are written out as they were sent (`1.50` stays `1.50`).

The array reader decodes one element at a time with the standard library's C scanner
(`JSONDecoder.raw_decode`), reading more when an element runs past the end of its buffer.
It is bounded in nesting depth by the interpreter's recursion limit (a `RecursionError`, which
we answer as too deep), unlike ijson's item builder, whose memory grows with the square of the
nesting depth (20,000 levels of `[` take about 1 GB).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, Literal

from sixty.convert.problems import InputError, Where, decode_line
from sixty.core.i18n import N_

InputKind = Literal["json", "ndjson", "sniff"]

_CHUNK = 1 << 16
_BLANK = " \t\r\n"
_NON_BLANK = re.compile(r"[^ \t\r\n]")
# A \uD800-\uDFFF escape: only then can a decoded string hold a lone surrogate (not UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class Record:
    value: dict[str, Any]
    where: Where


def _not_finite(name: str) -> Any:
    raise ValueError(name)


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal, parse_constant=_not_finite)


def read_records(body: BinaryIO, kind: InputKind, *, max_record_bytes: int) -> Iterator[Record]:
    """The objects of a JSON array (`json`), or of NDJSON lines (`ndjson`); `sniff` decides by
    the first non-blank byte (`[` array, `{` NDJSON)."""
    reader = _ArrayReader(body, max_record_bytes=max_record_bytes)
    first = reader.skip_blanks()
    if first is None:
        raise InputError(N_("The body is empty."), code="empty_body")
    if kind == "ndjson" or (kind == "sniff" and first == "{"):
        head, where = reader.rest()
        return _ndjson_records(head, body, where, max_record_bytes=max_record_bytes)
    if first == "{":
        raise InputError(
            N_(
                "The body is a JSON object, not an array of objects; send one object per line as "
                "application/x-ndjson, or wrap it in [ ]."
            ),
            code="not_an_array",
            where=reader.where(reader.position),
        )
    if first != "[":
        raise InputError(
            N_("The body is not a JSON array of objects."),
            code="not_an_array",
            where=reader.where(reader.position),
        )
    return reader.records()


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in `value` (keys too) is not UTF-8; a loop, since a record may
    nest as deep as the decoder allows."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _check_record(value: Any, text: str, start: int, end: int, where: Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(
            N_("Record {record} (line {line}) is not a JSON object."), code="not_an_object", where=where
        )
    if _SURROGATE_ESCAPE.search(text, start, end) and _has_lone_surrogate(value):
        raise InputError(
            N_("Record {record} (line {line}) has a \\u escape of half a surrogate pair, which is not text."),
            code="invalid_json",
            where=where,
        )
    return value


def _invalid_json(reason: str, where: Where) -> InputError:
    return InputError(
        N_("The body is not valid JSON at line {line} (byte {offset}): {reason}."),
        code="invalid_json",
        where=where,
        reason=reason,
    )


def _decode_error(error: ValueError | RecursionError) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, json.JSONDecodeError):
        return error.msg
    return f"{error} is not a JSON number"  # NaN, Infinity, -Infinity


class _ArrayReader:
    """Text decoded from the body as it is needed, and where (line, byte) a position in it is."""

    def __init__(self, body: BinaryIO, *, max_record_bytes: int) -> None:
        self.body = body
        self.max_record_bytes = max_record_bytes
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.position = 0  # the next character to read in `text`
        # A known place: text[mark] is on line `mark_line`, at byte `mark_offset` of the body.
        # Moving it forward as records go by keeps locating each record cheap.
        self.mark = 0
        self.mark_line = 1
        self.mark_offset = 0
        self.read_bytes = 0
        self.eof = False

    def fill(self, size: int = _CHUNK) -> bool:
        """Appends at least one more character unless the body has ended; False at the end.
        Drops the text before `position` first (so a position kept across it is stale)."""
        while not self.eof:
            chunk = self.body.read(size)
            pending = self.decoder.getstate()[0]
            try:
                decoded = self.decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                line = self.where(len(self.text)).line or 1
                raise InputError(
                    N_("Line {line} is not UTF-8 (byte {offset})."),
                    code="invalid_utf8",
                    where=Where(
                        line=line + (pending + chunk)[: error.start].count(b"\n"),
                        offset=self.read_bytes - len(pending) + error.start,
                    ),
                ) from None
            if self.read_bytes == 0 and decoded.startswith("\ufeff"):
                decoded = decoded[1:]
                self.mark_offset = 3  # the byte order mark
            self.read_bytes += len(chunk)
            self.eof = not chunk
            if decoded:
                self.where(self.position)
                self.text = self.text[self.position :] + decoded
                self.position = self.mark = 0
                return True
        return False

    def where(self, position: int, record: int | None = None) -> Where:
        """The line and byte offset of text[position]; moves the mark there."""
        if position >= self.mark:
            passed = self.text[self.mark : position]
            self.mark_line += passed.count("\n")
            self.mark_offset += len(passed) if passed.isascii() else len(passed.encode("utf-8"))
        else:
            passed = self.text[position : self.mark]
            self.mark_line -= passed.count("\n")
            self.mark_offset -= len(passed.encode("utf-8"))
        self.mark = position
        return Where(line=self.mark_line, record=record, offset=self.mark_offset)

    def skip_blanks(self) -> str | None:
        """The next non-blank character (not consumed), or None at the end of the body."""
        while True:
            found = _NON_BLANK.search(self.text, self.position)
            if found is not None:
                self.position = found.start()
                return found.group()
            self.position = len(self.text)
            if not self.fill():
                return None

    def rest(self) -> tuple[bytes, Where]:
        """What is decoded and not yet read, as bytes, and where it starts (for the NDJSON reader)."""
        where = self.where(self.position)
        return self.text[self.position :].encode("utf-8") + self.decoder.getstate()[0], where

    # -- array -----------------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        self.position += 1  # the "["
        index = 0
        if self.skip_blanks() == "]":
            self.position += 1
        else:
            while True:
                if self.skip_blanks() is None:
                    raise _invalid_json("the array is not closed", self.where(self.position, index))
                yield self.element(index)
                index += 1
                separator = self.skip_blanks()
                self.position += 1
                if separator == "]":
                    break
                if separator != ",":
                    reason = "the array is not closed" if separator is None else "expected ',' or ']'"
                    raise _invalid_json(reason, self.where(self.position - 1, index))
        if self.skip_blanks() is not None:
            raise _invalid_json("more data after the array", self.where(self.position))

    def element(self, index: int) -> Record:
        want = _CHUNK
        while True:
            start = self.position  # filling moves the text: the element starts at `position`
            try:
                value, end = _DECODER.raw_decode(self.text, start)
            except (ValueError, RecursionError) as error:
                if self.eof or self._certain(error):
                    position = error.pos if isinstance(error, json.JSONDecodeError) else start
                    self.where(start)
                    raise _invalid_json(_decode_error(error), self.where(position, index)) from None
            else:
                # A number may go on past the buffer's end; anything else ended where it says.
                if (end < len(self.text) or self.eof) and end - start <= self.max_record_bytes:
                    break
            if len(self.text) - start > self.max_record_bytes:
                raise InputError(
                    N_("Record {record} (line {line}) is larger than {limit} bytes."),
                    code="record_too_large",
                    where=self.where(start, index),
                    limit=self.max_record_bytes,
                )
            # Read as much again as the element has so far: re-decoding stays linear overall.
            want = max(want, len(self.text) - start)
            self.fill(want)
        where = self.where(start, index)
        self.position = end
        return Record(_check_record(value, self.text, start, end, where), where)

    def _certain(self, error: ValueError | RecursionError) -> bool:
        """Whether a decoding error is in the data, rather than caused by the element running
        past the end of the buffer (then reading more may fix it)."""
        if not isinstance(error, json.JSONDecodeError):
            return True
        return error.pos < len(self.text) - 8 and not error.msg.startswith("Unterminated string")


def _ndjson_records(head: bytes, body: BinaryIO, start: Where, *, max_record_bytes: int) -> Iterator[Record]:
    offset = start.offset or 0
    line_number = (start.line or 1) - 1
    index = 0
    for line in _lines(head, body, max_record_bytes):
        line_number += 1
        where = Where(line=line_number, record=index, offset=offset)
        if len(line) > max_record_bytes:
            raise InputError(
                N_("Line {line} is longer than {limit} bytes."),
                code="record_too_large",
                where=where,
                limit=max_record_bytes,
            )
        text = decode_line(line, number=line_number, offset=offset)
        offset += len(line)
        if not text.strip(_BLANK):
            continue
        try:
            value = _DECODER.decode(text)
        except (ValueError, RecursionError) as error:
            position = error.pos if isinstance(error, json.JSONDecodeError) else 0
            offset_in_line = len(text[:position].encode("utf-8"))
            raise _invalid_json(
                _decode_error(error),
                Where(line=line_number, record=index, offset=(where.offset or 0) + offset_in_line),
            ) from None
        yield Record(_check_record(value, text, 0, len(text), where), where)
        index += 1


def _lines(head: bytes, body: BinaryIO, max_record_bytes: int) -> Iterator[bytes]:
    """Lines (with their `\\n`) of `head` then of the rest of `body`; a line is cut one byte
    past the limit, so that an endless line is never held whole (the caller refuses it)."""
    limit = max_record_bytes + 1
    buffer = head
    start = 0
    while True:
        newline = buffer.find(b"\n", start, start + limit)
        if newline >= 0:
            yield buffer[start : newline + 1]
            start = newline + 1
            continue
        if len(buffer) - start >= limit:
            yield buffer[start : start + limit]
            return
        # Read as much again as the unfinished line has: a long line is copied O(log n) times.
        chunk = body.read(max(_CHUNK, len(buffer) - start))
        if not chunk:
            if start < len(buffer):
                yield buffer[start:]
            return
        buffer = buffer[start:] + chunk
        start = 0
