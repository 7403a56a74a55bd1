"""B17: writing to a portfolio's owner through the contact module, and the visitors' rate limits."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.contact.models import ContactMessage
from sixty.core.config import Settings
from sixty.core.db import Database
from tests.auth.conftest import Mailbox
from tests.factories.contact import submission
from tests.factories.limits import limited_client
from tests.portfolio.conftest import counts, publish


async def messages(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ContactMessage)) or 0)


async def test_a_message_to_the_owner_is_stored_for_them_and_mailed_after_commit(
    app: FastAPI,
    db: Database,
    settings: Settings,
    client: AsyncClient,
    session: AsyncSession,
    ann: dict[str, str],
    bob: dict[str, str],
) -> None:
    await publish(client, ann)
    response = await client.post(
        "/api/portfolio/ANN/contact", json=submission(settings, subject="Work with me?")
    )
    assert response.status_code == 202, response.text
    message = await session.get_one(ContactMessage, uuid.UUID(response.json()["id"]))
    assert message.recipient_user_id is not None
    assert message.notified == "ann@example.com"

    mailbox = Mailbox(app, db, settings)
    notification = await mailbox.last("ann@example.com")
    assert notification.subject == "[Contact] Work with me?"
    assert notification.reply_to == "ada@example.com"

    # The owner reads it in their own inbox; nobody else sees it there.
    [listed] = (await client.get("/api/portfolio/me/messages", headers=ann)).json()["items"]
    assert (listed["id"], listed["subject"], listed["status"]) == (
        response.json()["id"],
        "Work with me?",
        "unhandled",
    )
    assert (await client.get("/api/portfolio/me/messages", headers=bob)).json()["items"] == []
    assert (await client.get("/api/contact/messages", headers=ann)).status_code == 403


async def test_no_message_to_a_draft_or_with_a_bad_form(
    client: AsyncClient, session: AsyncSession, settings: Settings, ann: dict[str, str]
) -> None:
    await publish(client, ann, published=False)
    before = await messages(session)
    draft = await client.post("/api/portfolio/ann/contact", json=submission(settings))
    assert draft.status_code == 404
    await publish(client, ann)
    forged = await client.post(
        "/api/portfolio/ann/contact", json=submission(settings, form_token="v1.1.forged")
    )
    assert forged.status_code == 422
    assert forged.json()["errors"][0]["type"] == "invalid_form_token"
    header = await client.post(
        "/api/portfolio/ann/contact", json=submission(settings, subject="Hi\r\nBcc: all@example.com")
    )
    assert header.status_code == 422
    assert await messages(session) == before


async def test_testimonials_are_rate_limited_per_address(
    settings: Settings, db: Database, client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    async with limited_client(settings, db, {"portfolio.testimonial.ip": "2/hour"}) as limited:
        body = {"author_name": "C", "text": "Good."}
        for _ in range(2):
            assert (await limited.post("/api/portfolio/ann/testimonials", json=body)).status_code == 202
        before = await counts(session)
        refused = await limited.post("/api/portfolio/ann/testimonials", json=body)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        assert await counts(session) == before


async def test_testimonials_are_rate_limited_per_portfolio(
    settings: Settings, db: Database, client: AsyncClient, session: AsyncSession, ann: dict[str, str]
) -> None:
    await publish(client, ann)
    async with limited_client(settings, db, {"portfolio.testimonial.portfolio": "1/day"}) as limited:
        body = {"author_name": "C", "text": "Good."}
        assert (await limited.post("/api/portfolio/ann/testimonials", json=body)).status_code == 202
        before = await counts(session)
        # Same portfolio whatever the spelling of its name.
        assert (await limited.post("/api/portfolio/ANN/testimonials", json=body)).status_code == 429
        assert await counts(session) == before
