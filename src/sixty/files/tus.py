"""tus 1.0 resumable uploads at `/api/files/uploads` (https://tus.io/protocols/resumable-upload):
core, creation, termination, checksum (sha1, sha256, sha512) and expiration. HTTP only; the
logic is in uploads.py.

Every answer carries `Tus-Resumable: 1.0.0`; a request naming another version is a 412 with
`Tus-Version`. Errors are problem documents like everywhere else, with tus's statuses: 409 for
an offset that is not the upload's, 460 for a checksum mismatch, 410 for an expired upload,
413 past `Upload-Length` or `Tus-Max-Size`, 415 when a PATCH is not
`application/offset+octet-stream`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Coroutine
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import Header, Path, Request, Response, status
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import BadRequest, PreconditionFailed, Problem, UnsupportedMediaType, problem_responses
from sixty.core.i18n import N_
from sixty.core.middleware import raise_body_limit
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal
from sixty.core.storage import StorageDep
from sixty.files import quota, service, uploads
from sixty.files.names import InvalidName, clean_name
from sixty.files.schemas import TUS_EXAMPLE, FileRead, TusUploadRead

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,checksum,expiration"
OFFSET_MEDIA_TYPE = "application/offset+octet-stream"
DEFAULT_NAME = "upload"


class TusRoute(APIRoute):
    """Adds `Tus-Resumable` to every answer of the tus routes, problem documents included,
    and checks the version a client speaks."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                if request.method != "OPTIONS":
                    version = request.headers.get("tus-resumable")
                    if version != TUS_VERSION:
                        raise PreconditionFailed(
                            N_("Send Tus-Resumable: {version}."),
                            version=TUS_VERSION,
                            code="tus_version",
                            headers={"Tus-Version": TUS_VERSION},
                        )
                response = await handler(request)
            except Problem as error:
                error.headers.setdefault("Tus-Resumable", TUS_VERSION)
                raise
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return tus_handler


tus_router = module_router("/api/files/uploads", "files", route_class=TusRoute)
UploadId = Annotated[uuid.UUID, Path(description="The upload's id.")]
TusResumable = Annotated[str | None, Header(description="The protocol version: `1.0.0`.", examples=["1.0.0"])]
TUS_HEADERS = {"Tus-Resumable": {"description": "`1.0.0`.", "schema": {"type": "string"}}}


def _expires(row: Row) -> str:
    return format_datetime(row["expires_at"], usegmt=True)


def _metadata_name(header: str | None) -> str:
    """The `filename` (or `name`) of `Upload-Metadata`: comma-separated `key base64value`."""
    if not header:
        return DEFAULT_NAME
    for pair in header.split(","):
        key, _sep, value = pair.strip().partition(" ")
        if key in ("filename", "name") and value:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
                return clean_name(decoded)
            except (binascii.Error, ValueError, InvalidName):
                raise BadRequest(
                    N_("Upload-Metadata holds a file name that cannot be kept."), code="invalid_name"
                ) from None
    return DEFAULT_NAME


@tus_router.options(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="tus: what the server supports",
    description="`Tus-Version`, `Tus-Extension`, `Tus-Max-Size` and `Tus-Checksum-Algorithm`.",
    response_class=Response,
    responses={204: {"description": "No body; the headers say it all."}},
)
async def tus_options(settings: SettingsDep) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(settings.files_max_bytes),
            "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
        },
    )


@tus_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="tus: start a resumable upload",
    description="tus creation: `Upload-Length` bytes (at most `Tus-Max-Size`), the name in "
    "`Upload-Metadata` (`filename <base64>`). Answers the upload's URL in `Location` and when it "
    "expires unless written to (`Upload-Expires`).",
    response_class=Response,
    responses={
        201: {"description": "Created; PATCH the bytes to `Location`.", "headers": TUS_HEADERS},
        **problem_responses(400, 401, 412, 413, 415, 422),
    },
)
async def tus_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    upload_length: Annotated[int, Header(ge=1, description="The upload's size in bytes.")],
    tus_resumable: TusResumable = None,
    upload_metadata: Annotated[
        str | None, Header(max_length=4096, description="`filename <base64 name>`, comma-separated pairs.")
    ] = None,
) -> Response:
    if upload_length > settings.files_max_bytes:
        raise service.too_large(settings.files_max_bytes)
    await quota.ensure_room(session, principal.user_id, upload_length, limit=settings.files_quota_bytes)
    upload = await uploads.create_tus(
        session,
        owner_id=principal.user_id,
        name=_metadata_name(upload_metadata),
        length=upload_length,
        ttl=settings.files_upload_ttl,
    )
    await quota.hold(
        session, principal.user_id, upload_length, ttl=settings.files_upload_ttl, upload_id=upload.id
    )
    return Response(
        status_code=201,
        headers={
            "Location": request.url_for("tus_head", upload_id=upload.id).path,
            "Upload-Expires": format_datetime(upload.expires_at, usegmt=True),
            "Upload-Offset": "0",
        },
    )


