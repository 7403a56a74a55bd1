"""The blog's jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from sixty.blog import service
from sixty.core.config import Settings
from sixty.core.jobs import JobContext, registry

logger = logging.getLogger("sixty.blog")

COMPACT_COUNTS_JOB = "blog.compact_counts"


async def compact_counts(ctx: JobContext) -> None:
    """Fold the article counts' ledger (one row per write) into a row per key, so a count stays
    a sum of a few rows however much is written."""
    async with ctx.db.session() as session:
        folded = await service.compact_counts(session)
        await session.commit()
    if folded:
        logger.info("article counts compacted", extra={"folded": folded})


def register(settings: Settings) -> None:
    registry.task(COMPACT_COUNTS_JOB, every=timedelta(minutes=1))(compact_counts)
