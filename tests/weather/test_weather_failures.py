"""When Open-Meteo fails: a stale copy from the cache, marked as such, or a problem document."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from tests.weather.fake_openmeteo import FakeOpenMeteo

SHORT_FRESHNESS = {"weather_cache_ttl": timedelta(milliseconds=200)}


@pytest.mark.parametrize("weather_overrides", [SHORT_FRESHNESS])
async def test_a_failing_provider_gets_the_stale_copy(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    fresh = await weather.get("/api/weather/current", params={"city": "Berlin"})
    await asyncio.sleep(0.3)  # past the 200 ms of freshness
    openmeteo.forecast_status = 503

    stale = await weather.get("/api/weather/current", params={"city": "Berlin"})
    stale_forecast = await weather.get("/api/weather/forecast", params={"city": "Berlin", "days": 2})

    assert stale.status_code == 200
    assert stale.json()["stale"] is True
    assert stale.json()["fetched_at"] == fresh.json()["fetched_at"]
    assert stale.json()["current"] == fresh.json()["current"]
    assert stale.headers["Warning"] == '111 - "Revalidation Failed"'
    assert int(stale.headers["Age"]) >= 0
    assert stale_forecast.json()["stale"] is True
    assert len(stale_forecast.json()["days"]) == 2
    # Each stale answer tried the provider first (2 attempts each), after the first fetch.
    assert len(openmeteo.forecasts) == 1 + 2 + 2


@pytest.mark.parametrize("weather_overrides", [SHORT_FRESHNESS])
async def test_once_the_provider_is_back_answers_are_fresh_again(
    weather: AsyncClient, openmeteo: FakeOpenMeteo
) -> None:
    await weather.get("/api/weather/current", params={"city": "Berlin"})
    await asyncio.sleep(0.3)
    openmeteo.forecast_status = 503
    stale = await weather.get("/api/weather/current", params={"city": "Berlin"})
    openmeteo.forecast_status = 200

    fresh = await weather.get("/api/weather/current", params={"city": "Berlin"})

    assert stale.json()["stale"] is True
    assert fresh.json()["stale"] is False
    assert fresh.json()["fetched_at"] > stale.json()["fetched_at"]
    assert "Warning" not in fresh.headers


@pytest.mark.parametrize(
    ("weather_overrides", "breakage", "status", "code"),
    [
        ({}, {"forecast_status": 503}, 503, "upstream_unavailable"),
        ({}, {"forecast_status": 500}, 502, "upstream_bad_response"),
        ({}, {"forecast_body": "<html>not json</html>"}, 502, "upstream_bad_response"),
        ({}, {"forecast_body": '{"latitude": 52.5, "longitude": 13.4}'}, 502, "upstream_bad_response"),
        (
            {},
            {
                "forecast_body": '{"latitude": 1, "longitude": 1, "current": {"time": "2026-01-01T00:00"}, '
                '"daily": {"time": ["2026-01-01"], "weather_code": [], "temperature_2m_max": [], '
                '"temperature_2m_min": [], "precipitation_sum": [], "precipitation_probability_max": [], '
                '"wind_speed_10m_max": [], "sunrise": [], "sunset": [], "uv_index_max": []}}'
            },
            502,
            "upstream_bad_response",
        ),
        (
            {"http_read_timeout": 0.2, "http_total_timeout": 0.5},
            {"forecast_delay": 0.7},
            503,
            "upstream_timeout",
        ),
    ],
)
async def test_without_a_cached_copy_failures_are_problems(
    weather: AsyncClient, openmeteo: FakeOpenMeteo, breakage: dict[str, Any], status: int, code: str
) -> None:
    for name, value in breakage.items():
        setattr(openmeteo, name, value)

    for path in ("/api/weather/current", "/api/weather/forecast"):
        response = await weather.get(path, params={"latitude": 52.52, "longitude": 13.41})

        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert "Open-Meteo" in response.json()["detail"]


async def test_a_failing_geocoder_is_503(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    openmeteo.geocoding_status = 503

    response = await weather.get("/api/weather/current", params={"city": "Berlin"})

    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"
    assert "Open-Meteo geocoding" in response.json()["detail"]
    assert openmeteo.forecasts == []


async def test_the_suites_app_never_leaves_loopback(client: AsyncClient) -> None:
    # The suite's own app points the weather at a loopback port nothing listens on.
    response = await client.get("/api/weather/current", params={"latitude": 1, "longitude": 2})

    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"
