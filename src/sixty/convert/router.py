"""B13 Converters: `/api/convert`. HTTP only: media types, limits, threads, the streamed answer.

The body is never buffered: a worker thread reads it as a file (`streams.BodyReader`) while the
event loop receives it, under the converters' own body limit (`convert_max_body_bytes`).
"""

from __future__ import annotations

import email.message
import logging
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import Query, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from sixty.convert import service
from sixty.convert.schemas import CsvToJsonOptions, JsonToCsvOptions
from sixty.convert.streams import body_file, chunks_in_threads, run_in_thread
from sixty.core.config import Settings
from sixty.core.deps import SettingsDep
from sixty.core.errors import BadRequest, Unprocessable, UnsupportedMediaType, problem_responses
from sixty.core.i18n import N_
from sixty.core.middleware import raise_body_limit
from sixty.core.ratelimit import rate_limit, rate_limit_responses, rate_policy
from sixty.core.routing import module_router

router = module_router("/api/convert", "convert")
logger = logging.getLogger("sixty.convert")

CONVERT_PER_IP = rate_policy("convert.ip", "60/minute")

NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
)
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})

CSV_EXAMPLE = "id,name,address.city,tags\r\n1,Ada,London,math|poetry\r\n2,'=1+1,Paris,\r\n"
JSON_EXAMPLE = [{"id": "1", "name": "Ada", "address.city": "London"}]
NDJSON_EXAMPLE = '{"id":"1","name":"Ada","address.city":"London"}\n'


def _media_type(request: Request) -> tuple[str, str | None]:
    """The request's media type and charset (both lower case; media type "" when absent)."""
    header = request.headers.get("content-type")
    if not header:
        return "", None
    message = email.message.Message()
    message["content-type"] = header
    charset = message.get_param("charset")
    return message.get_content_type(), str(charset).lower() if isinstance(charset, str) else None


def _require_utf8(charset: str | None) -> None:
    if charset is not None and charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(N_("Send the body as UTF-8."), code="unsupported_charset")


def _json_input(request: Request) -> service.InputKind:
    media, charset = _media_type(request)
    _require_utf8(charset)
    if media in NDJSON_TYPES:
        return "ndjson"
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return "json"
    if media in ("", "application/octet-stream"):
        return "sniff"
    raise UnsupportedMediaType(
        N_("Send a JSON array as application/json, or NDJSON as application/x-ndjson.")
    )


def _csv_input(request: Request) -> None:
    media, charset = _media_type(request)
    _require_utf8(charset)
    if media not in CSV_TYPES and media not in ("", "application/octet-stream"):
        raise UnsupportedMediaType(N_("Send the CSV as text/csv."))


def _limiter(request: Request, settings: Settings) -> anyio.CapacityLimiter:
    """At most `convert_max_concurrent` conversions hold a worker thread at once; more wait."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "convert_limiter", None)
    if limiter is None:
        limiter = request.app.state.convert_limiter = anyio.CapacityLimiter(settings.convert_max_concurrent)
    return limiter


class StreamWhileReading(StreamingResponse):
    """Streams while the request body is still being read. Starlette's response would listen
    for a disconnect by calling `receive()` itself, taking body chunks from the reader; here
    the reader is the one that hears of a disconnect. An error after the first chunk cannot
    change the status any more: the exception ends the connection, so the client sees an
    incomplete response instead of a truncated CSV that looks whole."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except ClientDisconnect:
            return
        except service.InputError as error:
            logger.warning(
                "conversion refused after its answer started; the response is cut off",
                extra={"code": error.code, **error.extensions, "path": scope.get("path")},
            )
            raise


CSV_HEADERS = {"Content-Disposition": 'attachment; filename="converted.csv"'}


def _csv_media_type(output: service.CsvFormat) -> str:
    return f"text/csv; charset=utf-8; header={'present' if output.header else 'absent'}"


