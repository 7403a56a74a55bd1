"""Alembic environment: one history for the whole schema, async engine, batch mode on SQLite."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from sixty.core.config import Settings
from sixty.core.db import create_engine
from sixty.core.models import Base, UTCDateTime
from sixty.modules import import_all_models

import_all_models()
target_metadata = Base.metadata


def _settings() -> Settings:
    settings = context.config.attributes.get("settings")
    return settings if isinstance(settings, Settings) else Settings()


def _render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    # Migrations stay free of our Python types: UTCDateTime is a plain timezone-aware DateTime.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(_settings())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=_settings().effective_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = context.config.attributes.get("connection")
    if connection is not None:  # called from code that already holds a connection (tests)
        _run(connection)
    else:
        asyncio.run(_run_online())
