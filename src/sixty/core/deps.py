"""Dependencies every router uses: settings, and the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.db import UNSAFE_METHODS, Database, unit_of_work
from sixty.core.reader import Reader


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the endpoint returns, before the
    response is sent (so a failed commit is reported, never hidden), rolled back on error."""
    db = get_database(request)
    async with unit_of_work(db.session(write=request.method in UNSAFE_METHODS)) as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """As `get_session`, but taking the write lock up front whatever the method (a GET that writes)."""
    async with unit_of_work(get_database(request).session(write=True)) as session:
        yield session


async def get_reader(request: Request) -> Reader:
    return get_database(request).reader


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response goes out.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session, scope="function")]
# Reads that serve GETs: compiled Core statements on the driver (core/reader.py).
ReaderDep = Annotated[Reader, Depends(get_reader)]
