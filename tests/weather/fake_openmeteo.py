"""A local Open-Meteo: the geocoding search and the forecast API, speaking their JSON.

Shapes follow Open-Meteo's documentation and recorded answers: geocoding results carry `id`,
`name`, `latitude`, `longitude`, `elevation`, `feature_code`, `country_code`, `admin1`, `timezone`,
`population`, `country`, and the `results` key is absent when nothing matches; the forecast
answers `latitude`, `longitude`, `generationtime_ms`, `utc_offset_seconds`, `timezone`,
`timezone_abbreviation`, `elevation`, `current_units`/`current` (with `time` and `interval`) and
`daily_units`/`daily` with one array per requested variable; a bad parameter is a 400
`{"reason": ..., "error": true}`. Units follow `temperature_unit`, `wind_speed_unit` (whose mph
label is Open-Meteo's own `mp/h`) and `precipitation_unit`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

GAZETTEER: list[dict[str, Any]] = [
    {
        "id": 2950159,
        "name": "Berlin",
        "latitude": 52.52437,
        "longitude": 13.41053,
        "elevation": 74.0,
        "feature_code": "PPLC",
        "country_code": "DE",
        "admin1_id": 2950157,
        "timezone": "Europe/Berlin",
        "population": 3426354,
        "country_id": 2921044,
        "country": "Germany",
        "admin1": "Land Berlin",
        "names": {"de": "Berlin", "fr": "Berlin"},
    },
    {
        "id": 5083330,
        "name": "Berlin",
        "latitude": 44.46867,
        "longitude": -71.18508,
        "elevation": 311.0,
        "feature_code": "PPL",
        "country_code": "US",
        "admin1_id": 5090174,
        "timezone": "America/New_York",
        "population": 9367,
        "country_id": 6252001,
        "country": "United States",
        "admin1": "New Hampshire",
    },
    {
        "id": 4500771,
        "name": "Berlin",
        "latitude": 39.79123,
        "longitude": -74.92905,
        "elevation": 50.0,
        "feature_code": "PPL",
        "country_code": "US",
        "timezone": "America/New_York",
        "population": 7588,
        "country_id": 6252001,
        "country": "United States",
        "admin1": "New Jersey",
    },
    {
        "id": 2867714,
        "name": "Munich",
        "latitude": 48.13743,
        "longitude": 11.57549,
        "elevation": 524.0,
        "feature_code": "PPLA",
        "country_code": "DE",
        "timezone": "Europe/Berlin",
        "population": 1260391,
        "country_id": 2921044,
        "country": "Germany",
        "admin1": "Bavaria",
        "names": {"de": "München", "fr": "Munich"},
    },
    {
        "id": 3448439,
        "name": "São Paulo",
        "latitude": -23.5475,
        "longitude": -46.63611,
        "elevation": 769.0,
        "feature_code": "PPLA",
        "country_code": "BR",
        "timezone": "America/Sao_Paulo",
        "population": 10021295,
        "country_id": 3469034,
        "country": "Brazil",
        "admin1": "São Paulo",
    },
]


def _error(reason: str) -> Response:
    return Response(
        json.dumps({"reason": reason, "error": True}), status=400, content_type="application/json"
    )


@dataclass
class FakeOpenMeteo:
    """Both Open-Meteo APIs on one local server, with switches to make them misbehave."""

    server: HTTPServer
    forecast_status: int = 200  # 503 makes the forecast API "down"
    forecast_body: str | None = None  # an answer to send instead of a forecast (broken JSON, say)
    forecast_delay: float = 0.0
    geocoding_status: int = 200
    searches: list[dict[str, str]] = field(default_factory=list)
    forecasts: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        self.server.expect_request("/v1/search").respond_with_handler(self.search)
        self.server.expect_request("/v1/forecast").respond_with_handler(self.forecast)

    @property
    def geocoding_url(self) -> str:
        return self.server.url_for("/v1/search")

    @property
    def forecast_url(self) -> str:
        return self.server.url_for("/v1/forecast")

    # --- geocoding ----------------------------------------------------------------------------

    def search(self, request: Request) -> Response:
        args = request.args
        with self.lock:
            self.searches.append(dict(args))
        if self.geocoding_status != 200:
            return Response("unavailable", status=self.geocoding_status)
        name = args.get("name", "")
        count = int(args.get("count", "10"))
        if not 1 <= count <= 100:
            return _error("Parameter count must be between 1 and 100.")
        language = args.get("language", "en")
        country = args.get("countryCode")
        wanted = name.strip().casefold()
        matches = []
        if len(wanted) >= 2:
            for place in GAZETTEER:
                names = {place["name"], *place.get("names", {}).values()}
                if any(candidate.casefold().startswith(wanted) for candidate in names) and (
                    country is None or place["country_code"] == country.upper()
                ):
                    result = {key: value for key, value in place.items() if key != "names"}
                    result["name"] = place.get("names", {}).get(language, place["name"])
                    matches.append(result)
        matches.sort(key=lambda place: -int(place.get("population", 0)))
        body: dict[str, Any] = {"generationtime_ms": 0.4}
        if matches:  # Open-Meteo leaves `results` out when nothing matched
            body = {"results": matches[:count], **body}
        return Response(json.dumps(body), content_type="application/json; charset=utf-8")

    # --- forecast -----------------------------------------------------------------------------

    def forecast(self, request: Request) -> Response:
        args = request.args
        with self.lock:
            self.forecasts.append(dict(args))
        if self.forecast_delay:
            time.sleep(self.forecast_delay)
        if self.forecast_status != 200:
            return Response("upstream trouble", status=self.forecast_status)
        if self.forecast_body is not None:
            return Response(self.forecast_body, content_type="application/json")
        try:
            latitude, longitude = float(args["latitude"]), float(args["longitude"])
        except (KeyError, ValueError):
            return _error("Parameter 'latitude' and 'longitude' must have the same number of elements")
        if not -90 <= latitude <= 90:
            return _error(f"Latitude must be in range of -90 to 90°. Given: {latitude}.")
        days = int(args.get("forecast_days", "7"))
        if not 0 <= days <= 16:
            return _error(f"Forecast days is invalid. Allowed range 0 to 16. Given {days}.")
        fahrenheit = args.get("temperature_unit") == "fahrenheit"
        mph = args.get("wind_speed_unit") == "mph"
        inch = args.get("precipitation_unit") == "inch"
        place = next(
            (
                p
                for p in GAZETTEER
                if abs(p["latitude"] - latitude) < 0.01 and abs(p["longitude"] - longitude) < 0.01
            ),
            None,
        )
        offset = 3600 if place and place["timezone"] == "Europe/Berlin" else 0
        now = datetime.now(UTC) + timedelta(seconds=offset)
        # A deterministic climate: 18.5 °C and 10.8 km/h everywhere, 1.2 mm of rain a day.
        celsius = 18.5

        def temperature(value: float) -> float:
            return round(value * 9 / 5 + 32, 1) if fahrenheit else value

        def wind(kmh: float) -> float:
            return round(kmh / 1.609344, 1) if mph else kmh

        def rain(mm: float) -> float:
            return round(mm / 25.4, 3) if inch else mm

        current_values: dict[str, Any] = {
            "temperature_2m": temperature(celsius),
            "apparent_temperature": temperature(celsius - 0.4),
            "relative_humidity_2m": 78,
            "precipitation": rain(0.0),
            "cloud_cover": 100,
            "pressure_msl": 1017.0,
            "wind_speed_10m": wind(10.8),
            "wind_direction_10m": 90,
            "wind_gusts_10m": wind(21.6),
            "weather_code": 3,
            "is_day": 1,
        }
        units = {
            "temperature_2m": "°F" if fahrenheit else "°C",
            "apparent_temperature": "°F" if fahrenheit else "°C",
            "relative_humidity_2m": "%",
            "precipitation": "inch" if inch else "mm",
            "cloud_cover": "%",
            "pressure_msl": "hPa",
            "wind_speed_10m": "mp/h" if mph else "km/h",
            "wind_direction_10m": "°",
            "wind_gusts_10m": "mp/h" if mph else "km/h",
            "weather_code": "wmo code",
            "is_day": "",
        }
        wanted_current = [name for name in args.get("current", "").split(",") if name]
        dates = [(now.date() + timedelta(days=index)).isoformat() for index in range(days)]
        codes = [80, 3, 61, 95, 0, 1, 2, 45, 71, 99, 51, 63, 65, 77, 81, 85]
        daily_values: dict[str, list[Any]] = {
            "weather_code": codes[:days],
            "temperature_2m_max": [temperature(19.8 + index) for index in range(days)],
            "temperature_2m_min": [temperature(13.3 + index) for index in range(days)],
            "precipitation_sum": [rain(1.2)] * days,
            "precipitation_probability_max": [53] * days,
            "wind_speed_10m_max": [wind(14.4)] * days,
            "sunrise": [f"{day}T06:41" for day in dates],
            "sunset": [f"{day}T19:19" for day in dates],
            "uv_index_max": [4.1] * days,
        }
        daily_units = {
            "weather_code": "wmo code",
            "temperature_2m_max": "°F" if fahrenheit else "°C",
            "temperature_2m_min": "°F" if fahrenheit else "°C",
            "precipitation_sum": "inch" if inch else "mm",
            "precipitation_probability_max": "%",
            "wind_speed_10m_max": "mp/h" if mph else "km/h",
            "sunrise": "iso8601",
            "sunset": "iso8601",
            "uv_index_max": "",
        }
        wanted_daily = [name for name in args.get("daily", "").split(",") if name]
        for name in [*wanted_current, *wanted_daily]:
            if name not in current_values and name not in daily_values:
                return _error(f"Cannot initialize ForecastVariable from invalid String value {name} for key ")
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        body: dict[str, Any] = {
            # Open-Meteo answers the coordinates of its grid cell, close to the ones asked for.
            "latitude": round(latitude + 0.00437, 6),
            "longitude": round(longitude - 0.00053, 6),
            "generationtime_ms": 0.207,
            "utc_offset_seconds": offset,
            "timezone": place["timezone"] if place and offset else "GMT",
            "timezone_abbreviation": "GMT+1" if offset else "GMT",
            "elevation": place["elevation"] if place else 38.0,
        }
        if wanted_current:
            body["current_units"] = {
                "time": "iso8601",
                "interval": "seconds",
                **{name: units[name] for name in wanted_current},
            }
            body["current"] = {
                "time": quarter.strftime("%Y-%m-%dT%H:%M"),
                "interval": 900,
                **{name: current_values[name] for name in wanted_current},
            }
        if wanted_daily:
            body["daily_units"] = {"time": "iso8601", **{name: daily_units[name] for name in wanted_daily}}
            body["daily"] = {"time": dates, **{name: daily_values[name] for name in wanted_daily}}
        return Response(json.dumps(body), content_type="application/json; charset=utf-8")
