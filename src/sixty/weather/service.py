"""Weather from Open-Meteo: a city is geocoded, then one forecast call gives current conditions and
16 days of daily forecast for the place, cached for both endpoints.

Caching (the app's cache: Redis when configured, else in-process):
- places by (name, country, language) for `weather_geocode_ttl`; a name that matched nothing too;
- forecasts by (latitude, longitude rounded to 2 decimals, about 1 km; units). An entry is fresh
  for `weather_cache_ttl` and kept for `weather_stale_ttl`: when the provider fails, an entry
  past its freshness is answered marked `stale` rather than a 503.
Concurrent misses for the same forecast in one process wait for a single provider call.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from sixty.core.cache import Cache
from sixty.core.config import Settings
from sixty.core.errors import NotFound
from sixty.core.http import HttpClient, UpstreamError
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.weather.codes import describe
from sixty.weather.schemas import (
    CurrentConditions,
    CurrentWeatherRead,
    ForecastDay,
    ForecastRead,
    LocationRead,
    UnitLabels,
    Units,
)

_ModelT = TypeVar("_ModelT", bound=BaseModel)

GEOCODING = "Open-Meteo geocoding"
FORECAST = "Open-Meteo"
FORECAST_DAYS = 16  # Open-Meteo's most; one call serves every `days`
COORDINATE_DECIMALS = 2

# Open-Meteo's unit parameters, and the labels we answer with.
UNIT_PARAMS: dict[str, dict[str, str]] = {
    "metric": {"temperature_unit": "celsius", "wind_speed_unit": "kmh", "precipitation_unit": "mm"},
    "imperial": {"temperature_unit": "fahrenheit", "wind_speed_unit": "mph", "precipitation_unit": "inch"},
}
UNIT_LABELS: dict[str, UnitLabels] = {
    "metric": UnitLabels(temperature="°C", wind_speed="km/h", precipitation="mm"),
    "imperial": UnitLabels(temperature="°F", wind_speed="mph", precipitation="inch"),
}
CURRENT_VARIABLES = (
    "temperature_2m",
    "apparent_temperature",
    "relative_humidity_2m",
    "precipitation",
    "cloud_cover",
    "pressure_msl",
    "wind_speed_10m",
    "wind_direction_10m",
    "wind_gusts_10m",
    "weather_code",
    "is_day",
)
DAILY_VARIABLES = (
    "weather_code",
    "temperature_2m_max",
    "temperature_2m_min",
    "precipitation_sum",
    "precipitation_probability_max",
    "wind_speed_10m_max",
    "sunrise",
    "sunset",
    "uv_index_max",
)


@dataclass(frozen=True)
class City:
    name: str
    country: str | None = None  # ISO 3166-1 alpha-2, upper case


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


Place = City | Point


@dataclass(frozen=True)
class WeatherConfig:
    geocoding_url: str
    forecast_url: str
    cache_ttl: timedelta
    stale_ttl: timedelta
    geocode_ttl: timedelta
    candidates: int

    @classmethod
    def from_settings(cls, settings: Settings) -> WeatherConfig:
        return cls(
            geocoding_url=settings.weather_geocoding_url,
            forecast_url=settings.weather_forecast_url,
            cache_ttl=settings.weather_cache_ttl,
            stale_ttl=max(settings.weather_stale_ttl, settings.weather_cache_ttl),
            geocode_ttl=settings.weather_geocode_ttl,
            candidates=settings.weather_candidates,
        )


# --- what Open-Meteo answers (only the parts we use; anything else is ignored) ----------------


class _Upstream(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Current(_Upstream):
    time: str
    temperature_2m: float | None = None
    apparent_temperature: float | None = None
    relative_humidity_2m: float | None = None
    precipitation: float | None = None
    cloud_cover: float | None = None
    pressure_msl: float | None = None
    wind_speed_10m: float | None = None
    wind_direction_10m: float | None = None
    wind_gusts_10m: float | None = None
    weather_code: int | None = None
    is_day: int | None = None


class _Daily(_Upstream):
    time: list[str]
    weather_code: list[int | None]
    temperature_2m_max: list[float | None]
    temperature_2m_min: list[float | None]
    precipitation_sum: list[float | None]
    precipitation_probability_max: list[float | None]
    wind_speed_10m_max: list[float | None]
    sunrise: list[str | None]
    sunset: list[str | None]
    uv_index_max: list[float | None]

    @model_validator(mode="after")
    def _same_lengths(self) -> _Daily:
        if any(len(getattr(self, name)) != len(self.time) for name in DAILY_VARIABLES):
            raise ValueError("daily arrays differ in length")
        return self


class _Forecast(_Upstream):
    latitude: float
    longitude: float
    elevation: float | None = None
    timezone: str | None = None
    utc_offset_seconds: int = 0
    current: _Current
    daily: _Daily


class _GeoResult(_Upstream):
    name: str
    latitude: float
    longitude: float
    elevation: float | None = None
    country: str | None = None
    country_code: str | None = None
    admin1: str | None = None
    timezone: str | None = None
    population: int | None = None


class _Geocoding(_Upstream):
    results: list[_GeoResult] = []  # absent when nothing matched


@dataclass(frozen=True)
class _Observation:
    """A cached forecast: Open-Meteo's answer, parsed, and when it came."""

    forecast: _Forecast
    fetched_at: datetime
    stale: bool = False


