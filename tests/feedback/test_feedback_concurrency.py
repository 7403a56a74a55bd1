"""One response per respondent, proven with concurrent requests on a database that really commits:
of a dozen simultaneous submissions by one account, or one device, exactly one is stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.feedback.models import FeedbackForm, FeedbackResponse
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.feedback import create_form, question_ids

RACERS = 12


@dataclass
class Race:
    app: FastAPI
    client: AsyncClient
    db: Database
    url: str
    rating: str
    headers: dict[str, str]
    form_id: uuid.UUID


@pytest.fixture
async def race(settings: Settings) -> AsyncIterator[Race]:
    """An app whose requests commit for real, a one-response form and a signed-in respondent;
    everything made here is removed afterwards."""
    db = Database(create_engine(settings))
    app: FastAPI = create_app(settings, db=db)
    tag = uuid.uuid4().hex[:8]
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(session, app.state.auth, email=f"racer-{tag}@example.com")
            form = await create_form(session, title=f"race {tag}", one_response_per_respondent=True)
            [rating, *_] = await question_ids(session, form)
            await session.commit()
            ids = (user.id, form.id, form.public_id)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
            headers = bearer(await sign_in(http, f"racer-{tag}@example.com"))
            yield Race(app, http, db, f"/api/feedback/f/{ids[2]}/responses", rating, headers, ids[1])
        async with db.session() as session:
            await session.execute(delete(FeedbackForm).where(FeedbackForm.id == ids[1]))
            await session.execute(delete(User).where(User.id == ids[0]))
            await session.commit()
    await db.dispose()


async def stored(race: Race) -> int:
    async with race.db.session() as session:
        statement = select(func.count()).where(FeedbackResponse.form_id == race.form_id)
        return int(await session.scalar(statement) or 0)


async def test_concurrent_responses_of_one_account_store_one(race: Race) -> None:
    async def answer(score: int) -> int:
        response = await race.client.post(
            race.url, json={"answers": {race.rating: score}}, headers=race.headers
        )
        assert response.status_code in (201, 409), response.text
        if response.status_code == 409:
            assert response.json()["code"] == "already_responded"
        return response.status_code

    statuses = await asyncio.gather(*(answer(1 + index % 5) for index in range(RACERS)))
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == RACERS - 1, statuses
    assert await stored(race) == 1


async def test_concurrent_responses_of_one_device_store_one(race: Race) -> None:
    first_device = "d" * 43  # a cookie value of the shape the router issues
    async with AsyncClient(
        transport=ASGITransport(app=race.app),
        base_url="http://testserver",
        cookies={"sixty_feedback_device": first_device},
    ) as device:

        async def answer() -> int:
            response = await device.post(race.url, json={"answers": {race.rating: 3}})
            return response.status_code

        statuses = await asyncio.gather(*(answer() for _ in range(RACERS)))
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == RACERS - 1, statuses
    # Other devices each get their one.
    others = []
    for index in range(3):
        async with AsyncClient(
            transport=ASGITransport(app=race.app),
            base_url="http://testserver",
            cookies={"sixty_feedback_device": f"{index}" * 43},
        ) as other:
            others.append((await other.post(race.url, json={"answers": {race.rating: 4}})).status_code)
    assert others == [201, 201, 201]
    assert await stored(race) == 4


async def test_the_database_itself_refuses_a_second_response_of_a_respondent(session: AsyncSession) -> None:
    """Bypassing the service, the unique constraint alone refuses the row; keyless responses do not count."""
    form = await create_form(session, one_response_per_respondent=True)
    session.add_all(
        [
            FeedbackResponse(form_id=form.id, respondent_key=None),
            FeedbackResponse(form_id=form.id, respondent_key=None),
            FeedbackResponse(form_id=form.id, respondent_key="user:abc"),
        ]
    )
    await session.flush()

    async def insert_another() -> None:
        async with session.begin_nested():
            session.add(FeedbackResponse(form_id=form.id, respondent_key="user:abc"))
            await session.flush()

    with pytest.raises(IntegrityError):
        await insert_another()
