"""I14 image compressor: `/api/images`. HTTP only: parse, call the service, shape the response.

The upload is a `multipart/form-data` body read by Starlette's parser after this route has raised
the body limit to `SIXTY_IMAGES_MAX_UPLOAD_BYTES` (FastAPI's own form parsing would run before any
route code could). The file part is spooled to a temporary file as it arrives (in memory up to
1 MiB, then on disk), never held whole; Pillow reads it from there in a worker thread.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from sixty.core.deps import ReaderDep, SettingsDep
from sixty.core.errors import (
    BadRequest,
    InvalidField,
    UnsupportedMediaType,
    invalid_fields,
    problem_responses,
)
from sixty.core.i18n import N_
from sixty.core.middleware import raise_body_limit, skip_compression
from sixty.core.ranges import serve_bytes
from sixty.core.ratelimit import rate_limit, rate_limit_responses, rate_policy
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal
from sixty.core.storage import DOWNLOAD_CSP, StorageDep, content_disposition
from sixty.images import codec, service
from sixty.images.schemas import (
    FORMATS_EXAMPLE,
    LINK_EXAMPLE,
    PRESET_EXAMPLE,
    CompressOptions,
    ImageFormats,
    PresetList,
    PresetRead,
    VariantLinkCreate,
    VariantLinkRead,
)

router = module_router("/api/images", "images")

COMPRESS_PER_IP = rate_policy("images.compress.ip", "30/minute")
VARIANT_PER_IP = rate_policy("images.variant.ip", "600/minute")

FIELD = "file"
FORM_SLACK = 64 * 1024  # the form fields, part headers and boundaries beside the file
MAX_FIELDS = 16
MAX_FIELD_BYTES = 1024


async def get_workers(request: Request) -> service.ImageWorkers:
    workers: service.ImageWorkers = request.app.state.images
    return workers


WorkersDep = Annotated[service.ImageWorkers, Depends(get_workers)]
FileId = Annotated[uuid.UUID, Path(description="The stored file's id (`/api/files`).")]


@router.get(
    "/formats",
    summary="Image formats",
    description="The formats the compressor reads (`inputs`, sniffed from the content) and writes "
    "(`outputs`, the values of `format`). AVIF is listed only when the installed Pillow was built "
    "with libavif.",
    response_model=ImageFormats,
    responses={200: {"content": {"application/json": {"example": FORMATS_EXAMPLE}}}},
)
async def list_formats() -> ImageFormats:
    return ImageFormats.model_validate(service.formats())


@router.get(
    "/presets",
    summary="Variant presets",
    description="The sizes and formats that signed variant links may ask for "
    "(`SIXTY_IMAGES_PRESETS`): nothing else can be asked of a stored image.",
    response_model=PresetList,
    responses={200: {"content": {"application/json": {"example": {"items": [PRESET_EXAMPLE]}}}}},
)
async def list_presets(workers: WorkersDep) -> PresetList:
    return PresetList(
        items=[PresetRead(name=name, **preset.model_dump()) for name, preset in workers.presets.items()]
    )


def _form_field(schema: dict[str, Any]) -> dict[str, Any]:
    """A form field's schema: an optional field is left out rather than sent as null (a form
    has no null), so the null branch and the null default go."""
    field = {key: value for key, value in schema.items() if key not in ("title", "anyOf", "default")}
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if branches:
        field.update(branches[0])
    if schema.get("default") is not None:
        field["default"] = schema["default"]
    return field


COMPRESS_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    FIELD: {"type": "string", "format": "binary", "description": "The image."},
                    **{
                        name: _form_field(schema)
                        for name, schema in CompressOptions.model_json_schema()["properties"].items()
                    },
                },
                "required": [FIELD],
            }
        }
    },
}
RESULT_HEADERS = {
    "X-Image-Width": {"description": "Width of the result, pixels.", "schema": {"type": "integer"}},
    "X-Image-Height": {"description": "Height of the result, pixels.", "schema": {"type": "integer"}},
    "X-Image-Quality": {"description": "Quality used (lossy formats).", "schema": {"type": "integer"}},
    "X-Original-Bytes": {"description": "Size of the upload's image.", "schema": {"type": "integer"}},
    "X-Bytes-Saved": {
        "description": "Original minus result (negative when the result is larger).",
        "schema": {"type": "integer"},
    },
}


def _form_options(fields: dict[str, str], max_dimension: int, max_pixels: int) -> CompressOptions:
    try:
        options = CompressOptions.model_validate(fields)
    except ValidationError as error:
        raise RequestValidationError(
            [{**detail, "loc": ("body", *detail["loc"])} for detail in error.errors(include_url=False)]
        ) from None
    too_big = [
        InvalidField(
            ("body", name),
            "less_than_equal",
            N_("Must be less than or equal to {le}."),
            {"le": max_dimension},
        )
        for name, value in (("width", options.width), ("height", options.height))
        if value is not None and value > max_dimension
    ]
    if (
        options.fit == "fill"
        and options.width
        and options.height
        and options.width * options.height > max_pixels
    ):
        too_big.append(
            InvalidField(
                ("body", "height"),
                "too_many_pixels",
                N_("width x height may be at most {limit} pixels."),
                {"limit": max_pixels},
            )
        )
    if too_big:
        raise invalid_fields(too_big)
    return options


def _upload_size(upload: UploadFile) -> int:
    return upload.size if upload.size is not None else 0


@router.post(
    "/compress",
    summary="Compress an image",
    description="Send `multipart/form-data` with the image in `file` and the options as form "
    "fields; the answer is the image itself. It is resized (`fit` inside `width` x `height`, "
    "never enlarged, or `fill` exactly, centre-cropped), converted (`format`, see "
    "`/api/images/formats`) and compressed at `quality`, or at the highest quality that fits "
    "`target_bytes` (binary search; 422 `target_unreachable` with `smallest_bytes` when even the "
    "lowest quality is too big). EXIF orientation is applied to the pixels and metadata is "
    "stripped (GPS above all; `keep_metadata=true` keeps EXIF without GPS).\n\n"
    "The type is sniffed from the content: HTML or scripts named `.png` are refused (415), whatever "
    "the claimed Content-Type. Bodies over `SIXTY_IMAGES_MAX_UPLOAD_BYTES` are refused (413); "
    "images declaring more than `SIXTY_IMAGES_MAX_PIXELS` pixels are refused before decoding (422 "
    "`image_too_large`), corrupt or truncated ones too (422 `invalid_image`). The headers tell the "
    "result's dimensions and the bytes saved.",
    response_class=Response,
    openapi_extra={"requestBody": COMPRESS_BODY},
    responses={
        200: {
            "description": "The compressed image.",
            "headers": RESULT_HEADERS,
            "content": {
                item.media_type: {"schema": {"type": "string", "format": "binary"}, "example": ""}
                for item in codec.CODECS.values()
                if item.name in codec.OUTPUTS
            },
        },
        **problem_responses(400, 413, 415, 422),
        **rate_limit_responses(),
    },
    dependencies=[rate_limit(COMPRESS_PER_IP)],
)
async def compress(request: Request, settings: SettingsDep, workers: WorkersDep) -> Response:
    kind, _options = parse_options_header(request.headers.get("content-type", ""))
    if kind.lower() != b"multipart/form-data":
        raise UnsupportedMediaType(
            N_("Send the image as multipart/form-data, in the field {field}."), field=FIELD
        )
    raise_body_limit(request.scope, settings.images_max_upload_bytes + FORM_SLACK)
    try:
        async with request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES) as form:
            upload = form.get(FIELD)
            fields = {
                name: value for name, value in form.multi_items() if isinstance(value, str) and value != ""
            }
            fields.pop(FIELD, None)
            options = _form_options(fields, workers.limits.max_dimension, workers.limits.max_pixels)
            if not isinstance(upload, UploadFile):
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("body", FIELD), "msg": "missing", "input": None}]
                )
            if _upload_size(upload) > settings.images_max_upload_bytes:
                raise service.ImageUploadTooLarge(
                    N_("An image may have at most {limit} bytes."), limit=settings.images_max_upload_bytes
                )
            result = await service.compress_file(
                workers,
                upload.file,
                codec.Request(
                    output=options.format,
                    width=options.width,
                    height=options.height,
                    fit=options.fit,
                    quality=options.quality,
                    target_bytes=options.target_bytes,
                    keep_metadata=options.keep_metadata,
                ),
            )
            original = _upload_size(upload)
            filename = upload.filename or "image"
    except ClientDisconnect:
        raise BadRequest(N_("The upload was cut off."), code="upload_interrupted") from None
    skip_compression(request.scope)
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    headers = {
        "X-Image-Width": str(result.width),
        "X-Image-Height": str(result.height),
        "X-Original-Bytes": str(original),
        "X-Bytes-Saved": str(original - len(result.data)),
        "Content-Disposition": content_disposition(f"{stem}.{result.codec.extension}", inline=True),
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "no-store",
    }
    if result.quality is not None:
        headers["X-Image-Quality"] = str(result.quality)
    return Response(result.data, media_type=result.codec.media_type, headers=headers)


# --- variants of stored files ------------------------------------------------------------------


@router.post(
    "/files/{file_id:uuid}/links",
    status_code=status.HTTP_201_CREATED,
    summary="A signed link to a variant",
    description="A URL that serves one of your stored images (`/api/files`) at a preset size "
    "(`/api/images/presets`) to anyone holding it, until it expires (`expires_in` seconds, at most "
    "`SIXTY_IMAGES_LINK_MAX_TTL`). The URL is signed (HMAC over file, preset and expiry): changing "
    "any of them breaks it. Someone else's file is a 404, an unknown preset a 404, a file that is "
    "not an image a 422.",
    response_model=VariantLinkRead,
    responses={
        201: {"content": {"application/json": {"example": LINK_EXAMPLE}}},
        **problem_responses(401, 404, 413, 415, 422),
    },
)
async def create_link(
    file_id: FileId,
    data: VariantLinkCreate,
    request: Request,
    reader: ReaderDep,
    settings: SettingsDep,
    workers: WorkersDep,
    principal: CurrentPrincipal,
) -> VariantLinkRead:
    max_ttl = int(settings.images_link_max_ttl.total_seconds())
    if data.expires_in > max_ttl:
        raise invalid_fields(
            [
                InvalidField(
                    ("body", "expires_in"),
                    "less_than_equal",
                    N_("Must be less than or equal to {le}."),
                    {"le": max_ttl},
                )
            ]
        )
    expires = math.ceil(time.time()) + data.expires_in
    link = await service.create_link(
        reader,
        request.app.state.image_links,
        file_id,
        owner_id=principal.user_id,
        preset=data.preset,
        presets=workers.presets,
        expires=expires,
    )
    path = request.url_for("get_variant", file_id=file_id, preset=data.preset).path
    query = urlencode({"owner": str(link.owner_id), "expires": link.expires, "signature": link.signature})
    base = (settings.public_base_url or str(request.base_url)).rstrip("/")
    return VariantLinkRead(
        file_id=file_id,
        preset=data.preset,
        url=f"{base}{path}?{query}",
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


@router.get(
    "/variants/{file_id:uuid}/{preset}",
    summary="A variant of a stored image",
    description="Serves the variant a signed link names, made on first use and kept in storage "
    "after that (ranges and ETags supported). No sign-in: the signature is the permission. A "
    "tampered link is a 403, an expired one a 410, an unknown preset or a deleted file a 404.",
    response_class=Response,
    responses={
        200: {
            "description": "The variant.",
            "content": {
                item.media_type: {"schema": {"type": "string", "format": "binary"}, "example": ""}
                for item in codec.CODECS.values()
                if item.name in codec.OUTPUTS
            },
        },
        304: {"description": "Not modified (`If-None-Match`)."},
        206: {"description": "The range asked for."},
        **problem_responses(403, 404, 410, 416, 422),
        **rate_limit_responses(),
    },
    dependencies=[rate_limit(VARIANT_PER_IP)],
)
async def get_variant(
    file_id: FileId,
    preset: Annotated[str, Path(max_length=32, description="The preset's name.")],
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
    workers: WorkersDep,
    owner: Annotated[uuid.UUID, Query(description="From the signed link.")],
    expires: Annotated[int, Query(ge=0, le=2**40, description="From the signed link (Unix time).")],
    signature: Annotated[str, Query(max_length=100, description="From the signed link.")],
) -> Response:
    if preset not in workers.presets:
        raise service.unknown_preset(preset)
    signer: service.LinkSigner = request.app.state.image_links
    signer.verify(owner_id=owner, file_id=file_id, preset=preset, expires=expires, signature=signature)
    item = await service.variant(reader, storage, workers, file_id, owner_id=owner, preset_name=preset)
    max_age = max(0, min(expires - int(time.time()), 86400))
    return serve_bytes(
        request,
        size=item.size,
        etag=item.etag,
        content_type=item.media_type,
        open_range=lambda offset, length: service.open_variant(storage, item, offset, length),
        headers={
            "Cache-Control": f"private, max-age={max_age}",
            "Content-Disposition": content_disposition(item.name, inline=True),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )
