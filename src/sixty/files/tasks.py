"""The files module's jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from sixty.core.config import Settings
from sixty.core.jobs import JobContext, registry
from sixty.core.models import utcnow
from sixty.core.storage import storage_for
from sixty.files import management, preview_service, quota, uploads

logger = logging.getLogger("sixty.files")

EXPIRE_UPLOADS_JOB = "files.expire_uploads"
PURGE_TRASH_JOB = "files.purge_trash"
RELEASE_HOLDS_JOB = "files.release_holds"


async def expire_uploads(ctx: JobContext) -> None:
    """Delete unfinished uploads past their expiry: their bytes, then their rows."""
    removed = await uploads.expire_uploads(ctx.db, storage_for(ctx.settings))
    if removed:
        logger.info("expired uploads removed", extra={"removed": removed})


async def purge_trash(ctx: JobContext) -> None:
    """Purge files that have been in the trash longer than the retention (I4)."""
    purged = await management.purge_expired(ctx.db, before=utcnow() - ctx.settings.files_trash_retention)
    if purged:
        logger.info("trash purged", extra={"purged": purged})


async def release_holds(ctx: JobContext) -> None:
    """Release quota holds of uploads whose request never ended (a crashed worker)."""
    released = await quota.release_expired_holds(ctx.db)
    if released:
        logger.info("quota holds released", extra={"released": released})


def register(settings: Settings) -> None:
    registry.task(EXPIRE_UPLOADS_JOB, every=timedelta(minutes=10))(expire_uploads)
    registry.task(preview_service.PREVIEW_JOB)(preview_service.preview_job)
    registry.task(preview_service.REQUEUE_JOB, every=timedelta(minutes=5))(preview_service.requeue_job)
    registry.task(PURGE_TRASH_JOB, every=timedelta(hours=1))(purge_trash)
    registry.task(RELEASE_HOLDS_JOB, every=timedelta(minutes=30))(release_holds)
