"""An app with its rate limits on (Redis when the run has one), for tests about limits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from httpx import ASGITransport, AsyncClient

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app


@asynccontextmanager
async def limited_client(
    settings: Settings, db: Database, policies: dict[str, str]
) -> AsyncIterator[AsyncClient]:
    """A client of an app built from `settings` with limits enforced, `policies` overriding the
    defaults by name, and Redis keys of its own."""
    configured = settings.model_copy(
        update={
            "ratelimit_enabled": True,
            "ratelimit_prefix": f"sixty-test:{uuid.uuid4().hex}:",
            "ratelimit_policies": policies,
        }
    )
    app = create_app(configured, db=db)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client
