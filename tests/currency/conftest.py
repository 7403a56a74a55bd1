"""Fixtures: a local ECB, the app pointed at it, and a way to run the refresh job."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.jobs import Job, MemoryBackend, Worker
from sixty.currency.models import CurrencyRateDay
from tests.currency.fake_ecb import FakeECB
from tests.factories.fakes import app_client, local_server


@pytest.fixture(scope="module")
def ecb_server() -> Iterator[HTTPServer]:
    with local_server() as server:
        yield server


@pytest.fixture
def ecb(ecb_server: HTTPServer) -> Iterator[FakeECB]:
    ecb_server.clear()
    fake = FakeECB(ecb_server)
    fake.install()
    yield fake
    ecb_server.clear()


@pytest.fixture
def currency_overrides() -> dict[str, Any]:
    """Settings a test changes (parametrize it by name)."""
    return {}


@pytest.fixture
def currency_settings(settings: Settings, ecb: FakeECB, currency_overrides: dict[str, Any]) -> Settings:
    return settings.model_copy(
        update={
            "modules": ["currency"],
            "currency_ecb_url": ecb.base_url,
            "currency_cache_ttl": timedelta(0),  # tests about the cache set it
            "http_max_attempts": 2,
            "http_backoff_base": 0.01,
            "http_backoff_max": 0.02,
            "http_breaker_threshold": 0,
            **currency_overrides,
        }
    )


@pytest.fixture
async def currency(currency_settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    async with app_client(currency_settings, db, cached="currency:*") as client:
        yield client


class RefreshRunner:
    """Runs the `currency.refresh` job the way the worker does, and shows what it left."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.backend = MemoryBackend()
        self.worker = Worker(self.backend, db=db, settings=settings)

    async def run(self) -> bool:
        return await self.worker.run_one(Job(name="currency.refresh", payload={}))

    async def sources(self) -> dict[Any, str]:
        async with self.db.session() as session:
            rows = await session.execute(select(CurrencyRateDay.day, CurrencyRateDay.source))
            return {row.day: row.source for row in rows}

    async def stored_days(self) -> list[Any]:
        async with self.db.session() as session:
            return list(await session.scalars(select(CurrencyRateDay.day).order_by(CurrencyRateDay.day)))


@pytest.fixture
async def refresh(currency: AsyncClient, currency_settings: Settings, db: Database) -> RefreshRunner:
    """The app is built first: building it registers the job, as `sixty worker` does."""
    return RefreshRunner(db, currency_settings)
