"""WMO weather interpretation codes (WW), as Open-Meteo reports them, in words.

The table is Open-Meteo's (its documentation, "WMO Weather interpretation codes"): a subset of
WMO code table 4677 for present weather.
"""

from __future__ import annotations

from sixty.core.i18n import N_, _

WEATHER_CODES: dict[int, str] = {
    0: N_("Clear sky"),
    1: N_("Mainly clear"),
    2: N_("Partly cloudy"),
    3: N_("Overcast"),
    45: N_("Fog"),
    48: N_("Depositing rime fog"),
    51: N_("Light drizzle"),
    53: N_("Moderate drizzle"),
    55: N_("Dense drizzle"),
    56: N_("Light freezing drizzle"),
    57: N_("Dense freezing drizzle"),
    61: N_("Slight rain"),
    63: N_("Moderate rain"),
    65: N_("Heavy rain"),
    66: N_("Light freezing rain"),
    67: N_("Heavy freezing rain"),
    71: N_("Slight snowfall"),
    73: N_("Moderate snowfall"),
    75: N_("Heavy snowfall"),
    77: N_("Snow grains"),
    80: N_("Slight rain showers"),
    81: N_("Moderate rain showers"),
    82: N_("Violent rain showers"),
    85: N_("Slight snow showers"),
    86: N_("Heavy snow showers"),
    95: N_("Thunderstorm"),
    96: N_("Thunderstorm with slight hail"),
    99: N_("Thunderstorm with heavy hail"),
}

UNKNOWN = N_("Unknown weather (code {code})")


def describe(code: int | None) -> str | None:
    """The code in words, in the request's language; None when there is no code."""
    if code is None:
        return None
    text = WEATHER_CODES.get(code)
    return _(text) if text else _(UNKNOWN).format(code=code)