@tus_router.head(
    "/{upload_id:uuid}",
    summary="tus: how far an upload got",
    description="`Upload-Offset` (resume from there), `Upload-Length`, `Upload-Expires`.",
    response_class=Response,
    responses={200: {"description": "The offset, in headers."}, **problem_responses(401, 404, 410, 412, 422)},
)
async def tus_head(
    upload_id: UploadId, reader: ReaderDep, principal: CurrentPrincipal, tus_resumable: TusResumable = None
) -> Response:
    upload = await uploads.upload_for(reader, upload_id, owner_id=principal.user_id, kind=uploads.TUS)
    return Response(
        status_code=200,
        headers={
            "Upload-Offset": str(upload["received"]),
            "Upload-Length": str(upload["length"]),
            "Upload-Expires": _expires(upload),
            "Cache-Control": "no-store",
        },
    )


@tus_router.get(
    "/{upload_id:uuid}",
    summary="A resumable upload's state",
    description="The offset reached, and the file once the upload is complete (JSON; tus clients use HEAD).",
    response_model=TusUploadRead,
    responses={
        200: {"content": {"application/json": {"example": TUS_EXAMPLE}}},
        **problem_responses(401, 404, 410, 412, 422),
    },
)
async def tus_state(
    upload_id: UploadId, reader: ReaderDep, principal: CurrentPrincipal, tus_resumable: TusResumable = None
) -> TusUploadRead:
    upload = await uploads.upload_for(reader, upload_id, owner_id=principal.user_id, kind=uploads.TUS)
    file = None
    if upload["file_id"] is not None:
        file = FileRead.model_validate(
            service.public_fields(
                await service.file_for(
                    reader, upload["file_id"], owner_id=principal.user_id, namespace=upload["namespace"]
                )
            )
        )
    return TusUploadRead(
        id=upload["id"],
        name=upload["name"],
        length=upload["length"],
        offset=upload["received"],
        expires_at=upload["expires_at"],
        file=file,
    )


@tus_router.patch(
    "/{upload_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="tus: send bytes",
    description="Appends the body (`application/offset+octet-stream`) at `Upload-Offset`, which "
    "must be the upload's offset (409 otherwise). With `Upload-Checksum: <sha1|sha256|sha512> "
    "<base64>` a chunk that does not match is discarded (460). The PATCH that completes the upload "
    "stores the file (sniffed and checked like any upload: 415 and the upload is gone) and names "
    "it in `X-File-Id`.",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {OFFSET_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        204: {"description": "Written; the new `Upload-Offset` is in the headers."},
        460: {
            "description": "The chunk does not match `Upload-Checksum`; it was discarded.",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
            },
        },
        **problem_responses(400, 401, 404, 409, 410, 412, 413, 415, 422),
    },
)
async def tus_patch(
    upload_id: UploadId,
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    storage: StorageDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    upload_offset: Annotated[int, Header(ge=0, description="Where these bytes go.")],
    content_type: Annotated[str, Header(description=f"`{OFFSET_MEDIA_TYPE}`.")] = "",
    upload_checksum: Annotated[
        str | None, Header(max_length=200, description="`<algorithm> <base64 digest>` of this chunk.")
    ] = None,
    tus_resumable: TusResumable = None,
) -> Response:
    if content_type.split(";")[0].strip().lower() != OFFSET_MEDIA_TYPE:
        raise UnsupportedMediaType(N_("Send the bytes as {media_type}."), media_type=OFFSET_MEDIA_TYPE)
    checksum = uploads.Checksum.parse(upload_checksum) if upload_checksum is not None else None
    raise_body_limit(request.scope, settings.files_max_bytes)
    policy = service.UploadPolicy.from_settings(settings)
    offset, file = await uploads.append_tus(
        session,
        reader,
        storage,
        upload_id,
        request.stream(),
        owner_id=principal.user_id,
        offset=upload_offset,
        checksum=checksum,
        policy=policy,
        ttl=settings.files_upload_ttl,
        disconnect=ClientDisconnect,
    )
    headers = {"Upload-Offset": str(offset)}
    if file is not None:
        headers["X-File-Id"] = str(file["id"])
    return Response(status_code=204, headers=headers)


@tus_router.delete(
    "/{upload_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="tus: cancel an upload",
    description="tus termination: the upload and its bytes are removed.",
    response_class=Response,
    responses=problem_responses(401, 404, 412, 422),
)
async def tus_terminate(
    upload_id: UploadId, session: SessionDep, principal: CurrentPrincipal, tus_resumable: TusResumable = None
) -> Response:
    await uploads.terminate(session, upload_id, owner_id=principal.user_id, kind=uploads.TUS)
    return Response(status_code=204)
