from __future__ import annotations

import gc
import importlib
import sys
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.deps import SettingsDep, WriteSessionDep
from sixty.core.models import UTCDateTime
from sixty.core.routing import module_router
from sixty.main import create_app
from sixty.notes.models import Note


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


def test_non_datetimes_from_the_database_are_refused() -> None:
    with pytest.raises(TypeError):
        UTCDateTime().process_result_value("2026-01-01", sqlite.dialect())


async def test_write_session_and_settings_dependencies(
    settings: Settings, db: Database, session: AsyncSession
) -> None:
    app: FastAPI = create_app(settings, db=db)
    router = module_router("/api/test-deps", "test")

    @router.get("/touch")
    async def touch(session: WriteSessionDep, current: SettingsDep) -> dict[str, str]:
        session.add(Note(title="written by a GET", body=""))
        return {"env": current.env.value}

    app.include_router(router)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/api/test-deps/touch")
    assert response.json() == {"env": "test"}
    titles = (await session.scalars(select(Note.title))).all()
    assert "written by a GET" in titles


def test_asgi_entry_point_builds_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIXTY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SIXTY_LOG_JSON", "false")
    sys.modules.pop("sixty.asgi", None)
    import logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        module = importlib.import_module("sixty.asgi")
        assert isinstance(module.app, FastAPI)
        assert module.settings.data_dir == tmp_path
        # What start-up built is left out of garbage collections from then on.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this process goes on running tests, whose garbage must be collected
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        sys.modules.pop("sixty.asgi", None)


async def test_a_new_row_is_created_and_updated_at_the_same_instant(session: AsyncSession) -> None:
    # One flush of many rows goes through executemany; each row still gets one instant for both columns.
    notes = [Note(title=f"same instant {n}", body="") for n in range(50)]
    session.add_all(notes)
    await session.flush()
    for note in notes:
        await session.refresh(note)
        assert note.updated_at == note.created_at

    notes[0].title = "edited"
    await session.flush()
    await session.refresh(notes[0])
    assert notes[0].updated_at > notes[0].created_at
