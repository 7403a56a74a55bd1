"""I4 file management: folders, the trash, versions and share links. No HTTP here; the caller's
unit of work commits.

- Folders nest (`parent_id`); a name is unique among a parent's folders. Creating, renaming
  and moving take the owner's turn (quota.lock), so two moves cannot cross into a cycle and two
  creations cannot both take a name; a move into the folder itself or one of its descendants
  is a 409.
- `DELETE /api/files/{id}` moves a file to the trash (`trashed_at`): it leaves the lists and
  reads of service.py, still counts against the quota, and can be restored. Purging deletes it
  for good: its blob and every version's blob are counted down, and bytes no longer referenced
  are deleted after commit (service._release_blob). The `files.purge_trash` job purges files
  trashed longer than `SIXTY_FILES_TRASH_RETENTION`.
- Versions: the file row holds the current content; each earlier content is a `FileVersion`
  holding its own blob reference. A new upload archives the current content as the next
  number; restoring an older version archives the current content too and makes the old one
  current again (its blob referenced once more), so nothing is lost either way.
- Share links: a random token (256 bits) of which only the SHA-256 is stored; optional
  expiry and argon2 password; revocable. A share of a trashed file answers 404.

Another user's file, folder, version or share is a 404, like one that does not exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import datetime
from functools import cache
from typing import Any

import argon2
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.db import Database
from sixty.core.errors import Conflict, Forbidden, Gone, NotFound
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row
from sixty.core.storage import Storage, discard_unless_committed
from sixty.files import preview_service, quota, service
from sixty.files.models import Blob, FileVersion, Folder, Share, StoredFile

NAMESPACE = service.NAMESPACE
MAX_DEPTH = 32  # folders nested deeper than this are refused (and walks up the tree stay short)
ROOT_KEY = ""


# --- errors ----------------------------------------------------------------------------------------


def folder_not_found(folder_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Folder {id} was not found."), id=str(folder_id), code="folder_not_found")


def name_taken(name: str) -> Conflict:
    return Conflict(N_("A folder named {name} is already there."), name=name, code="folder_name_taken")


def version_not_found(number: int) -> NotFound:
    return NotFound(N_("Version {number} was not found."), number=number, code="version_not_found")


def share_not_found() -> NotFound:
    return NotFound(N_("This share link does not exist."), code="share_not_found")


# --- folders ---------------------------------------------------------------------------------------


def _key(parent_id: uuid.UUID | None) -> str:
    return str(parent_id) if parent_id is not None else ROOT_KEY


FOLDER_COLUMNS = (Folder.id, Folder.name, Folder.parent_id, Folder.created_at, Folder.updated_at)
_FOLDER = select(*FOLDER_COLUMNS).where(
    Folder.id == bindparam("folder_id", type_=Folder.id.type),
    Folder.owner_id == bindparam("owner_id", type_=Folder.owner_id.type),
)
FOLDER_SORTS = sort_keys(Folder.id, name=Folder.name, created_at=Folder.created_at)
_CHILDREN = select(*FOLDER_COLUMNS).where(
    Folder.owner_id == bindparam("owner_id", type_=Folder.owner_id.type),
    Folder.parent_key == bindparam("parent_key", type_=Folder.parent_key.type),
)


async def folder_for(reader: Reader, folder_id: uuid.UUID, *, owner_id: uuid.UUID) -> Row:
    row = await reader.one(_FOLDER, folder_id=folder_id, owner_id=owner_id)
    if row is None:
        raise folder_not_found(folder_id)
    return row


def _folder_row(folder: Folder) -> Row:
    return {
        "id": folder.id,
        "name": folder.name,
        "parent_id": folder.parent_id,
        "created_at": folder.created_at,
        "updated_at": folder.updated_at,
    }


async def _own_folder(session: AsyncSession, folder_id: uuid.UUID, owner_id: uuid.UUID) -> Folder:
    folder = (
        await session.scalars(select(Folder).where(Folder.id == folder_id, Folder.owner_id == owner_id))
    ).first()
    if folder is None:
        raise folder_not_found(folder_id)
    return folder


async def _check_name_free(
    session: AsyncSession, owner_id: uuid.UUID, parent_id: uuid.UUID | None, name: str
) -> None:
    taken = await session.scalar(
        select(Folder.id).where(
            Folder.owner_id == owner_id, Folder.parent_key == _key(parent_id), Folder.name == name
        )
    )
    if taken is not None:
        raise name_taken(name)


async def _ancestors(session: AsyncSession, folder_id: uuid.UUID | None) -> list[uuid.UUID]:
    """`folder_id` and the folders above it, nearest first."""
    chain: list[uuid.UUID] = []
    current = folder_id
    while current is not None and len(chain) <= MAX_DEPTH:
        chain.append(current)
        current = await session.scalar(select(Folder.parent_id).where(Folder.id == current))
    return chain


async def _depth_below(session: AsyncSession, folder_id: uuid.UUID) -> int:
    """How many levels of folders are under `folder_id` (0 when none)."""
    depth, level = 0, [folder_id]
    while level and depth <= MAX_DEPTH:
        level = list((await session.scalars(select(Folder.id).where(Folder.parent_id.in_(level)))).all())
        if level:
            depth += 1
    return depth


def _too_deep() -> Conflict:
    return Conflict(N_("Folders nest at most {depth} levels deep."), depth=MAX_DEPTH, code="folder_too_deep")


async def create_folder(
    session: AsyncSession, *, owner_id: uuid.UUID, name: str, parent_id: uuid.UUID | None
) -> Row:
    await quota.lock(session, owner_id)
    if parent_id is not None:
        await _own_folder(session, parent_id, owner_id)
        if len(await _ancestors(session, parent_id)) >= MAX_DEPTH:
            raise _too_deep()
    await _check_name_free(session, owner_id, parent_id, name)
    now = utcnow()
    folder = Folder(
        id=uuid.uuid4(),
        owner_id=owner_id,
        parent_id=parent_id,
        parent_key=_key(parent_id),
        name=name,
        created_at=now,
        updated_at=now,
    )
    session.add(folder)
    await session.flush()
    return _folder_row(folder)


async def update_folder(
    session: AsyncSession, folder_id: uuid.UUID, *, owner_id: uuid.UUID, changes: dict[str, Any]
) -> Row:
    """Rename (`name`) and/or move (`parent_id`, None for the top level)."""
    await quota.lock(session, owner_id)
    folder = await _own_folder(session, folder_id, owner_id)
    parent_id = changes.get("parent_id", folder.parent_id)
    name = changes.get("name", folder.name)
    if parent_id != folder.parent_id and parent_id is not None:
        await _own_folder(session, parent_id, owner_id)
        above = await _ancestors(session, parent_id)
        if folder_id in above:
            raise Conflict(
                N_("A folder cannot move into itself or one of its own folders."), code="folder_cycle"
            )
        if len(above) + 1 + await _depth_below(session, folder_id) > MAX_DEPTH:
            raise _too_deep()
    if (parent_id, name) != (folder.parent_id, folder.name):
        await _check_name_free(session, owner_id, parent_id, name)
    folder.parent_id = parent_id
    folder.parent_key = _key(parent_id)
    folder.name = name
    folder.updated_at = utcnow()
    await session.flush()
    return _folder_row(folder)


async def delete_folder(session: AsyncSession, folder_id: uuid.UUID, *, owner_id: uuid.UUID) -> None:
    """Delete an empty folder (files in the trash may remain: restored, they go to the top)."""
    await quota.lock(session, owner_id)
    folder = await _own_folder(session, folder_id, owner_id)
    child = await session.scalar(select(Folder.id).where(Folder.parent_id == folder_id).limit(1))
    file = await session.scalar(
        select(StoredFile.id)
        .where(StoredFile.folder_id == folder_id, StoredFile.trashed_at.is_(None))
        .limit(1)
    )
    if child is not None or file is not None:
        raise Conflict(N_("The folder is not empty."), code="folder_not_empty")
    await session.execute(update(StoredFile).where(StoredFile.folder_id == folder_id).values(folder_id=None))
    await session.delete(folder)
    await session.flush()


@cache
def _folders_statement(sort: str, after: bool) -> AnySelect:
    return keyset_page(_CHILDREN, FOLDER_SORTS[sort], after=after)


async def list_folders(
    reader: Reader,
    *,
    owner_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    params: PageParams,
    codec: CursorCodec,
    sort: str = "name",
) -> tuple[list[Row], str | None]:
    if parent_id is not None:
        await folder_for(reader, parent_id, owner_id=owner_id)
    return await paginate(
        reader,
        lambda after: _folders_statement(sort, after),
        sort=FOLDER_SORTS[sort],
        params=params,
        codec=codec,
        owner_id=owner_id,
        parent_key=_key(parent_id),
    )


@cache
def _folder_files_statement(sort: str, after: bool) -> AnySelect:
    base = (
        select(*service.FILE_COLUMNS)
        .join(Blob, Blob.id == StoredFile.blob_id)
        .where(
            StoredFile.owner_id == bindparam("owner_id", type_=StoredFile.owner_id.type),
            StoredFile.namespace == NAMESPACE,
            StoredFile.trashed_at.is_(None),
            StoredFile.folder_id == bindparam("folder_id", type_=Folder.id.type),
        )
    )
    return keyset_page(base, service.SORTS[sort], after=after)


async def list_folder_files(
    reader: Reader,
    folder_id: uuid.UUID,
    *,
    owner_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    sort: str = "name",
) -> tuple[list[Row], str | None]:
    await folder_for(reader, folder_id, owner_id=owner_id)
    return await paginate(
        reader,
        lambda after: _folder_files_statement(sort, after),
        sort=service.SORTS[sort],
        params=params,
        codec=codec,
        owner_id=owner_id,
        folder_id=folder_id,
    )


# --- files: move, rename, trash --------------------------------------------------------------------


async def _own_file(
    session: AsyncSession, file_id: uuid.UUID, owner_id: uuid.UUID, *, trashed: bool = False
) -> StoredFile:
    statement = select(StoredFile).where(
        StoredFile.id == file_id,
        StoredFile.owner_id == owner_id,
        StoredFile.namespace == NAMESPACE,
        StoredFile.trashed_at.is_not(None) if trashed else StoredFile.trashed_at.is_(None),
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    file = (await session.scalars(statement)).first()
    if file is None:
        raise service.not_found(file_id)
    return file


async def _file_row(session: AsyncSession, file: StoredFile) -> Row:
    key = await session.scalar(select(Blob.key).where(Blob.id == file.blob_id))
    row = service._file_row(file, str(key))
    row["trashed_at"] = file.trashed_at
    return row


async def update_file(
    session: AsyncSession, file_id: uuid.UUID, *, owner_id: uuid.UUID, changes: dict[str, Any]
) -> Row:
    """Rename (`name`) and/or move (`folder_id`, None for the top level)."""
    file = await _own_file(session, file_id, owner_id)
    if "folder_id" in changes and changes["folder_id"] != file.folder_id:
        if changes["folder_id"] is not None:
            await _own_folder(session, changes["folder_id"], owner_id)
        file.folder_id = changes["folder_id"]
    if "name" in changes:
        file.name = changes["name"]
    file.updated_at = utcnow()
    await session.flush()
    return await _file_row(session, file)


async def trash_file(session: AsyncSession, file_id: uuid.UUID, *, owner_id: uuid.UUID) -> None:
    file = await _own_file(session, file_id, owner_id)
    file.trashed_at = utcnow()
    await session.flush()


async def restore_file(session: AsyncSession, file_id: uuid.UUID, *, owner_id: uuid.UUID) -> Row:
    file = await _own_file(session, file_id, owner_id, trashed=True)
    file.trashed_at = None
    await session.flush()
    return await _file_row(session, file)


async def _purge(session: AsyncSession, file: StoredFile) -> None:
    blob_ids = [
        file.blob_id,
        *(await session.scalars(select(FileVersion.blob_id).where(FileVersion.file_id == file.id))),
    ]
    await session.execute(delete(FileVersion).where(FileVersion.file_id == file.id))
    await session.execute(delete(Share).where(Share.file_id == file.id))
    await preview_service.forget(session, file.id)
    await session.delete(file)
    await session.flush()
    for blob_id in blob_ids:
        await service._release_blob(session, blob_id)


async def purge_file(session: AsyncSession, file_id: uuid.UUID, *, owner_id: uuid.UUID) -> None:
    """Delete a file in the trash for good, with its versions and share links."""
    await _purge(session, await _own_file(session, file_id, owner_id, trashed=True))


async def empty_trash(session: AsyncSession, *, owner_id: uuid.UUID) -> int:
    files = (
        await session.scalars(
            select(StoredFile).where(
                StoredFile.owner_id == owner_id,
                StoredFile.namespace == NAMESPACE,
                StoredFile.trashed_at.is_not(None),
            )
        )
    ).all()
    for file in files:
        await _purge(session, file)
    return len(files)


async def purge_expired(db: Database, *, before: datetime, batch: int = 200) -> int:
    """Purge files trashed before `before` (the periodic job); how many went."""
    async with db.session() as session:
        files = (
            await session.scalars(
                select(StoredFile)
                .where(StoredFile.trashed_at.is_not(None), StoredFile.trashed_at <= before)
                .order_by(StoredFile.trashed_at)
                .limit(batch)
            )
        ).all()
        for file in files:
            await _purge(session, file)
        await session.commit()
    return len(files)


TRASH_SORTS = sort_keys(StoredFile.id, trashed_at=StoredFile.trashed_at)
_TRASH = (
    select(*service.FILE_COLUMNS, StoredFile.trashed_at)
    .join(Blob, Blob.id == StoredFile.blob_id)
    .where(
        StoredFile.owner_id == bindparam("owner_id", type_=StoredFile.owner_id.type),
        StoredFile.namespace == NAMESPACE,
        StoredFile.trashed_at.is_not(None),
    )
)


@cache
def _trash_statement(after: bool) -> AnySelect:
    return keyset_page(_TRASH, TRASH_SORTS["-trashed_at"], after=after)


async def list_trash(
    reader: Reader, *, owner_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[Row], str | None]:
    return await paginate(
        reader,
        _trash_statement,
        sort=TRASH_SORTS["-trashed_at"],
        params=params,
        codec=codec,
        owner_id=owner_id,
    )


# --- versions --------------------------------------------------------------------------------------

_VERSIONS = (
    select(
        FileVersion.number,
        FileVersion.name,
        FileVersion.content_type,
        FileVersion.size,
        FileVersion.sha256,
        FileVersion.created_at,
        Blob.key,
    )
    .join(Blob, Blob.id == FileVersion.blob_id)
    .where(FileVersion.file_id == bindparam("file_id", type_=FileVersion.file_id.type))
    .order_by(FileVersion.number.desc())
)
_VERSION = _VERSIONS.where(FileVersion.number == bindparam("number", type_=FileVersion.number.type))
_LAST_NUMBER = select(func.coalesce(func.max(FileVersion.number), 0).label("last")).where(
    FileVersion.file_id == bindparam("file_id", type_=FileVersion.file_id.type)
)


def _current(file: Row, number: int) -> Row:
    return {
        "number": number,
        "current": True,
        "name": file["name"],
        "content_type": file["content_type"],
        "size": file["size"],
        "sha256": file["sha256"],
        "created_at": file["updated_at"],
        "key": file["key"],
    }


async def list_versions(reader: Reader, file_id: uuid.UUID, *, owner_id: uuid.UUID) -> list[Row]:
    """Every content of the file, newest (the current one) first."""
    file = await service.file_for(reader, file_id, owner_id=owner_id)
    older = await reader.all(_VERSIONS, file_id=file_id)
    number = (older[0]["number"] + 1) if older else 1
    return [_current(file, number), *({**row, "current": False} for row in older)]


async def version_for(reader: Reader, file_id: uuid.UUID, number: int, *, owner_id: uuid.UUID) -> Row:
    """One content of the file (with its storage `key`), current or earlier."""
    file = await service.file_for(reader, file_id, owner_id=owner_id)
    row = await reader.one(_VERSION, file_id=file_id, number=number)
    if row is not None:
        return {**row, "current": False}
    last = await reader.one(_LAST_NUMBER, file_id=file_id)
    current = int(last["last"]) + 1 if last else 1
    if number == current:
        return _current(file, number)
    raise version_not_found(number)


async def _archive_current(session: AsyncSession, file: StoredFile) -> None:
    """The file's current content becomes its next numbered version (the blob reference moves)."""
    last = await session.scalar(_LAST_NUMBER, {"file_id": file.id})
    session.add(
        FileVersion(
            id=uuid.uuid4(),
            file_id=file.id,
            number=int(last or 0) + 1,
            name=file.name,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            blob_id=file.blob_id,
            created_at=file.updated_at,
        )
    )


