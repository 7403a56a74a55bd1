"""B6 Weather: `/api/weather`. HTTP only: parse, call the service, shape the response.

A place is a `city` (optionally narrowed by `country`) or `latitude` + `longitude`, never both.
When the provider fails, a cached copy is answered with `stale: true`, `Warning: 111` and `Age`;
without one, the answer is a 503 (502 when the provider sent something unusable).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from sixty.core.errors import problem_responses
from sixty.core.i18n import N_, current_locale
from sixty.core.models import utcnow
from sixty.core.ratelimit import rate_limit, rate_limit_responses, rate_policy
from sixty.core.routing import module_router
from sixty.core.text import NOT_BLANK, strip_blank
from sixty.weather.schemas import CURRENT_EXAMPLE, FORECAST_EXAMPLE, CurrentWeatherRead, ForecastRead, Units
from sixty.weather.service import City, Place, Point, WeatherService

router = module_router("/api/weather", "weather")

# Each lookup may cost two calls to the provider: a bound per address on how fast one client spends them.
LOOKUP_PER_IP = rate_policy("weather.lookup.ip", "60/minute")

# RFC 9111's warn-code for "a stale response was served because revalidation failed".
STALE_WARNING = '111 - "Revalidation Failed"'


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": message, "ctx": {"error": message}}]
    )


async def place(
    city: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=100,
            pattern=NOT_BLANK,
            description="A place name in any language, e.g. `Berlin` or `São Paulo`.",
        ),
    ] = None,
    country: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{2}$",
            description="ISO 3166-1 alpha-2 code that narrows `city` to one country (`DE`, `us`).",
        ),
    ] = None,
    latitude: Annotated[float | None, Query(ge=-90, le=90, description="WGS84 degrees north.")] = None,
    longitude: Annotated[float | None, Query(ge=-180, le=180, description="WGS84 degrees east.")] = None,
) -> Place:
    """The place asked for: a city, or coordinates (a 422 naming the field when neither or both)."""
    if city is not None:
        if latitude is not None or longitude is not None:
            raise _invalid("city", N_("Give a city or coordinates, not both."))
        name = strip_blank(city)
        if len(name) < 2:
            raise _invalid("city", N_("A city name needs at least 2 characters."))
        return City(name=name, country=country.upper() if country else None)
    if country is not None:
        raise _invalid("country", N_("A country narrows a city name; give a city too."))
    if latitude is None and longitude is None:
        raise _invalid("city", N_("Give a city, or a latitude and a longitude."))
    if latitude is None:
        raise _invalid("latitude", N_("A longitude needs a latitude."))
    if longitude is None:
        raise _invalid("longitude", N_("A latitude needs a longitude."))
    return Point(latitude=latitude, longitude=longitude)


async def weather_service(request: Request) -> WeatherService:
    service: WeatherService = request.app.state.weather
    return service


PlaceDep = Annotated[Place, Depends(place)]
WeatherDep = Annotated[WeatherService, Depends(weather_service)]
UnitsQuery = Annotated[Units, Query(description="`metric` (°C, km/h, mm) or `imperial` (°F, mph, inch).")]

STALE_HEADERS = {
    "Warning": {
        "description": f"`{STALE_WARNING}` when the answer is a stale copy (the provider failed).",
        "schema": {"type": "string"},
    },
    "Age": {"description": "Seconds since the data came from the provider.", "schema": {"type": "integer"}},
}


def _responses(example: dict[str, Any]) -> dict[int | str, Any]:
    responses: dict[int | str, Any] = {
        200: {"content": {"application/json": {"example": example}}, "headers": STALE_HEADERS},
        **problem_responses(404, 422, 502),
        **rate_limit_responses(),
    }
    responses[503]["description"] = (
        "The weather provider is unavailable and no cached copy is at hand (or the rate limiter's "
        "store is down and limits fail closed)."
    )
    return responses


def _freshness_headers(response: Response, report: CurrentWeatherRead | ForecastRead) -> None:
    response.headers["Age"] = str(max(0, int((utcnow() - report.fetched_at).total_seconds())))
    if report.stale:
        response.headers["Warning"] = STALE_WARNING


PLACE_DOC = (
    "The place is `city` (geocoded by Open-Meteo; the most relevant match is used and the next "
    "ones are listed in `candidates`; `country` narrows the search) or `latitude` and `longitude`. "
    "An unknown city is a 404. When the provider fails, a cached copy (up to "
    "`SIXTY_WEATHER_STALE_TTL` old) is answered with `stale: true`, `Warning: 111` and `Age`; "
    "without one, a 503 problem."
)


@router.get(
    "/current",
    summary="Current weather",
    description="Current conditions at a place: temperature, feels-like, humidity, precipitation, "
    "cloud cover, pressure, wind and the weather in words. " + PLACE_DOC,
    response_model=CurrentWeatherRead,
    responses=_responses(CURRENT_EXAMPLE),
    dependencies=[rate_limit(LOOKUP_PER_IP)],
)
async def current_weather(
    response: Response, where: PlaceDep, weather: WeatherDep, units: UnitsQuery = "metric"
) -> CurrentWeatherRead:
    report = await weather.current(where, units=units, language=current_locale.get())
    _freshness_headers(response, report)
    return report


@router.get(
    "/forecast",
    summary="Daily forecast",
    description="A daily forecast for `days` days (1 to 16, default 7) starting today at the place: "
    "the weather in words, highest and lowest temperature, precipitation and its probability, wind, "
    "sunrise, sunset and UV index. " + PLACE_DOC,
    response_model=ForecastRead,
    responses=_responses(FORECAST_EXAMPLE),
    dependencies=[rate_limit(LOOKUP_PER_IP)],
)
async def weather_forecast(
    response: Response,
    where: PlaceDep,
    weather: WeatherDep,
    units: UnitsQuery = "metric",
    days: Annotated[int, Query(ge=1, le=16, description="How many days, today first.")] = 7,
) -> ForecastRead:
    report = await weather.forecast(where, units=units, days=days, language=current_locale.get())
    _freshness_headers(response, report)
    return report
