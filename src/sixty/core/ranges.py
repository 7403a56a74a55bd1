"""Serving stored bytes over HTTP: conditional requests and byte ranges (RFC 9110 13, 14).

`serve_bytes(...)` answers a GET of a representation of known size and strong ETag whose bytes
come from `open_range(offset, length)` (an async iterator, e.g. `Storage.get`):

- `If-None-Match` listing the ETag (or `*`): 304, no body;
- `Range: bytes=...` (when `If-Range`, if sent, still matches): one satisfiable range is a 206
  with `Content-Range`; several are a 206 `multipart/byteranges`; none satisfiable is a 416 with
  `Content-Range: bytes */<size>`. A malformed Range header, or more than MAX_RANGES ranges, is
  ignored (RFC 9110 14.2 allows it): the whole representation, 200.
- Always `Accept-Ranges: bytes`, the ETag, `Content-Length`; the body is streamed, never whole,
  and never compressed by the gzip middleware (the length, ranges and ETag are of the bytes).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sixty.core.errors import Problem
from sixty.core.i18n import N_
from sixty.core.middleware import skip_compression

MAX_RANGES = 16
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")

Opener = Callable[[int, int], AsyncIterator[bytes]]


class RangeNotSatisfiable(Problem):
    status, code, title = 416, "range_not_satisfiable", N_("Range not satisfiable")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str, size: int) -> list[ByteRange] | None:
    """The satisfiable ranges of a `Range` header, in the order asked: None when the header is
    malformed, not in bytes, or asks too many (then it is ignored); [] when none is satisfiable."""
    unit, _sep, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return None
    parts = specs.split(",")
    if len(parts) > MAX_RANGES:
        return None
    ranges: list[ByteRange] = []
    for part in parts:
        match = _RANGE_SPEC.match(part)
        if match is None or match.group(1) == match.group(2) == "":
            return None
        first, last = match.group(1), match.group(2)
        if first == "":  # suffix: the last N bytes
            suffix = int(last)
            if suffix > 0 and size > 0:
                ranges.append(ByteRange(max(size - suffix, 0), size - 1))
            continue
        start = int(first)
        end = int(last) if last else size - 1
        if last and end < start:
            return None  # invalid: the whole header is ignored
        if start < size:
            ranges.append(ByteRange(start, min(end, size - 1)))
    return ranges


def _etag_listed(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2), for If-None-Match."""
    tags = [tag.strip() for tag in header.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in tags or any(tag.removeprefix("W/") == bare for tag in tags)


def _if_range_holds(header: str, etag: str, last_modified: datetime | None) -> bool:
    """Strong comparison for an ETag; an HTTP date must equal Last-Modified exactly."""
    header = header.strip()
    if header.startswith(('"', "W/")):
        return not header.startswith("W/") and header == etag
    if last_modified is None:
        return False
    try:
        date = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return int(date.timestamp()) == int(last_modified.timestamp())


async def _multipart_body(
    open_range: Opener, ranges: list[ByteRange], parts: list[bytes], closing: bytes
) -> AsyncIterator[bytes]:
    for head, byte_range in zip(parts, ranges, strict=True):
        yield head
        async for chunk in open_range(byte_range.start, byte_range.length):
            yield chunk
    yield closing


def serve_bytes(
    request: Request,
    *,
    size: int,
    etag: str,
    content_type: str,
    open_range: Opener,
    last_modified: datetime | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The response to a GET of these bytes (see the module docstring). `headers` are added to
    every answer (Content-Disposition, Cache-Control, CSP...). Never compressed on the way."""
    skip_compression(request.scope)
    request_headers = request.headers
    common = {"ETag": etag, "Accept-Ranges": "bytes", **(headers or {})}
    if last_modified is not None:
        common["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None and _etag_listed(if_none_match, etag):
        return Response(status_code=304, headers=common)

    range_header = request_headers.get("range")
    if_range = request_headers.get("if-range")
    ranges = None
    if range_header is not None and (if_range is None or _if_range_holds(if_range, etag, last_modified)):
        ranges = parse_range(range_header, size)
    if ranges == []:
        raise RangeNotSatisfiable(
            N_("None of the ranges asked for is within the {size} bytes."),
            size=size,
            headers={"Content-Range": f"bytes */{size}", **common},
        )
    if not ranges:
        body = open_range(0, size)
        return StreamingResponse(
            body, media_type=content_type, headers={**common, "Content-Length": str(size)}
        )
    if len(ranges) == 1:
        only = ranges[0]
        return StreamingResponse(
            open_range(only.start, only.length),
            status_code=206,
            media_type=content_type,
            headers={**common, "Content-Range": only.content_range(size), "Content-Length": str(only.length)},
        )
    boundary = secrets.token_hex(16)
    parts = [
        (
            ("" if index == 0 else "\r\n")
            + f"--{boundary}\r\nContent-Type: {content_type}\r\n"
            + f"Content-Range: {byte_range.content_range(size)}\r\n\r\n"
        ).encode("latin-1")
        for index, byte_range in enumerate(ranges)
    ]
    closing = f"\r\n--{boundary}--\r\n".encode("latin-1")
    length = sum(len(part) for part in parts) + sum(byte_range.length for byte_range in ranges) + len(closing)
    return StreamingResponse(
        _multipart_body(open_range, ranges, parts, closing),
        status_code=206,
        media_type=f"multipart/byteranges; boundary={boundary}",
        headers={**common, "Content-Length": str(length)},
    )
