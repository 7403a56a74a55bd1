"""Uploads that take more than one request: resumable (tus 1.0) and presigned (the client PUTs
straight to the store). Both end the same way as any upload: sniffed, checked against the
allowlist, deduplicated (service.add_file).

tus: every `PATCH` stores its bytes as one chunk object; the upload's row lists the chunks and
the offset reached. Requests are stateless, so any app instance serves any PATCH, on S3 as on
a directory. A PATCH is applied with a conditional update (`WHERE received = <its offset>`):
of two PATCHes at the same offset one wins, the other is a 409 and its chunk is deleted. The
PATCH that reaches the declared length streams the chunks, in order, into the file store and
the chunks are deleted after commit. A client that disconnects keeps what arrived (tus core),
unless it sent a checksum, which a cut chunk cannot match.

Presigned: the client asks for a slot (a key of ours and an exact size), PUTs the bytes to the
URL, then asks to complete: the object is first moved to a key the client cannot write to, then
its size, sniffed type and SHA-256 are checked on what is stored. Refused bytes are deleted.

Unfinished uploads expire (`SIXTY_FILES_UPLOAD_TTL` after their last write); the
`files.expire_uploads` job deletes their bytes and rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.db import Database
from sixty.core.errors import BadRequest, Conflict, Gone, NotFound, Problem
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.core.reader import Reader, Row
from sixty.core.storage import ObjectTooLarge, PresignedRequest, Storage, delete_after_commit, new_key
from sixty.files import quota, service
from sixty.files.models import Upload

TUS = "tus"
PRESIGNED = "presigned"
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "sha512")
MAX_CHUNKS = 10_000


class ChecksumMismatch(Problem):
    """tus checksum extension: the chunk does not match `Upload-Checksum`; it was discarded."""

    status, code, title = 460, "checksum_mismatch", N_("Checksum mismatch")


def _not_found(upload_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Upload {id} was not found."), id=str(upload_id))


def _expired(upload_id: uuid.UUID) -> Gone:
    return Gone(N_("Upload {id} has expired; start again."), id=str(upload_id), code="upload_expired")


_READ = select(Upload.__table__).where(
    Upload.id == bindparam("upload_id", type_=Upload.id.type),
    Upload.owner_id == bindparam("owner_id", type_=Upload.owner_id.type),
    Upload.kind == bindparam("kind", type_=Upload.kind.type),
)


async def upload_for(reader: Reader, upload_id: uuid.UUID, *, owner_id: uuid.UUID, kind: str) -> Row:
    """The caller's upload of that kind (404 for anyone else's, 410 once expired)."""
    row = await reader.one(_READ, upload_id=upload_id, owner_id=owner_id, kind=kind)
    if row is None:
        raise _not_found(upload_id)
    if row["expires_at"] <= utcnow():
        raise _expired(upload_id)
    return row


# --- tus -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> Checksum:
        """`Upload-Checksum: <algorithm> <base64 digest>`; 400 when malformed or unsupported."""
        algorithm, _sep, encoded = header.strip().partition(" ")
        if algorithm not in CHECKSUM_ALGORITHMS:
            raise BadRequest(
                N_("Checksum algorithm {algorithm} is not supported; use one of {supported}."),
                algorithm=algorithm[:20],
                supported=", ".join(CHECKSUM_ALGORITHMS),
                code="unsupported_checksum",
            )
        try:
            digest = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(
                N_("Upload-Checksum is not <algorithm> <base64 digest>."), code="bad_checksum"
            ) from None
        return cls(algorithm, digest)


async def create_tus(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    name: str,
    length: int,
    ttl: timedelta,
    namespace: str = "files",
) -> Upload:
    now = utcnow()
    upload = Upload(
        id=uuid.uuid4(),
        owner_id=owner_id,
        kind=TUS,
        namespace=namespace,
        name=name,
        length=length,
        received=0,
        key=None,
        chunks=[],
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(upload)
    await session.flush()
    return upload


class _Counted:
    """The chunk's bytes on their way to storage, hashed for the checksum. A client that
    disconnects ends the stream (what arrived is kept) unless a checksum must match."""

    def __init__(
        self, chunks: AsyncIterable[bytes], checksum: Checksum | None, disconnect: type[Exception]
    ) -> None:
        self.chunks = chunks
        self.hasher = hashlib.new(checksum.algorithm) if checksum else None
        self.disconnect = disconnect
        self.keep_partial = checksum is None

    async def stream(self) -> AsyncIterator[bytes]:
        iterator = self.chunks.__aiter__()
        while True:
            try:
                chunk = await anext(iterator)
            except StopAsyncIteration:
                return
            except self.disconnect:
                if self.keep_partial:
                    return
                raise
            if self.hasher is not None:
                self.hasher.update(chunk)
            yield chunk


async def _chunks_of(storage: Storage, keys: list[str]) -> AsyncIterator[bytes]:
    for key in keys:
        async for chunk in storage.get(key):
            yield chunk


async def append_tus(
    session: AsyncSession,
    reader: Reader,
    storage: Storage,
    upload_id: uuid.UUID,
    body: AsyncIterable[bytes],
    *,
    owner_id: uuid.UUID,
    offset: int,
    checksum: Checksum | None,
    policy: service.UploadPolicy,
    ttl: timedelta,
    disconnect: type[Exception],
) -> tuple[int, Row | None]:
    """Apply one PATCH: the new offset, and the file once the upload is complete."""
    upload = await upload_for(reader, upload_id, owner_id=owner_id, kind=TUS)
    if upload["file_id"] is not None or offset != upload["received"]:
        raise Conflict(
            N_("The upload is at offset {received}, not {offset}."),
            received=upload["received"],
            offset=offset,
            code="offset_mismatch",
        )
    if len(upload["chunks"]) >= MAX_CHUNKS:
        raise Conflict(N_("An upload has at most {count} chunks."), count=MAX_CHUNKS, code="too_many_chunks")
    remaining = upload["length"] - offset
    counted = _Counted(body, checksum, disconnect)
    key = new_key("tus")
    try:
        written = await storage.put(key, counted.stream(), max_size=remaining)
    except ObjectTooLarge:
        raise service.FileTooLarge(
            N_("The upload was declared with {length} bytes."),
            length=upload["length"],
            code="exceeds_upload_length",
        ) from None
    if checksum is not None and counted.hasher is not None and counted.hasher.digest() != checksum.digest:
        await storage.delete(key)
        raise ChecksumMismatch(
            N_("The chunk does not match its {algorithm} checksum; send it again."),
            algorithm=checksum.algorithm,
        )
    if written.size == 0:
        await storage.delete(key)
        return offset, None
    chunks = [*upload["chunks"], [offset, written.size, key]]
    received = offset + written.size
    stored: service.StoredBytes | None = None
    try:
        if received == upload["length"]:
            stored = await service.write_stream(
                storage, _chunks_of(storage, [chunk[2] for chunk in chunks]), policy=policy
            )
        applied = await session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.received == offset, Upload.expires_at > utcnow())
            .values(received=received, chunks=[] if stored else chunks, expires_at=utcnow() + ttl)
        )
        if getattr(applied, "rowcount", 0) != 1:
            raise Conflict(
                N_("Another request wrote to this upload first; ask for its offset."), code="offset_mismatch"
            )
    except BaseException as error:
        await storage.delete(key)
        if stored is not None:
            await storage.delete(stored.key)
        if isinstance(error, service.UnsupportedFileType | service.EmptyFile | service.FileTooLarge):
            await _abandon(session, storage, upload_id, [chunk[2] for chunk in upload["chunks"]])
            error.keep_changes = True  # the refused upload is gone for good
        raise
    if stored is None:
        return received, None
    file = await service.add_file(
        session, storage, stored, owner_id=owner_id, name=upload["name"], namespace=upload["namespace"]
    )
    await session.execute(update(Upload).where(Upload.id == upload_id).values(file_id=file["id"]))
    await quota.settle(session, upload_id=upload_id)  # the file counts instead (I4)
    for chunk in chunks:
        delete_after_commit(session, chunk[2])
    return received, file


async def _abandon(session: AsyncSession, storage: Storage, upload_id: uuid.UUID, keys: list[str]) -> None:
    await session.execute(delete(Upload).where(Upload.id == upload_id))
    for key in keys:
        delete_after_commit(session, key)


async def terminate(session: AsyncSession, upload_id: uuid.UUID, *, owner_id: uuid.UUID, kind: str) -> None:
    """tus termination (and cancelling a presigned upload): the row now, the bytes after commit."""
    upload = (
        await session.scalars(
            select(Upload).where(Upload.id == upload_id, Upload.owner_id == owner_id, Upload.kind == kind)
        )
    ).first()
    if upload is None:
        raise _not_found(upload_id)
    keys = [chunk[2] for chunk in upload.chunks] + ([upload.key] if upload.key else [])
    await session.delete(upload)
    await session.flush()
    for key in keys:
        delete_after_commit(session, key)


# --- presigned -------------------------------------------------------------------------------------


async def create_presigned(
    session: AsyncSession,
    storage: Storage,
    *,
    owner_id: uuid.UUID,
    name: str,
    size: int,
    policy: service.UploadPolicy,
    url_ttl: timedelta,
    upload_ttl: timedelta,
    base_url: str,
    namespace: str = "files",
) -> tuple[Upload, PresignedRequest]:
    """A slot for `size` bytes: the upload row and the request the client makes to fill it."""
    if size > policy.max_bytes:
        raise service.too_large(policy.max_bytes)
    now = utcnow()
    upload = Upload(
        id=uuid.uuid4(),
        owner_id=owner_id,
        kind=PRESIGNED,
        namespace=namespace,
        name=name,
        length=size,
        received=0,
        key=new_key("incoming"),
        chunks=[],
        created_at=now,
        expires_at=now + url_ttl + upload_ttl,
    )
    request = await storage.presign_put(upload.key or "", size=size, expires_in=url_ttl, base_url=base_url)
    session.add(upload)
    await session.flush()
    return upload, request


async def complete_presigned(
    session: AsyncSession,
    reader: Reader,
    storage: Storage,
    upload_id: uuid.UUID,
    *,
    owner_id: uuid.UUID,
    policy: service.UploadPolicy,
) -> Row:
    """Accept what the client put as a file, after checking it (see the module docstring)."""
    upload = await upload_for(reader, upload_id, owner_id=owner_id, kind=PRESIGNED)
    if upload["file_id"] is not None:
        raise Conflict(N_("This upload is complete already."), code="upload_complete")
    incoming = str(upload["key"])
    if await storage.stat(incoming) is None:
        raise Conflict(N_("Nothing has been uploaded to this slot yet."), code="upload_missing")
    key = new_key()
    await storage.move(incoming, key)  # out of reach of the presigned URL, which is still valid
    try:
        stored = await service.check_object(storage, key, policy=policy, expected_size=upload["length"])
    except Problem as error:
        await session.execute(delete(Upload).where(Upload.id == upload_id))
        error.keep_changes = True
        raise
    file = await service.add_file(
        session, storage, stored, owner_id=owner_id, name=upload["name"], namespace=upload["namespace"]
    )
    # Kept until it expires, so a replayed PUT's bytes are found and deleted then.
    await session.execute(update(Upload).where(Upload.id == upload_id).values(file_id=file["id"]))
    await quota.settle(session, upload_id=upload_id)  # the file counts instead (I4)
    return file


_PENDING_BY_KEY = select(Upload.id, Upload.expires_at, Upload.file_id).where(
    Upload.key == bindparam("key", type_=Upload.key.type), Upload.kind == PRESIGNED
)


async def accepts_signed_put(reader: Reader, key: str) -> bool:
    """Whether a local signed PUT to `key` belongs to an open presigned upload."""
    row = await reader.one(_PENDING_BY_KEY, key=key)
    return row is not None and row["file_id"] is None and row["expires_at"] > utcnow()


# --- expiry ----------------------------------------------------------------------------------------


async def expire_uploads(
    db: Database, storage: Storage, *, now: datetime | None = None, batch: int = 500
) -> int:
    """Delete the bytes and rows of uploads past their expiry; the number removed."""
    now = now or utcnow()
    async with db.session() as session:
        expired = list(
            (await session.scalars(select(Upload).where(Upload.expires_at <= now).limit(batch))).all()
        )
        for upload in expired:
            for key in [chunk[2] for chunk in upload.chunks] + ([upload.key] if upload.key else []):
                await storage.delete(key)  # bytes first: a failure leaves the row to try again
        if expired:
            await session.execute(delete(Upload).where(Upload.id.in_([upload.id for upload in expired])))
        await session.commit()
    return len(expired)
