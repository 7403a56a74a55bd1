"""B11 + A11 files: the logic, and the way every module stores bytes. No HTTP here; the caller's
unit of work commits.

How bytes become a file (`store_stream`, `adopt_object`):

1. The bytes go to storage under a new key of ours, streamed: never whole in memory. On the way
   the first bytes are sniffed (core/sniff.py) and checked against the policy's allowlist, the
   size against its limit, and the SHA-256 is computed. Any refusal stops the stream, and the
   storage removes what it had written.
2. Only then the database: the blob is inserted, or, when the same content is already stored,
   its reference count goes up in one atomic upsert (`INSERT .. ON CONFLICT (sha256) DO UPDATE`):
   concurrent identical uploads end with one blob, counted once per file, and each loser deletes
   its own copy of the bytes. The file row references the blob.
3. If the transaction does not commit, the bytes it wrote are deleted (core/storage.py
   `discard_unless_committed`). Deleting a file counts its blob down in the same transaction;
   at zero the blob row goes and its bytes are deleted after commit (`storage.delete` job).

Streaming first and writing rows last keeps write transactions short: on SQLite, a transaction
that writes holds the database's write lock, which must never wait on a client's upload.

Object-level rules: every read and change is scoped to the owner (and the module's namespace):
another account's file is simply not found (404).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.errors import ContentTooLarge, NotFound, Unprocessable, UnsupportedMediaType
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row
from sixty.core.sniff import SNIFF_BYTES, sniff
from sixty.core.storage import (
    ObjectNotFound,
    ObjectTooLarge,
    PutResult,
    Storage,
    delete_after_commit,
    discard_unless_committed,
    new_key,
)
from sixty.files import preview_service
from sixty.files.models import Blob, StoredFile
from sixty.files.schemas import FileSort

NAMESPACE = "files"
# Media types a browser may show in the page instead of downloading: raster images, plain
# text, audio and video. Everything else is sent as an attachment.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/avif",
        "text/plain",
        "audio/mpeg",
        "video/mp4",
    }
)


# --- errors ----------------------------------------------------------------------------------------


class FileTooLarge(ContentTooLarge):
    code = "file_too_large"


class UnsupportedFileType(UnsupportedMediaType):
    code = "unsupported_file_type"


class EmptyFile(Unprocessable):
    code = "empty_file"


def too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(N_("A file may have at most {limit} bytes."), limit=limit)


def unsupported(content_type: str) -> UnsupportedFileType:
    return UnsupportedFileType(
        N_("Files of type {content_type} are not accepted (the type is read from the content)."),
        content_type=content_type,
    )


def empty_file() -> EmptyFile:
    return EmptyFile(N_("The file is empty."))


def not_found(file_id: uuid.UUID) -> NotFound:
    return NotFound(N_("File {id} was not found."), id=str(file_id))


# --- policy ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadPolicy:
    """What a store accepts: a size limit and media types (sniffed, never claimed). Modules pass
    their own (resumes: PDF and DOCX only)."""

    max_bytes: int
    allowed_types: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadPolicy:
        return cls(max_bytes=settings.files_max_bytes, allowed_types=frozenset(settings.files_allowed_types))

    def check_type(self, content_type: str) -> str:
        if content_type not in self.allowed_types:
            raise unsupported(content_type)
        return content_type


class _Sniffer:
    """Passes a stream through, deciding its media type from the first SNIFF_BYTES on the way
    (and refusing it then, before the rest is written)."""

    def __init__(self, chunks: AsyncIterable[bytes], policy: UploadPolicy) -> None:
        self.chunks = chunks
        self.policy = policy
        self.content_type: str | None = None

    def _decide(self, head: bytes, *, complete: bool) -> None:
        if not head:
            raise empty_file()
        self.content_type = self.policy.check_type(sniff(head, complete=complete))

    async def stream(self) -> AsyncIterator[bytes]:
        head = b""
        async for chunk in self.chunks:
            if self.content_type is not None:
                yield chunk
                continue
            head += chunk
            if len(head) >= SNIFF_BYTES:
                self._decide(head, complete=False)
                yield head
        if self.content_type is None:
            self._decide(head, complete=True)
            yield head


@dataclass(frozen=True)
class StoredBytes:
    """Bytes in storage, checked, not yet a file (`add_file` makes them one)."""

    key: str
    size: int
    sha256: str
    content_type: str


async def write_stream(
    storage: Storage, chunks: AsyncIterable[bytes], *, policy: UploadPolicy
) -> StoredBytes:
    """Stream to a new key, sniffing and checking on the way. Raises FileTooLarge,
    UnsupportedFileType or EmptyFile (or whatever the stream raises) with nothing left behind."""
    sniffer = _Sniffer(chunks, policy)
    try:
        result: PutResult = await storage.put(new_key(), sniffer.stream(), max_size=policy.max_bytes)
    except ObjectTooLarge:
        raise too_large(policy.max_bytes) from None
    assert sniffer.content_type is not None  # noqa: S101 - decided before the stream ended
    return StoredBytes(result.key, result.size, result.sha256, sniffer.content_type)


# --- blobs -----------------------------------------------------------------------------------------


async def _reference_blob(session: AsyncSession, stored: StoredBytes) -> tuple[uuid.UUID, str]:
    """The blob holding `stored`'s content, counted once more: inserted, or, when the content is
    already stored, its count raised, in one statement that concurrent uploads cannot race."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Blob)
        .values(
            id=uuid.uuid4(),
            sha256=stored.sha256,
            key=stored.key,
            size=stored.size,
            refcount=1,
            created_at=utcnow(),
        )
        .on_conflict_do_update(index_elements=[Blob.sha256], set_={"refcount": Blob.refcount + 1})
        .returning(Blob.id, Blob.key)
    )
    row = (await session.execute(statement)).one()
    return row.id, row.key


