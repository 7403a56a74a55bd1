"""Per-user quota of the files a user manages at `/api/files` (I4).

What counts: the size of every file of the `files` namespace, in the trash too, and of every
earlier version of them; plus the holds of uploads in progress. Identical content stored once
still counts once per file: the quota is what the user keeps, not what the store spends.

An upload reserves its bytes before the first byte is written (`reserve`): the user's account
row is locked (`SELECT .. FOR UPDATE` on PostgreSQL; on SQLite the write transaction already
holds the database's lock), the usage is summed, and a hold is inserted only if it fits.
Concurrent uploads of one user thus take their turns at the check and the sum can never pass
the limit. When the upload becomes a file, its hold goes in the same transaction (`settle`):
the file counts instead, for at most the bytes that were held. A refused upload's hold is
removed (`release`). A tus or presigned upload's hold goes with its upload row (foreign key
cascade: cancelled, refused or expired); a hold of a crashed request expires
(`release_expired_holds`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.db import Database
from sixty.core.errors import ContentTooLarge
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.core.reader import Reader
from sixty.files.models import FileVersion, QuotaAccount, QuotaHold, StoredFile

NAMESPACE = "files"


class QuotaExceeded(ContentTooLarge):
    code = "quota_exceeded"


def quota_exceeded(*, size: int, available: int, limit: int) -> QuotaExceeded:
    return QuotaExceeded(
        N_("This needs {size} bytes but only {available} of your {limit} bytes are free."),
        size=size,
        available=max(available, 0),
        limit=limit,
    )


_FILES_USED = (
    select(func.coalesce(func.sum(StoredFile.size), 0))
    .where(StoredFile.owner_id == bindparam("owner_id", type_=StoredFile.owner_id.type))
    .where(StoredFile.namespace == NAMESPACE)
)
_VERSIONS_USED = (
    select(func.coalesce(func.sum(FileVersion.size), 0))
    .join(StoredFile, StoredFile.id == FileVersion.file_id)
    .where(StoredFile.owner_id == bindparam("owner_id", type_=StoredFile.owner_id.type))
    .where(StoredFile.namespace == NAMESPACE)
)
_RESERVED = select(func.coalesce(func.sum(QuotaHold.size), 0)).where(
    QuotaHold.owner_id == bindparam("owner_id", type_=QuotaHold.owner_id.type)
)
USAGE = select(
    _FILES_USED.scalar_subquery().label("files"),
    _VERSIONS_USED.scalar_subquery().label("versions"),
    _RESERVED.scalar_subquery().label("reserved"),
)


async def usage(reader: Reader, owner_id: uuid.UUID) -> tuple[int, int]:
    """(bytes used, bytes held by uploads in progress)."""
    row = await reader.one(USAGE, owner_id=owner_id)
    assert row is not None  # noqa: S101 - an aggregate always answers one row
    return int(row["files"]) + int(row["versions"]), int(row["reserved"])


async def lock(session: AsyncSession, owner_id: uuid.UUID) -> None:
    """Take the user's turn: their account row, locked until the transaction ends."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(QuotaAccount).values(owner_id=owner_id).on_conflict_do_nothing())
    if dialect == "postgresql":
        await session.execute(
            select(QuotaAccount.owner_id).where(QuotaAccount.owner_id == owner_id).with_for_update()
        )


async def _counted(session: AsyncSession, owner_id: uuid.UUID) -> int:
    row = (await session.execute(USAGE, {"owner_id": owner_id})).one()
    return int(row.files) + int(row.versions) + int(row.reserved)


async def ensure_room(session: AsyncSession, owner_id: uuid.UUID, size: int, *, limit: int) -> None:
    """Lock the account and check that `size` more bytes fit (QuotaExceeded, 413, otherwise)."""
    await lock(session, owner_id)
    counted = await _counted(session, owner_id)
    if counted + size > limit:
        raise quota_exceeded(size=size, available=limit - counted, limit=limit)


async def reserve(
    session: AsyncSession,
    owner_id: uuid.UUID,
    size: int,
    *,
    limit: int,
    ttl: timedelta,
    upload_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Hold `size` bytes for an upload; the hold's id. QuotaExceeded (413) when they do not fit."""
    await ensure_room(session, owner_id, size, limit=limit)
    return await hold(session, owner_id, size, ttl=ttl, upload_id=upload_id)


async def hold(
    session: AsyncSession, owner_id: uuid.UUID, size: int, *, ttl: timedelta, upload_id: uuid.UUID | None
) -> uuid.UUID:
    """Insert a hold; call `ensure_room` first in the same transaction (`reserve` does both)."""
    row = QuotaHold(
        id=uuid.uuid4(), owner_id=owner_id, size=size, upload_id=upload_id, expires_at=utcnow() + ttl
    )
    session.add(row)
    await session.flush()
    return row.id


async def reserve_now(
    db: Database, owner_id: uuid.UUID, size: int, *, limit: int, ttl: timedelta
) -> uuid.UUID:
    """`reserve` in a transaction of its own, committed at once: for an upload that streams in
    one request, whose own transaction must not hold a lock while the bytes arrive."""
    async with db.session() as session:
        hold_id = await reserve(session, owner_id, size, limit=limit, ttl=ttl)
        await session.commit()
    return hold_id


async def release_now(db: Database, hold_id: uuid.UUID) -> None:
    """Drop a hold at once, in a transaction of its own (the upload failed)."""
    async with db.session() as session:
        await session.execute(delete(QuotaHold).where(QuotaHold.id == hold_id))
        await session.commit()


async def settle(
    session: AsyncSession, *, hold_id: uuid.UUID | None = None, upload_id: uuid.UUID | None = None
) -> None:
    """The upload became a file, in this transaction: its hold goes."""
    if hold_id is not None:
        await session.execute(delete(QuotaHold).where(QuotaHold.id == hold_id))
    if upload_id is not None:
        await session.execute(delete(QuotaHold).where(QuotaHold.upload_id == upload_id))


async def release_expired_holds(db: Database, *, now: datetime | None = None) -> int:
    """Remove the holds of single-request uploads whose request never ended (a crash)."""
    async with db.session() as session:
        result = await session.execute(
            delete(QuotaHold).where(QuotaHold.upload_id.is_(None), QuotaHold.expires_at <= (now or utcnow()))
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
