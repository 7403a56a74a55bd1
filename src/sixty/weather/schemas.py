"""What the weather endpoints answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Units = Literal["metric", "imperial"]

ATTRIBUTION = "Weather data by Open-Meteo.com (CC BY 4.0)"


class LocationRead(BaseModel):
    name: str | None = Field(description="The place's name; null when asked by coordinates.")
    country: str | None = None
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2.")
    region: str | None = Field(default=None, description="First-level administrative area (state, province).")
    latitude: float
    longitude: float
    elevation: float | None = Field(default=None, description="Metres above sea level.")
    timezone: str | None = Field(default=None, description="IANA time zone; local times are in it.")
    population: int | None = None


class UnitLabels(BaseModel):
    temperature: str = Field(description="`°C` or `°F`.")
    wind_speed: str = Field(description="`km/h` or `mph`.")
    precipitation: str = Field(description="`mm` or `inch`.")
    pressure: str = "hPa"
    humidity: str = "%"


class CurrentConditions(BaseModel):
    time: str = Field(description="Local time at the place of the observation (ISO 8601, no offset).")
    temperature: float | None
    apparent_temperature: float | None = Field(description="What it feels like.")
    relative_humidity: float | None
    precipitation: float | None
    cloud_cover: float | None = Field(description="Percent of the sky.")
    pressure: float | None = Field(description="Mean sea-level pressure.")
    wind_speed: float | None
    wind_direction: float | None = Field(description="Degrees, where the wind comes from.")
    wind_gusts: float | None
    weather_code: int | None = Field(description="WMO weather interpretation code.")
    description: str | None = Field(description="The weather code in words, in the negotiated language.")
    is_day: bool | None


class ForecastDay(BaseModel):
    date: str = Field(description="Local date at the place (ISO 8601).")
    weather_code: int | None
    description: str | None
    temperature_max: float | None
    temperature_min: float | None
    precipitation_sum: float | None
    precipitation_probability_max: float | None = Field(description="Percent.")
    wind_speed_max: float | None
    sunrise: str | None = Field(description="Local time (ISO 8601, no offset).")
    sunset: str | None
    uv_index_max: float | None


class _Report(BaseModel):
    location: LocationRead
    units: Units
    unit_labels: UnitLabels
    candidates: list[LocationRead] = Field(
        description="Other places the city name matched (most relevant first): ask again with their "
        "coordinates, or narrow the name with `country`."
    )
    fetched_at: datetime = Field(description="When this data came from the provider (UTC).")
    stale: bool = Field(
        description="True when the provider failed and this is an older copy from the cache "
        "(the response then carries `Warning: 111` and `Age`)."
    )
    attribution: str = ATTRIBUTION


_LOCATION: dict[str, Any] = {
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
_CANDIDATE: dict[str, Any] = {
    "name": "Berlin",
    "country": "United States",
    "country_code": "US",
    "region": "New Hampshire",
    "latitude": 44.46867,
    "longitude": -71.18508,
    "elevation": 311.0,
    "timezone": "America/New_York",
    "population": 9367,
}
_META: dict[str, Any] = {
    "units": "metric",
    "unit_labels": {
        "temperature": "°C",
        "wind_speed": "km/h",
        "precipitation": "mm",
        "pressure": "hPa",
        "humidity": "%",
    },
    "candidates": [_CANDIDATE],
    "fetched_at": "2026-09-15T10:02:11Z",
    "stale": False,
    "attribution": ATTRIBUTION,
}

CURRENT_EXAMPLE: dict[str, Any] = {
    "location": _LOCATION,
    "current": {
        "time": "2026-09-15T12:00",
        "temperature": 18.5,
        "apparent_temperature": 18.1,
        "relative_humidity": 78,
        "precipitation": 0.0,
        "cloud_cover": 100,
        "pressure": 1017.0,
        "wind_speed": 10.8,
        "wind_direction": 90,
        "wind_gusts": 21.6,
        "weather_code": 3,
        "description": "Overcast",
        "is_day": True,
    },
    **_META,
}

FORECAST_EXAMPLE: dict[str, Any] = {
    "location": _LOCATION,
    "days": [
        {
            "date": "2026-09-15",
            "weather_code": 80,
            "description": "Slight rain showers",
            "temperature_max": 19.8,
            "temperature_min": 13.3,
            "precipitation_sum": 1.2,
            "precipitation_probability_max": 53,
            "wind_speed_max": 14.4,
            "sunrise": "2026-09-15T06:41",
            "sunset": "2026-09-15T19:19",
            "uv_index_max": 4.1,
        }
    ],
    **_META,
}


class CurrentWeatherRead(_Report):
    model_config = ConfigDict(json_schema_extra={"examples": [CURRENT_EXAMPLE]})

    current: CurrentConditions


class ForecastRead(_Report):
    model_config = ConfigDict(json_schema_extra={"examples": [FORECAST_EXAMPLE]})

    days: list[ForecastDay] = Field(description="One entry per day, today (local to the place) first.")