async def _release_blob(session: AsyncSession, blob_id: uuid.UUID) -> None:
    """Count the blob down; at zero its row goes, and its bytes after commit."""
    row = (
        await session.execute(
            update(Blob)
            .where(Blob.id == blob_id)
            .values(refcount=Blob.refcount - 1)
            .returning(Blob.refcount, Blob.key)
        )
    ).one()
    if row.refcount <= 0:
        await session.execute(delete(Blob).where(Blob.id == blob_id, Blob.refcount <= 0))
        delete_after_commit(session, row.key)


# --- files -----------------------------------------------------------------------------------------


def _file_row(file: StoredFile, key: str) -> Row:
    return {
        "id": file.id,
        "owner_id": file.owner_id,
        "namespace": file.namespace,
        "name": file.name,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
        "key": key,
        "folder_id": file.folder_id,
        "created_at": file.created_at,
        "updated_at": file.updated_at,
    }


async def add_file(
    session: AsyncSession,
    storage: Storage,
    stored: StoredBytes,
    *,
    owner_id: uuid.UUID,
    name: str,
    namespace: str = NAMESPACE,
) -> Row:
    """Make checked bytes a file of `owner_id` (deduplicated; see the module docstring)."""
    discard_unless_committed(session, storage, stored.key)
    blob_id, key = await _reference_blob(session, stored)
    if key != stored.key:  # the content was stored already: keep that copy, drop ours
        await storage.delete(stored.key)
    now = utcnow()
    file = StoredFile(
        id=uuid.uuid4(),
        owner_id=owner_id,
        namespace=namespace,
        name=name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        blob_id=blob_id,
        created_at=now,
        updated_at=now,
    )
    session.add(file)
    await session.flush()
    if namespace == NAMESPACE:
        await preview_service.start(session, file_id=file.id, content_type=file.content_type)
    return _file_row(file, key)


async def store_stream(
    session: AsyncSession,
    storage: Storage,
    chunks: AsyncIterable[bytes],
    *,
    owner_id: uuid.UUID,
    name: str,
    policy: UploadPolicy,
    namespace: str = NAMESPACE,
) -> Row:
    """Store a stream of bytes as a file of `owner_id`: the one call a module needs to keep an
    upload. `name` must be clean already (`names.clean_name`, or the schemas' `FileName`).
    Raises FileTooLarge (413), UnsupportedFileType (415), EmptyFile (422), nothing kept."""
    stored = await write_stream(storage, chunks, policy=policy)
    return await add_file(session, storage, stored, owner_id=owner_id, name=name, namespace=namespace)


