"""Wires the blog into the app: the RealWorld error shape on its routes."""

from __future__ import annotations

from fastapi import FastAPI

from sixty.blog.errors import install_error_shape
from sixty.core.config import Settings
from sixty.modules import StartupHook


def install(app: FastAPI, settings: Settings) -> StartupHook | None:
    install_error_shape(app)
    return None