def _body_doc(content: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": content}}


def _responses(media: dict[str, Any]) -> dict[int | str, Any]:
    responses = problem_responses(400, 413, 415, 422)
    responses[400]["description"] = "The body ended before it was complete (the client went away)."
    responses[413]["description"] = (
        "The body is larger than the converters accept (`SIXTY_CONVERT_MAX_BODY_BYTES`)."
    )
    responses[422]["description"] = (
        "Bad options (`errors` lists them), or bad input: `code` says what (`empty_body`, `invalid_json`, "
        "`invalid_utf8`, `not_an_array`, `not_an_object`, `invalid_csv`, `invalid_header`, `ragged_row`, "
        "`record_too_large`, `too_deep`, `too_many_columns`, `too_many_rows`, `column_collision`) and "
        "`line` (1-based), `record` (0-based) and `offset` (bytes) say where, when known."
    )
    return {200: {"content": media}, **responses, **rate_limit_responses()}


@router.post(
    "/json-to-csv",
    summary="Convert JSON to CSV",
    description="Converts a JSON array of objects (`application/json`) or NDJSON "
    "(`application/x-ndjson`; with no content type, the first non-blank byte decides) to CSV, "
    "streamed: nested objects become dotted columns (`address.city`), arrays are joined or "
    "exploded (`arrays`), numbers are written as sent. Without `columns`, the records are "
    "flattened to a temporary file while the union of their fields is collected, so the whole "
    "input is validated before the answer starts and memory stays flat. With `columns`, rows "
    "stream out as the records arrive: a bad record after the first 64 KiB of output ends the "
    "connection, leaving the client an incomplete response. Text cells that a spreadsheet "
    "would run as a formula get a leading `'` unless `escape_formulas=false`.",
    response_class=Response,
    responses=_responses(
        {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
    ),
    openapi_extra=_body_doc(
        {
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
                "example": [
                    {"id": 1, "name": "Ada", "address": {"city": "London"}, "tags": ["math", "poetry"]}
                ],
            },
            "application/x-ndjson": {
                "schema": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "The records, one JSON object per line (NDJSON).",
                },
                "example": '{"id": 1, "name": "Ada"}\n{"id": 2, "name": "Grace"}\n',
            },
        }
    ),
    dependencies=[rate_limit(CONVERT_PER_IP)],
)
async def json_to_csv(
    request: Request, settings: SettingsDep, options: Annotated[JsonToCsvOptions, Query()]
) -> Response:
    kind = _json_input(request)
    limits = service.ConvertLimits.from_settings(settings)
    if options.columns is not None and len(options.columns) > limits.max_columns:
        raise Unprocessable(
            N_("Name at most {limit} columns."), code="too_many_columns", limit=limits.max_columns
        )
    raise_body_limit(request.scope, settings.convert_max_body_bytes)
    body = body_file(request.stream())
    output = options.csv_format()
    limiter = _limiter(request, settings)
    try:
        if options.columns is not None:
            stream = partial(
                service.stream_csv,
                body,
                kind,
                columns=options.columns,
                arrays=options.arrays,
                separator=options.array_separator,
                output=output,
                limits=limits,
            )
            chunks, first = await run_in_thread(lambda: _started(stream()), limiter)
            return StreamWhileReading(
                chunks_in_threads(chunks, limiter, first=first),
                media_type=_csv_media_type(output),
                headers=CSV_HEADERS,
            )
        spooled = await run_in_thread(
            partial(
                service.spool_rows,
                body,
                kind,
                arrays=options.arrays,
                separator=options.array_separator,
                output=output,
                limits=limits,
            ),
            limiter,
        )
    except ClientDisconnect:
        raise _incomplete() from None
    return StreamingResponse(
        chunks_in_threads(service.csv_from_spool(spooled, output), limiter),
        media_type=_csv_media_type(output),
        headers=CSV_HEADERS,
    )


def _incomplete() -> BadRequest:
    return BadRequest(N_("The request body ended before it was complete."), code="incomplete_body")


def _started(chunks: Any) -> tuple[Any, bytes]:
    """The iterator and its first chunk: what is wrong at the start is still a 422."""
    return chunks, next(chunks, b"")


def _wants_ndjson(request: Request, options: CsvToJsonOptions) -> bool:
    if options.format is not None:
        return options.format == "ndjson"
    accept = request.headers.get("accept", "").lower()
    return any(media in accept for media in NDJSON_TYPES)


@router.post(
    "/csv-to-json",
    summary="Convert CSV to JSON",
    description="Converts CSV (`text/csv`, UTF-8, with or without a byte order mark) to a JSON array "
    "of objects, or to NDJSON when `format=ndjson` or `Accept: application/x-ndjson`. The first "
    "row names the fields (`header=false`: each record is an array); `nested=true` turns dotted "
    "names back into objects; `types=infer` gives numbers, booleans and nulls. Every row must "
    "have as many fields as the first. The whole input is validated (to a temporary file) "
    "before the answer starts, and streamed from there.",
    response_class=Response,
    responses=_responses(
        {
            "application/json": {"schema": {"type": "array", "items": {}}, "example": JSON_EXAMPLE},
            "application/x-ndjson": {"schema": {"type": "string"}, "example": NDJSON_EXAMPLE},
        }
    ),
    openapi_extra=_body_doc(
        {
            media: {"schema": {"type": "string"}, "example": "id,name,address.city\r\n1,Ada,London\r\n"}
            for media in ("text/csv", "text/plain")
        }
    ),
    dependencies=[rate_limit(CONVERT_PER_IP)],
)
async def csv_to_json(
    request: Request, settings: SettingsDep, options: Annotated[CsvToJsonOptions, Query()]
) -> Response:
    _csv_input(request)
    limits = service.ConvertLimits.from_settings(settings)
    raise_body_limit(request.scope, settings.convert_max_body_bytes)
    ndjson = _wants_ndjson(request, options)
    body = body_file(request.stream())
    try:
        spool = await run_in_thread(
            partial(
                service.spool_json,
                body,
                delimiter=options.delimiter,
                output=options.json_format(ndjson=ndjson),
                limits=limits,
            ),
            _limiter(request, settings),
        )
    except ClientDisconnect:
        raise _incomplete() from None
    return StreamingResponse(
        chunks_in_threads(service.file_chunks(spool), _limiter(request, settings)),
        media_type="application/x-ndjson" if ndjson else "application/json",
        headers={"Vary": "Accept"},
    )