async def check_object(
    storage: Storage, key: str, *, policy: UploadPolicy, expected_size: int | None
) -> StoredBytes:
    """Bytes a client put straight into the store (presigned upload): size, sniffed type and
    SHA-256 checked by reading them back. Refused bytes are deleted."""
    try:
        stat = await storage.stat(key)
        if stat is None:
            raise ObjectNotFound(key)
        if stat.size == 0:
            raise empty_file()
        if stat.size > policy.max_bytes:
            raise too_large(policy.max_bytes)
        if expected_size is not None and stat.size != expected_size:
            raise Unprocessable(
                N_("The upload has {size} bytes, not the {expected} announced."),
                size=stat.size,
                expected=expected_size,
            )
        head = await storage.read(key, length=SNIFF_BYTES)
        content_type = policy.check_type(sniff(head, complete=stat.size <= SNIFF_BYTES))
        size, sha256 = await storage.digest(key)
    except (FileTooLarge, UnsupportedFileType, EmptyFile, Unprocessable):
        await storage.delete(key)
        raise
    return StoredBytes(key=key, size=size, sha256=sha256, content_type=content_type)


def _visible(statement: AnySelect) -> AnySelect:
    return statement.where(
        StoredFile.owner_id == bindparam("owner_id", type_=StoredFile.owner_id.type),
        StoredFile.namespace == bindparam("namespace", type_=StoredFile.namespace.type),
        StoredFile.trashed_at.is_(None),  # a file in the trash is only seen through management.py
    )


FILE_COLUMNS = (
    StoredFile.id,
    StoredFile.owner_id,
    StoredFile.namespace,
    StoredFile.name,
    StoredFile.content_type,
    StoredFile.size,
    StoredFile.sha256,
    Blob.key,
    StoredFile.folder_id,
    StoredFile.created_at,
    StoredFile.updated_at,
)
_FILES = select(*FILE_COLUMNS).join(Blob, Blob.id == StoredFile.blob_id)
_READ = _visible(_FILES.where(StoredFile.id == bindparam("file_id", type_=StoredFile.id.type)))
SORTS = sort_keys(StoredFile.id, created_at=StoredFile.created_at, name=StoredFile.name, size=StoredFile.size)


async def file_for(
    reader: Reader, file_id: uuid.UUID, *, owner_id: uuid.UUID, namespace: str = NAMESPACE
) -> Row:
    """The file as a row (`id`, `name`, `content_type`, `size`, `sha256`, `key`, times) if
    `owner_id` owns it in `namespace`; else NotFound (404), whoever else owns it."""
    row = await reader.one(_READ, file_id=file_id, owner_id=owner_id, namespace=namespace)
    if row is None:
        raise not_found(file_id)
    return row


@cache
def _list_statement(sort: FileSort, after: bool) -> AnySelect:
    return keyset_page(_visible(_FILES), SORTS[sort], after=after)


async def list_files(
    reader: Reader,
    *,
    owner_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    sort: FileSort = "-created_at",
    namespace: str = NAMESPACE,
) -> tuple[list[Row], str | None]:
    return await paginate(
        reader,
        lambda after: _list_statement(sort, after),
        sort=SORTS[sort],
        params=params,
        codec=codec,
        owner_id=owner_id,
        namespace=namespace,
    )


async def delete_file(
    session: AsyncSession, file_id: uuid.UUID, *, owner_id: uuid.UUID, namespace: str = NAMESPACE
) -> None:
    """Delete the file; its bytes go after commit when no other file has the same content."""
    file = (
        await session.scalars(
            select(StoredFile).where(
                StoredFile.id == file_id, StoredFile.owner_id == owner_id, StoredFile.namespace == namespace
            )
        )
    ).first()
    if file is None:
        raise not_found(file_id)
    blob_id = file.blob_id
    await preview_service.forget(session, file.id)
    await session.delete(file)
    await session.flush()
    await _release_blob(session, blob_id)


def open_content(
    storage: Storage, file: Row, *, offset: int = 0, length: int | None = None
) -> AsyncIterator[bytes]:
    """The file's bytes (a range of them), streamed from storage."""
    return storage.get(str(file["key"]), offset=offset, length=length)


def etag(file: Row) -> str:
    """Strong: a file's content never changes, and its SHA-256 names it."""
    return f'"{file["sha256"]}"'


def shows_inline(content_type: str) -> bool:
    """Whether a browser may show this type in the page; everything else downloads."""
    return content_type in INLINE_TYPES


def public_fields(file: Row) -> dict[str, Any]:
    """The row without what stays inside (the storage key, the owner)."""
    return {key: value for key, value in file.items() if key not in ("key", "owner_id", "namespace")}
