"""B6 weather against a local Open-Meteo: places, units, forecasts, caching."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient

from tests.weather.fake_openmeteo import FakeOpenMeteo


async def test_current_weather_by_city(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    response = await weather.get("/api/weather/current", params={"city": "Berlin"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["location"] == {
        "name": "Berlin",
        "country": "Germany",
        "country_code": "DE",
        "region": "Land Berlin",
        "latitude": 52.52437,
        "longitude": 13.41053,
        "elevation": 74.0,
        "timezone": "Europe/Berlin",
        "population": 3426354,
    }
    current = body["current"]
    assert current["temperature"] == 18.5
    assert current["wind_speed"] == 10.8
    assert current["weather_code"] == 3
    assert current["description"] == "Overcast"
    assert current["is_day"] is True
    assert body["units"] == "metric"
    assert body["unit_labels"]["temperature"] == "°C"
    assert body["stale"] is False
    assert "Open-Meteo" in body["attribution"]
    assert "Warning" not in response.headers
    assert int(response.headers["Age"]) >= 0
    # The two other Berlins are offered, most populous first.
    assert [(c["country_code"], c["region"]) for c in body["candidates"]] == [
        ("US", "New Hampshire"),
        ("US", "New Jersey"),
    ]
    # What went to Open-Meteo: the search, then the forecast for the rounded coordinates.
    assert openmeteo.searches == [{"name": "Berlin", "count": "6", "language": "en", "format": "json"}]
    [forecast] = openmeteo.forecasts
    assert (forecast["latitude"], forecast["longitude"]) == ("52.52", "13.41")
    assert forecast["timezone"] == "auto"
    assert forecast["forecast_days"] == "16"
    assert "temperature_2m" in forecast["current"].split(",")
    assert forecast["temperature_unit"] == "celsius"


async def test_imperial_units_are_asked_of_the_provider(
    weather: AsyncClient, openmeteo: FakeOpenMeteo
) -> None:
    response = await weather.get("/api/weather/current", params={"city": "Berlin", "units": "imperial"})

    body = response.json()
    assert body["current"]["temperature"] == 65.3
    assert body["current"]["wind_speed"] == 6.7
    assert body["unit_labels"] == {
        "temperature": "°F",
        "wind_speed": "mph",
        "precipitation": "inch",
        "pressure": "hPa",
        "humidity": "%",
    }
    [forecast] = openmeteo.forecasts
    assert (forecast["temperature_unit"], forecast["wind_speed_unit"], forecast["precipitation_unit"]) == (
        "fahrenheit",
        "mph",
        "inch",
    )


async def test_a_country_picks_among_cities_of_one_name(
    weather: AsyncClient, openmeteo: FakeOpenMeteo
) -> None:
    response = await weather.get("/api/weather/current", params={"city": "berlin", "country": "us"})

    body = response.json()
    assert body["location"]["region"] == "New Hampshire"
    assert [c["region"] for c in body["candidates"]] == ["New Jersey"]
    assert openmeteo.searches[0]["countryCode"] == "US"


async def test_coordinates_skip_the_geocoding(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    response = await weather.get("/api/weather/current", params={"latitude": 52.52437, "longitude": 13.41053})

    body = response.json()
    assert body["location"]["name"] is None
    assert (body["location"]["latitude"], body["location"]["longitude"]) == (52.52437, 13.41053)
    assert body["location"]["timezone"] == "Europe/Berlin"  # from the forecast
    assert body["candidates"] == []
    assert openmeteo.searches == []


async def test_forecast_days_start_today(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    three = await weather.get("/api/weather/forecast", params={"city": "Berlin", "days": 3})
    default = await weather.get("/api/weather/forecast", params={"city": "Berlin"})
    most = await weather.get("/api/weather/forecast", params={"city": "Berlin", "days": 16})

    days = three.json()["days"]
    today = (datetime.now(UTC) + timedelta(hours=1)).date()  # Berlin's offset in the fake
    assert [day["date"] for day in days] == [(today + timedelta(days=n)).isoformat() for n in range(3)]
    assert days[0] == {
        "date": today.isoformat(),
        "weather_code": 80,
        "description": "Slight rain showers",
        "temperature_max": 19.8,
        "temperature_min": 13.3,
        "precipitation_sum": 1.2,
        "precipitation_probability_max": 53,
        "wind_speed_max": 14.4,
        "sunrise": f"{today.isoformat()}T06:41",
        "sunset": f"{today.isoformat()}T19:19",
        "uv_index_max": 4.1,
    }
    assert len(default.json()["days"]) == 7
    assert len(most.json()["days"]) == 16
    assert most.json()["days"][9]["description"] == "Thunderstorm with heavy hail"
    # One provider call served all three.
    assert len(openmeteo.forecasts) == 1


async def test_answers_come_from_the_cache(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    first = await weather.get("/api/weather/current", params={"city": "Berlin"})
    again = await weather.get("/api/weather/current", params={"city": "BERLIN"})
    nearby = await weather.get("/api/weather/current", params={"latitude": 52.521, "longitude": 13.409})
    other_units = await weather.get("/api/weather/current", params={"city": "Berlin", "units": "imperial"})

    assert first.json()["fetched_at"] == again.json()["fetched_at"] == nearby.json()["fetched_at"]
    assert len(openmeteo.searches) == 1  # names are matched without regard to case
    # Coordinates rounded to 2 decimals share an entry; other units are another entry.
    assert len(openmeteo.forecasts) == 2
    assert other_units.json()["units"] == "imperial"


async def test_concurrent_misses_make_one_provider_call(
    weather: AsyncClient, openmeteo: FakeOpenMeteo
) -> None:
    openmeteo.forecast_delay = 0.3
    params = {"latitude": 48.14, "longitude": 11.58}

    responses = await asyncio.gather(*(weather.get("/api/weather/current", params=params) for _ in range(10)))

    assert [response.status_code for response in responses] == [200] * 10
    assert len({response.json()["fetched_at"] for response in responses}) == 1
    assert len(openmeteo.forecasts) == 1


async def test_place_names_follow_accept_language(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    response = await weather.get(
        "/api/weather/current", params={"city": "München"}, headers={"Accept-Language": "de-DE,de;q=0.9"}
    )

    assert response.json()["location"]["name"] == "München"
    assert openmeteo.searches[0]["language"] == "de"


async def test_an_unknown_city_is_404_and_remembered(weather: AsyncClient, openmeteo: FakeOpenMeteo) -> None:
    response = await weather.get("/api/weather/current", params={"city": "Atlantis"})
    again = await weather.get("/api/weather/forecast", params={"city": "atlantis"})
    in_country = await weather.get("/api/weather/current", params={"city": "Munich", "country": "FR"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "city_not_found"
    assert response.json()["detail"] == "No place called Atlantis was found."
    assert again.status_code == 404
    assert in_country.json()["detail"] == "No place called Munich was found in FR."
    assert len(openmeteo.searches) == 2  # "atlantis" was answered from the cache
    assert openmeteo.forecasts == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "city"),
        ({"city": "Berlin", "latitude": 52.5, "longitude": 13.4}, "city"),
        ({"city": "Berlin", "latitude": 52.5}, "city"),
        ({"latitude": 52.5}, "longitude"),
        ({"longitude": 13.4}, "latitude"),
        ({"latitude": 90.5, "longitude": 13.4}, "latitude"),
        ({"latitude": -91, "longitude": 13.4}, "latitude"),
        ({"latitude": 52.5, "longitude": 180.01}, "longitude"),
        ({"latitude": "nan", "longitude": 13.4}, "latitude"),
        ({"latitude": 52.5, "longitude": "-inf"}, "longitude"),
        ({"latitude": "north", "longitude": 13.4}, "latitude"),
        ({"city": "x" * 101}, "city"),
        ({"city": "B"}, "city"),
        ({"city": "   "}, "city"),
        ({"city": " B\u00a0"}, "city"),
        ({"city": "Ber\u0000lin"}, "city"),
        ({"country": "DE"}, "country"),
        ({"city": "Berlin", "country": "DEU"}, "country"),
        ({"city": "Berlin", "country": "D1"}, "country"),
        ({"city": "Berlin", "units": "kelvin"}, "units"),
    ],
)
async def test_bad_places_are_422_and_reach_no_provider(
    weather: AsyncClient, openmeteo: FakeOpenMeteo, params: dict[str, str | float], field: str
) -> None:
    for path in ("/api/weather/current", "/api/weather/forecast"):
        response = await weather.get(path, params=params)

        assert response.status_code == 422, (path, params, response.text)
        problem = response.json()
        assert problem["code"] == "validation_failed"
        assert [error["field"] for error in problem["errors"]] == [field]
        assert problem["errors"][0]["message"]
    assert openmeteo.searches == openmeteo.forecasts == []


@pytest.mark.parametrize("days", ["0", "17", "-1", "7.5", "many"])
async def test_days_out_of_range_are_422(weather: AsyncClient, openmeteo: FakeOpenMeteo, days: str) -> None:
    response = await weather.get("/api/weather/forecast", params={"city": "Berlin", "days": days})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["days"]
    assert openmeteo.searches == []


async def test_messages_name_the_problem(weather: AsyncClient) -> None:
    both = await weather.get("/api/weather/current", params={"city": "Berlin", "latitude": 1, "longitude": 1})
    neither = await weather.get("/api/weather/current")

    assert both.json()["errors"][0]["message"] == "Give a city or coordinates, not both."
    assert neither.json()["errors"][0]["message"] == "Give a city, or a latitude and a longitude."


def test_weather_codes_in_words() -> None:
    from sixty.weather.codes import describe

    assert describe(0) == "Clear sky"
    assert describe(42) == "Unknown weather (code 42)"
    assert describe(None) is None
