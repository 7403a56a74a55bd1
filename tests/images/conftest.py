"""The compressor's tests run on the suite's settings with small limits (fast to prove)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app

MAX_UPLOAD = 512 * 1024
MAX_PIXELS = 4_000_000
MAX_DIMENSION = 2500


@pytest.fixture(scope="session")
def images_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "images_max_upload_bytes": MAX_UPLOAD,
            "images_max_pixels": MAX_PIXELS,
            "images_max_dimension": MAX_DIMENSION,
            "images_max_concurrent": 2,
        }
    )


@pytest.fixture
async def app(images_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(images_settings, db=db)
    async with application.router.lifespan_context(application):
        yield application
