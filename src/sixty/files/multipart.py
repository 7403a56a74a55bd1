"""A `multipart/form-data` body read as it arrives: each part's bytes are passed on as they are
parsed, never gathered (FastAPI's `UploadFile` would spool the whole body first).

    async for part in MultipartStream(request.stream(), boundary).parts():
        await store(part.data)   # an async iterator of the part's bytes

A part the caller does not read (or reads only partly) is skipped. A body that ends before its
closing boundary, or is not multipart at all, raises `MalformedMultipart`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from sixty.files.names import extended_filename

MAX_HEADER_BYTES = 16 * 1024  # per part


class MalformedMultipart(ValueError):
    """The body is not a complete multipart/form-data body."""


@dataclass
class Part:
    field: str | None  # the form field's name
    filename: str | None  # as sent (filename* preferred), not yet cleaned
    data: AsyncIterator[bytes]


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a `multipart/form-data` Content-Type, or None for anything else."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind.lower() != b"multipart/form-data" or not boundary or len(boundary) > 200:
        return None
    return boundary


class MultipartStream:
    def __init__(self, chunks: AsyncIterable[bytes], boundary: bytes) -> None:
        self._chunks = chunks.__aiter__()
        self._events: deque[tuple[str, bytes]] = deque()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": lambda: self._events.append(("begin", b"")),
                "on_header_field": lambda data, start, end: self._events.append(("field", data[start:end])),
                "on_header_value": lambda data, start, end: self._events.append(("value", data[start:end])),
                "on_header_end": lambda: self._events.append(("header", b"")),
                "on_headers_finished": lambda: self._events.append(("headers", b"")),
                "on_part_data": lambda data, start, end: self._events.append(("data", data[start:end])),
                "on_part_end": lambda: self._events.append(("part_end", b"")),
                "on_end": lambda: self._events.append(("end", b"")),
            },
        )
        self._ended = False
        self._in_part = False

    async def _next(self) -> tuple[str, bytes]:
        while not self._events:
            if self._ended:
                return ("end", b"")
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                raise MalformedMultipart("the body ended before the closing boundary") from None
            try:
                self._parser.write(chunk)
            except MultipartParseError as error:
                raise MalformedMultipart(str(error)) from None
        event = self._events.popleft()
        if event[0] == "end":
            self._ended = True
        return event

    async def _part_data(self) -> AsyncIterator[bytes]:
        while self._in_part:
            kind, data = await self._next()
            if kind == "data":
                if data:
                    yield data
            elif kind == "part_end":
                self._in_part = False
            else:
                raise MalformedMultipart(f"unexpected {kind} inside a part")

    async def parts(self) -> AsyncIterator[Part]:
        headers: dict[bytes, bytes] = {}
        name, value = b"", b""
        header_bytes = 0
        while True:
            kind, data = await self._next()
            if kind == "end":
                return
            if kind == "begin":
                headers, name, value, header_bytes = {}, b"", b"", 0
            elif kind in ("field", "value"):
                header_bytes += len(data)
                if header_bytes > MAX_HEADER_BYTES:
                    raise MalformedMultipart("part headers too long")
                if kind == "field":
                    name += data
                else:
                    value += data
            elif kind == "header":
                headers[name.strip().lower()] = value.strip()
                name, value = b"", b""
            elif kind == "headers":
                self._in_part = True
                yield self._part(headers)
                async for _unread in self._part_data():
                    pass
            else:
                raise MalformedMultipart(f"unexpected {kind} between parts")

    def _part(self, headers: dict[bytes, bytes]) -> Part:
        disposition = headers.get(b"content-disposition", b"")
        _kind, options = parse_options_header(disposition)
        field = options.get(b"name")
        raw_name = options.get(b"filename")
        filename = raw_name.decode("utf-8", "replace") if raw_name is not None else None
        try:
            filename = extended_filename(disposition.decode("latin-1")) or filename
        except UnicodeDecodeError:
            raise MalformedMultipart("filename* is not UTF-8") from None
        return Part(
            field=field.decode("utf-8", "replace") if field is not None else None,
            filename=filename,
            data=self._part_data(),
        )
