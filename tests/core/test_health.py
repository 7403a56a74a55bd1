from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app


async def test_healthz(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


async def test_readyz_when_everything_answers(client: AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


@pytest.fixture
async def app_without_database(settings: Settings) -> AsyncIterator[FastAPI]:
    # Port 1 on loopback refuses connections at once: a database that is down.
    down = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/none", "redis_url": None}
    )
    application = create_app(down, db=Database(create_engine(down)))
    async with application.router.lifespan_context(application):
        yield application


async def test_readyz_is_503_when_the_database_is_down(app_without_database: FastAPI) -> None:
    async with AsyncClient(transport=ASGITransport(app=app_without_database), base_url="http://t") as http:
        ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("error:")
    assert body["checks"]["cache"] == "ok"
    assert alive.status_code == 200


async def test_jobs_run_inside_the_app_when_configured(settings: Settings, db: Database) -> None:
    app = create_app(settings.model_copy(update={"jobs_run_in_app": True}), db=db)
    async with app.router.lifespan_context(app):
        tasks = {task.get_name() for task in __import__("asyncio").all_tasks()}
        assert {"sixty-worker", "sixty-scheduler"} <= tasks
    tasks_after = {task.get_name() for task in __import__("asyncio").all_tasks() if not task.done()}
    assert "sixty-worker" not in tasks_after
