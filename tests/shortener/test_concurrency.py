"""The visit cap holds exactly under concurrent hits, on a database that really commits: of many
simultaneous redirects of a link capped at N, exactly N redirect and the rest answer 410."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select

from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app
from sixty.shortener.models import LinkClick, ShortLink

CAP = 5
RACERS = 30


@dataclass
class Race:
    app: FastAPI
    client: AsyncClient
    db: Database
    code: str
    link_id: uuid.UUID


@pytest.fixture
async def race(settings: Settings) -> AsyncIterator[Race]:
    db = Database(create_engine(settings))
    app: FastAPI = create_app(
        settings.model_copy(update={"shortener_click_flush_interval": timedelta(hours=1)}), db=db
    )
    code = f"race-{uuid.uuid4().hex[:8]}"
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            link = ShortLink(code=code, target="http://93.184.215.14/", redirect_status=302, max_visits=CAP)
            session.add(link)
            await session.commit()
            link_id = link.id
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
            yield Race(app, http, db, code, link_id)
        await app.state.shortener.clicks.flush(db)
        async with db.session() as session:
            await session.execute(delete(ShortLink).where(ShortLink.id == link_id))
            await session.commit()
    await db.dispose()


async def test_concurrent_hits_never_pass_the_cap(race: Race) -> None:
    statuses = await asyncio.gather(*(race.client.get(f"/s/{race.code}") for _ in range(RACERS)))
    codes = [response.status_code for response in statuses]
    assert codes.count(302) == CAP, codes
    assert codes.count(410) == RACERS - CAP, codes
    async with race.db.session() as session:
        assert await session.scalar(select(ShortLink.visits).where(ShortLink.id == race.link_id)) == CAP
    await race.app.state.shortener.clicks.flush(race.db)
    async with race.db.session() as session:
        clicks = await session.scalar(
            select(func.sum(LinkClick.clicks)).where(LinkClick.link_id == race.link_id)
        )
    assert clicks == CAP  # one click per redirect served, none for the refusals
