"""I13 previews: their rows, their job, and their lifetime. No HTTP here.

- A file of a previewable type gets a `pending` preview row in the transaction that stores it
  (`start`), and a `files.preview` job that runs only if that transaction commits.
- The job (`make_preview`) reads the file's bytes from storage, renders them on a thread
  (files/previews.py), stores the preview's bytes under a key of its own, and sets the row
  `ready`; or sets it `failed` with a reason (corrupt, encrypted, too many pixels...), never
  raising for content that simply cannot be previewed. Storage errors are retried by the jobs
  machinery; after the last attempt the row is `failed` with reason `error`.
- The row is only changed while it is still `pending`, so a file deleted while its preview is
  being made leaves nothing: the job finds no row to update and deletes the bytes it wrote.
- `forget` (called when a file is deleted) removes the row, and its bytes after commit.
- A preview pending for longer than STALE_AFTER lost its job (the in-process queue does not
  survive a restart): the periodic `files.preview_requeue` job queues it again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.errors import Unprocessable
from sixty.core.i18n import N_
from sixty.core.jobs import JobContext, enqueue
from sixty.core.models import utcnow
from sixty.core.reader import Reader, Row
from sixty.core.storage import Storage, delete_after_commit, new_key, storage_for
from sixty.files.models import Blob, FilePreview, StoredFile
from sixty.files.previews import PreviewFailed, PreviewOptions, kind_of, render

PREVIEW_JOB = "files.preview"
REQUEUE_JOB = "files.preview_requeue"
# A preview still pending after this long has lost its job; `requeue_stale` queues it again.
STALE_AFTER = timedelta(minutes=10)
# Rendering is CPU-bound and blocking: it runs on threads of its own, never on the event loop nor
# on the loop's default pool (which password hashing and the database driver use).
_RENDERERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sixty-previews")
PENDING, READY, FAILED = "pending", "ready", "failed"
KEY_PREFIX = "previews"

# Why a preview failed: the stable code clients see as `reason`, and the text people read.
REASONS = {
    "corrupt": N_("The file's content could not be decoded."),
    "too_many_pixels": N_("The image has more pixels than a preview may decode."),
    "encrypted": N_("The PDF is encrypted."),
    "empty": N_("The PDF has no pages."),
    "too_large": N_("The file is larger than a preview may read."),
    "error": N_("The preview could not be made."),
}


class PreviewUnsupported(Unprocessable):
    code = "preview_unsupported"


class PreviewFailedProblem(Unprocessable):
    code = "preview_failed"


def unsupported(content_type: str) -> PreviewUnsupported:
    return PreviewUnsupported(N_("Files of type {content_type} have no preview."), content_type=content_type)


def failed(reason: str) -> PreviewFailedProblem:
    reason = reason if reason in REASONS else "error"
    return PreviewFailedProblem(REASONS[reason], extensions={"reason": reason})


def options_from(settings: Settings) -> PreviewOptions:
    return PreviewOptions(
        size=settings.files_preview_size,
        image_format=settings.files_preview_format,
        quality=settings.files_preview_quality,
        max_pixels=settings.files_preview_max_pixels,
        text_lines=settings.files_preview_text_lines,
        text_bytes=settings.files_preview_text_bytes,
    )


def previewable(content_type: str) -> bool:
    return kind_of(content_type) is not None


# --- starting --------------------------------------------------------------------------------------


async def start(session: AsyncSession, *, file_id: uuid.UUID, content_type: str) -> bool:
    """Track a `pending` preview for a new file of a previewable type and queue its job (sent
    after commit). True when a preview was started; False for types without previews, or when
    one is tracked already (two concurrent first requests start it once)."""
    if not previewable(content_type):
        return False
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    statement = (
        insert(FilePreview)
        .values(file_id=file_id, status=PENDING, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[FilePreview.file_id])
        .returning(FilePreview.file_id)
    )
    if (await session.execute(statement)).first() is None:
        return False
    enqueue(session, PREVIEW_JOB, file_id=str(file_id))
    return True


# --- reading ---------------------------------------------------------------------------------------

_READ = select(
    FilePreview.file_id,
    FilePreview.status,
    FilePreview.reason,
    FilePreview.key,
    FilePreview.content_type,
    FilePreview.size,
    FilePreview.sha256,
    FilePreview.width,
    FilePreview.height,
    FilePreview.updated_at,
).where(FilePreview.file_id == bindparam("file_id", type_=FilePreview.file_id.type))


async def preview_of(reader: Reader, file_id: uuid.UUID) -> Row | None:
    """The preview row of a file the caller may see (check that first: `service.file_for`)."""
    return await reader.one(_READ, file_id=file_id)


def public_fields(preview: Row) -> dict[str, Any]:
    return {
        "file_id": preview["file_id"],
        "status": preview["status"],
        "reason": preview["reason"],
        "content_type": preview["content_type"],
        "width": preview["width"],
        "height": preview["height"],
    }


# --- making ----------------------------------------------------------------------------------------


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _finish(db: Database, file_id: uuid.UUID, **values: Any) -> bool:
    """Settle a pending preview; False when it is no longer pending (or its file is gone)."""
    async with db.session() as session:
        result = await session.execute(
            update(FilePreview)
            .where(FilePreview.file_id == file_id, FilePreview.status == PENDING)
            .values(updated_at=utcnow(), **values)
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def make_preview(
    db: Database, storage: Storage, settings: Settings, file_id: uuid.UUID, *, last_attempt: bool = True
) -> str | None:
    """Render and store the preview of `file_id` if it is pending; the status it ends in (None
    when there was nothing to do). Content that cannot be previewed ends `failed`; anything
    else (storage down) raises, to be retried, and ends `failed` on the last attempt."""
    async with db.session(write=False) as session:
        source = (
            await session.execute(
                select(FilePreview.status, StoredFile.content_type, StoredFile.size, Blob.key)
                .join(StoredFile, StoredFile.id == FilePreview.file_id)
                .join(Blob, Blob.id == StoredFile.blob_id)
                .where(FilePreview.file_id == file_id)
            )
        ).first()
    if source is None or source.status != PENDING:
        return None
    options = options_from(settings)
    try:
        if source.size > settings.files_preview_max_bytes:
            raise PreviewFailed("too_large")
        text = kind_of(source.content_type) == "text"
        data = await storage.read(source.key, length=options.text_bytes if text else None)
        rendered = await asyncio.get_running_loop().run_in_executor(
            _RENDERERS, partial(render, data, source.content_type, options)
        )
    except PreviewFailed as failure:
        await _finish(db, file_id, status=FAILED, reason=failure.reason)
        return FAILED
    except Exception:
        if last_attempt:
            await _finish(db, file_id, status=FAILED, reason="error")
        raise
    key = new_key(KEY_PREFIX)
    written = await storage.put(key, _one_chunk(rendered.data))
    try:
        settled = await _finish(
            db,
            file_id,
            status=READY,
            key=key,
            content_type=rendered.content_type,
            size=written.size,
            sha256=written.sha256,
            width=rendered.width,
            height=rendered.height,
        )
    except BaseException:
        await storage.delete(key)
        raise
    if not settled:  # deleted (or settled by another run) meanwhile: keep nothing
        await storage.delete(key)
        return None
    return READY


# --- deleting --------------------------------------------------------------------------------------


async def forget(session: AsyncSession, file_id: uuid.UUID) -> None:
    """Remove a file's preview with the file: the row now, its bytes after commit."""
    key = await session.scalar(
        delete(FilePreview).where(FilePreview.file_id == file_id).returning(FilePreview.key)
    )
    if key:
        delete_after_commit(session, key)


