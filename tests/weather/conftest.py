"""Fixtures: a local Open-Meteo, and the app pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from pytest_httpserver import HTTPServer

from sixty.core.config import Settings
from sixty.core.db import Database
from tests.factories.fakes import app_client, local_server
from tests.weather.fake_openmeteo import FakeOpenMeteo


@pytest.fixture(scope="module")
def provider_server() -> Iterator[HTTPServer]:
    with local_server() as server:
        yield server


@pytest.fixture
def openmeteo(provider_server: HTTPServer) -> Iterator[FakeOpenMeteo]:
    provider_server.clear()
    fake = FakeOpenMeteo(provider_server)
    fake.install()
    yield fake
    provider_server.clear()


@pytest.fixture
def weather_overrides() -> dict[str, Any]:
    """Settings a test changes (parametrize it by name)."""
    return {}


@pytest.fixture
async def weather(
    settings: Settings, db: Database, openmeteo: FakeOpenMeteo, weather_overrides: dict[str, Any]
) -> AsyncIterator[AsyncClient]:
    own = settings.model_copy(
        update={
            "modules": ["weather"],
            "weather_geocoding_url": openmeteo.geocoding_url,
            "weather_forecast_url": openmeteo.forecast_url,
            "http_max_attempts": 2,
            "http_backoff_base": 0.01,
            "http_backoff_max": 0.02,
            "http_read_timeout": 1.0,
            "http_breaker_threshold": 0,
            **weather_overrides,
        }
    )
    async with app_client(own, db, cached="weather:*") as client:
        yield client