async def add_version(
    session: AsyncSession,
    storage: Storage,
    stored: service.StoredBytes,
    file_id: uuid.UUID,
    *,
    owner_id: uuid.UUID,
    hold_id: uuid.UUID,
) -> Row:
    """Make checked bytes the file's new current content; the old one becomes a version."""
    discard_unless_committed(session, storage, stored.key)
    file = await _own_file(session, file_id, owner_id)
    await _archive_current(session, file)
    blob_id, key = await service._reference_blob(session, stored)
    if key != stored.key:  # the content was stored already: keep that copy, drop ours
        await storage.delete(stored.key)
    file.blob_id = blob_id
    file.size = stored.size
    file.sha256 = stored.sha256
    file.content_type = stored.content_type
    file.updated_at = utcnow()
    await quota.settle(session, hold_id=hold_id)
    await session.flush()
    return await _file_row(session, file)


async def restore_version(
    session: AsyncSession, file_id: uuid.UUID, number: int, *, owner_id: uuid.UUID, limit: int
) -> Row:
    """Make version `number` current again; the current content is kept as a version, so this
    needs room for the restored version's bytes (413 quota_exceeded otherwise)."""
    file = await _own_file(session, file_id, owner_id)
    version = (
        await session.scalars(
            select(FileVersion).where(FileVersion.file_id == file_id, FileVersion.number == number)
        )
    ).first()
    if version is None:
        raise version_not_found(number)
    await quota.ensure_room(session, owner_id, version.size, limit=limit)
    await _archive_current(session, file)
    await session.execute(update(Blob).where(Blob.id == version.blob_id).values(refcount=Blob.refcount + 1))
    file.blob_id = version.blob_id
    file.size = version.size
    file.sha256 = version.sha256
    file.content_type = version.content_type
    file.updated_at = utcnow()
    await session.flush()
    return await _file_row(session, file)


