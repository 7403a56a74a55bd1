"""Wires the image compressor into the app: its worker threads' cap, its variant flights, and the
signer of variant links (keyed from the app secret)."""

from __future__ import annotations

from fastapi import FastAPI

from sixty.core.config import Settings
from sixty.images.codec import refuse_bomb_warnings
from sixty.images.service import ImageWorkers, LinkSigner
from sixty.modules import StartupHook


def install(app: FastAPI, settings: Settings) -> StartupHook | None:
    refuse_bomb_warnings()
    app.state.images = ImageWorkers(settings)
    app.state.image_links = LinkSigner(settings.secret_key)
    return None
