"""Wires the weather module into the app: one service per app, on the app's HTTP client and cache
(it holds the single-flight locks that keep concurrent misses to one provider call)."""

from __future__ import annotations

from fastapi import FastAPI

from sixty.core.config import Settings
from sixty.modules import StartupHook
from sixty.weather.service import WeatherConfig, WeatherService


def install(app: FastAPI, settings: Settings) -> StartupHook | None:
    app.state.weather = WeatherService(
        http=app.state.http, cache=app.state.cache, config=WeatherConfig.from_settings(settings)
    )
    return None