# --- share links -----------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _share_row(share: Share) -> Row:
    return {
        "id": share.id,
        "file_id": share.file_id,
        "expires_at": share.expires_at,
        "revoked_at": share.revoked_at,
        "has_password": share.password_hash is not None,
        "created_at": share.created_at,
    }


async def create_share(
    session: AsyncSession,
    file_id: uuid.UUID,
    *,
    owner_id: uuid.UUID,
    expires_at: datetime | None,
    password: str | None,
    hasher: argon2.PasswordHasher,
) -> tuple[Row, str]:
    """A new link to the file: its row and its token (shown once; only its hash is kept)."""
    await _own_file(session, file_id, owner_id)
    token = secrets.token_urlsafe(32)
    password_hash = await asyncio.to_thread(hasher.hash, password) if password is not None else None
    share = Share(
        id=uuid.uuid4(),
        file_id=file_id,
        owner_id=owner_id,
        token_hash=_token_hash(token),
        password_hash=password_hash,
        expires_at=expires_at,
        revoked_at=None,
        created_at=utcnow(),
    )
    session.add(share)
    await session.flush()
    return _share_row(share), token


_SHARES = (
    select(
        Share.id,
        Share.file_id,
        Share.expires_at,
        Share.revoked_at,
        (Share.password_hash.is_not(None)).label("has_password"),
        Share.created_at,
    )
    .where(
        Share.file_id == bindparam("file_id", type_=Share.file_id.type),
        Share.owner_id == bindparam("owner_id", type_=Share.owner_id.type),
    )
    .order_by(Share.created_at.desc(), Share.id.desc())
)