class WeatherService:
    def __init__(
        self,
        *,
        http: HttpClient,
        cache: Cache,
        config: WeatherConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.http = http
        self.cache = cache
        self.config = config
        self.clock = clock
        self._flights: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def current(self, place: Place, *, units: Units, language: str) -> CurrentWeatherRead:
        location, candidates = await self._locate(place, language)
        observation = await self._observe(location, units)
        now = observation.forecast.current
        return CurrentWeatherRead(
            **self._report(location, candidates, observation, units),
            current=CurrentConditions(
                time=now.time,
                temperature=now.temperature_2m,
                apparent_temperature=now.apparent_temperature,
                relative_humidity=now.relative_humidity_2m,
                precipitation=now.precipitation,
                cloud_cover=now.cloud_cover,
                pressure=now.pressure_msl,
                wind_speed=now.wind_speed_10m,
                wind_direction=now.wind_direction_10m,
                wind_gusts=now.wind_gusts_10m,
                weather_code=now.weather_code,
                description=describe(now.weather_code),
                is_day=None if now.is_day is None else bool(now.is_day),
            ),
        )

    async def forecast(self, place: Place, *, units: Units, days: int, language: str) -> ForecastRead:
        location, candidates = await self._locate(place, language)
        observation = await self._observe(location, units)
        daily = observation.forecast.daily
        # A stale copy may start before today: skip the days that are over at the place.
        offset = timedelta(seconds=observation.forecast.utc_offset_seconds)
        today = (self.clock() + offset).date().isoformat()
        first = next((index for index, day in enumerate(daily.time) if day >= today), len(daily.time))
        return ForecastRead(
            **self._report(location, candidates, observation, units),
            days=[
                ForecastDay(
                    date=daily.time[index],
                    weather_code=daily.weather_code[index],
                    description=describe(daily.weather_code[index]),
                    temperature_max=daily.temperature_2m_max[index],
                    temperature_min=daily.temperature_2m_min[index],
                    precipitation_sum=daily.precipitation_sum[index],
                    precipitation_probability_max=daily.precipitation_probability_max[index],
                    wind_speed_max=daily.wind_speed_10m_max[index],
                    sunrise=daily.sunrise[index],
                    sunset=daily.sunset[index],
                    uv_index_max=daily.uv_index_max[index],
                )
                for index in range(first, min(first + days, len(daily.time)))
            ],
        )

    def _report(
        self, location: LocationRead, candidates: list[LocationRead], observation: _Observation, units: Units
    ) -> dict[str, Any]:
        forecast = observation.forecast
        if location.timezone is None or location.elevation is None:
            location = location.model_copy(
                update={
                    "timezone": location.timezone or forecast.timezone,
                    "elevation": location.elevation if location.elevation is not None else forecast.elevation,
                }
            )
        return {
            "location": location,
            "candidates": candidates,
            "units": units,
            "unit_labels": UNIT_LABELS[units],
            "fetched_at": observation.fetched_at,
            "stale": observation.stale,
        }

    # --- places ---------------------------------------------------------------------------------

    async def _locate(self, place: Place, language: str) -> tuple[LocationRead, list[LocationRead]]:
        if isinstance(place, Point):
            return LocationRead(name=None, latitude=place.latitude, longitude=place.longitude), []
        results = await self._geocode(place, language)
        if not results:
            if place.country:
                raise NotFound(
                    N_("No place called {city} was found in {country}."),
                    code="city_not_found",
                    city=place.name,
                    country=place.country,
                )
            raise NotFound(N_("No place called {city} was found."), code="city_not_found", city=place.name)
        chosen, *others = (self._location(result) for result in results)
        return chosen, others[: self.config.candidates]

    @staticmethod
    def _location(result: _GeoResult) -> LocationRead:
        return LocationRead(
            name=result.name,
            country=result.country,
            country_code=result.country_code,
            region=result.admin1,
            latitude=result.latitude,
            longitude=result.longitude,
            elevation=result.elevation,
            timezone=result.timezone,
            population=result.population,
        )

    async def _geocode(self, city: City, language: str) -> list[_GeoResult]:
        identity = f"{city.name.casefold()}\x00{city.country or ''}\x00{language}"
        key = "weather:place:" + hashlib.sha256(identity.encode()).hexdigest()
        if (cached := await self.cache.get(key)) is not None:
            return _Geocoding.model_validate_json(cached).results
        params: dict[str, Any] = {
            "name": city.name,
            "count": self.config.candidates + 1,
            "language": language,
            "format": "json",
        }
        if city.country:
            params["countryCode"] = city.country
        payload = await self.http.get_json(self.config.geocoding_url, params=params, service=GEOCODING)
        found = _parse(_Geocoding, payload, GEOCODING)
        await self.cache.set(key, found.model_dump_json().encode(), self.config.geocode_ttl.total_seconds())
        return found.results

    # --- forecasts ------------------------------------------------------------------------------

    async def _observe(self, location: LocationRead, units: Units) -> _Observation:
        # + 0.0 turns -0.0 into 0.0, so both spellings of the equator share an entry.
        latitude = round(location.latitude, COORDINATE_DECIMALS) + 0.0
        longitude = round(location.longitude, COORDINATE_DECIMALS) + 0.0
        key = f"weather:forecast:{latitude:.2f}:{longitude:.2f}:{units}"
        cached = await self._cached(key)
        if cached is not None and self._fresh(cached):
            return cached
        async with self._single_flight(key):
            cached = await self._cached(key)  # another request may have fetched it meanwhile
            if cached is not None and self._fresh(cached):
                return cached
            try:
                forecast = await self._fetch(latitude, longitude, units)
            except UpstreamError:
                if cached is None:
                    raise
                return _Observation(cached.forecast, cached.fetched_at, stale=True)
            observation = _Observation(forecast, self.clock())
            entry = {"fetched_at": observation.fetched_at.isoformat(), "forecast": forecast.model_dump()}
            await self.cache.set(key, orjson.dumps(entry), self.config.stale_ttl.total_seconds())
            return observation

    async def _fetch(self, latitude: float, longitude: float, units: Units) -> _Forecast:
        params = {
            "latitude": latitude,
            "longitude": longitude,
            "current": ",".join(CURRENT_VARIABLES),
            "daily": ",".join(DAILY_VARIABLES),
            "timezone": "auto",
            "forecast_days": FORECAST_DAYS,
            **UNIT_PARAMS[units],
        }
        payload = await self.http.get_json(self.config.forecast_url, params=params, service=FORECAST)
        return _parse(_Forecast, payload, FORECAST)

    async def _cached(self, key: str) -> _Observation | None:
        raw = await self.cache.get(key)
        if raw is None:
            return None
        entry = orjson.loads(raw)
        fetched_at = datetime.fromisoformat(entry["fetched_at"])
        return _Observation(_Forecast.model_validate(entry["forecast"]), fetched_at)

    def _fresh(self, observation: _Observation) -> bool:
        return self.clock() - observation.fetched_at < self.config.cache_ttl

    @asynccontextmanager
    async def _single_flight(self, key: str) -> AsyncIterator[None]:
        lock = self._flights.get(key)
        if lock is None:
            lock = self._flights[key] = asyncio.Lock()
        async with lock:
            yield


def _parse(model: type[_ModelT], payload: Any, service: str) -> _ModelT:
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise UpstreamError("bad_response", service=service, cause=f"unexpected shape: {error}") from error