# --- pending for too long ---------------------------------------------------------------------------


async def requeue_stale(db: Database, *, older_than: timedelta = STALE_AFTER, batch: int = 100) -> int:
    """Queue again the previews pending for longer than `older_than` (their job was lost: the
    in-process queue does not survive a restart). A second run of a job that was only slow is
    harmless: whichever settles the row first wins, the other keeps nothing."""
    cutoff = utcnow() - older_than
    async with db.session() as session:
        stale = list(
            (
                await session.scalars(
                    select(FilePreview.file_id)
                    .where(FilePreview.status == PENDING, FilePreview.updated_at < cutoff)
                    .order_by(FilePreview.updated_at)
                    .limit(batch)
                )
            ).all()
        )
        if stale:
            await session.execute(
                update(FilePreview)
                .where(FilePreview.file_id.in_(stale), FilePreview.status == PENDING)
                .values(updated_at=utcnow())
            )
            for file_id in stale:
                enqueue(session, PREVIEW_JOB, file_id=str(file_id))
        await session.commit()
    return len(stale)


async def requeue_job(ctx: JobContext) -> None:
    """`files.preview_requeue`, periodic: see `requeue_stale`."""
    await requeue_stale(ctx.db)


# --- the job ---------------------------------------------------------------------------------------


async def preview_job(ctx: JobContext, file_id: str) -> None:
    """`files.preview`: make one file's preview (queued by `start` once its file is committed)."""
    await make_preview(
        ctx.db,
        storage_for(ctx.settings),
        ctx.settings,
        uuid.UUID(file_id),
        last_attempt=ctx.attempt >= ctx.settings.jobs_max_attempts,
    )