async def list_shares(reader: Reader, file_id: uuid.UUID, *, owner_id: uuid.UUID) -> list[Row]:
    await service.file_for(reader, file_id, owner_id=owner_id)
    return [
        {**row, "has_password": bool(row["has_password"])}
        for row in await reader.all(_SHARES, file_id=file_id, owner_id=owner_id)
    ]


async def revoke_share(
    session: AsyncSession, file_id: uuid.UUID, share_id: uuid.UUID, *, owner_id: uuid.UUID
) -> None:
    share = (
        await session.scalars(
            select(Share).where(Share.id == share_id, Share.file_id == file_id, Share.owner_id == owner_id)
        )
    ).first()
    if share is None:
        raise NotFound(N_("Share {id} was not found."), id=str(share_id), code="share_not_found")
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        await session.flush()


_SHARED = (
    select(
        *service.FILE_COLUMNS,
        StoredFile.trashed_at,
        Share.expires_at.label("share_expires_at"),
        Share.revoked_at.label("share_revoked_at"),
        Share.password_hash.label("share_password_hash"),
    )
    .select_from(Share)
    .join(StoredFile, StoredFile.id == Share.file_id)
    .join(Blob, Blob.id == StoredFile.blob_id)
    .where(Share.token_hash == bindparam("token_hash", type_=Share.token_hash.type))
)


async def shared_file(
    reader: Reader, token: str, *, password: str | None, hasher: argon2.PasswordHasher
) -> Row:
    """The file behind a share token: 404 unknown (or tampered with) or in the trash, 410
    revoked or expired, 403 when the password is missing or wrong."""
    row = await reader.one(_SHARED, token_hash=_token_hash(token))
    if row is None or row["trashed_at"] is not None:
        raise share_not_found()
    if row["share_revoked_at"] is not None:
        raise Gone(N_("This share link has been revoked."), code="share_revoked")
    if row["share_expires_at"] is not None and row["share_expires_at"] <= utcnow():
        raise Gone(N_("This share link has expired."), code="share_expired")
    stored_hash = row["share_password_hash"]
    if stored_hash is not None:
        if password is None:
            raise Forbidden(N_("This share link needs its password."), code="share_password_required")
        try:
            await asyncio.to_thread(hasher.verify, stored_hash, password)
        except argon2.exceptions.VerificationError:
            raise Forbidden(N_("The password is wrong."), code="share_password_wrong") from None
        except argon2.exceptions.InvalidHashError:
            raise share_not_found() from None
    return row
