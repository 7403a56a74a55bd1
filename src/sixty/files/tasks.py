"""The files module's jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from sixty.core.config import Settings
from sixty.core.jobs import JobContext, registry
from sixty.core.storage import storage_for
from sixty.files import preview_service, uploads

logger = logging.getLogger("sixty.files")

EXPIRE_UPLOADS_JOB = "files.expire_uploads"


async def expire_uploads(ctx: JobContext) -> None:
    """Delete unfinished uploads past their expiry: their bytes, then their rows."""
    removed = await uploads.expire_uploads(ctx.db, storage_for(ctx.settings))
    if removed:
        logger.info("expired uploads removed", extra={"removed": removed})


def register(settings: Settings) -> None:
    registry.task(EXPIRE_UPLOADS_JOB, every=timedelta(minutes=10))(expire_uploads)
    registry.task(preview_service.PREVIEW_JOB)(preview_service.preview_job)
    registry.task(preview_service.REQUEUE_JOB, every=timedelta(minutes=5))(preview_service.requeue_job)
