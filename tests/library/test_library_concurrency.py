"""Concurrency claims, proven with concurrent requests on a database that really commits:
a copy is never lent twice at once, a loan is returned once, a member holds a book once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.library.models import Book, Copy, Hold, Loan, Member
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.library import create_book, create_copy, create_member

RACERS = 12


@dataclass
class Library:
    client: AsyncClient
    db: Database
    librarian: dict[str, str]
    copy_id: uuid.UUID
    book_id: uuid.UUID
    members: list[uuid.UUID]


@pytest.fixture
async def library(settings: Settings) -> AsyncIterator[Library]:
    """An app whose requests commit for real, a librarian, one book with one copy, and members;
    everything made here is removed afterwards."""
    db = Database(create_engine(settings))
    app: FastAPI = create_app(settings, db=db)
    tag = uuid.uuid4().hex[:8]
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(
                session, app.state.auth, email=f"lib-{tag}@example.com", roles=("user", "librarian")
            )
            book = await create_book(session, isbn="9780306406157", title=f"concurrency-{tag}")
            copy = await create_copy(session, settings, book, barcode=f"RACE-{tag}")
            members = [await create_member(session, name=f"racer {index}") for index in range(RACERS)]
            await session.commit()
            ids = (user.id, book.id, copy.id, [member.id for member in members])
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
            headers = bearer(await sign_in(http, f"lib-{tag}@example.com"))
            yield Library(http, db, headers, ids[2], ids[1], ids[3])
        async with db.session() as session:
            await session.execute(delete(Loan).where(Loan.book_id == ids[1]))
            await session.execute(delete(Hold).where(Hold.book_id == ids[1]))
            await session.execute(delete(Copy).where(Copy.book_id == ids[1]))
            await session.execute(delete(Book).where(Book.id == ids[1]))
            await session.execute(delete(Member).where(Member.id.in_(ids[3])))
            await session.execute(delete(User).where(User.id == ids[0]))
            await session.commit()
    await db.dispose()


async def open_loans(library: Library) -> int:
    async with library.db.session() as session:
        statement = select(func.count()).where(Loan.copy_id == library.copy_id, Loan.returned_at.is_(None))
        return int(await session.scalar(statement) or 0)


async def test_concurrent_loans_of_one_copy_lend_it_once(library: Library) -> None:
    async def lend(member_id: uuid.UUID) -> int:
        response = await library.client.post(
            "/api/library/loans",
            json={"copy_id": str(library.copy_id), "member_id": str(member_id)},
            headers=library.librarian,
        )
        assert response.status_code in (201, 409), response.text
        if response.status_code == 409:
            assert response.json()["code"] == "copy_unavailable"
        return response.status_code

    statuses = await asyncio.gather(*(lend(member_id) for member_id in library.members))
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == RACERS - 1, statuses
    assert await open_loans(library) == 1
    copy = (await library.client.get(f"/api/library/copies/{library.copy_id}")).json()
    assert copy["status"] == "on_loan"


async def test_concurrent_returns_of_one_loan_return_it_once(library: Library) -> None:
    lent = await library.client.post(
        "/api/library/loans",
        json={"copy_id": str(library.copy_id), "member_id": str(library.members[0])},
        headers=library.librarian,
    )
    loan_id = lent.json()["id"]

    async def give_back() -> int:
        response = await library.client.post(
            f"/api/library/loans/{loan_id}/return", headers=library.librarian
        )
        return response.status_code

    statuses = await asyncio.gather(*(give_back() for _ in range(RACERS)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == RACERS - 1, statuses
    assert await open_loans(library) == 0
    # Lent again: the copy went back on the shelf exactly once.
    again = await library.client.post(
        "/api/library/loans",
        json={"copy_id": str(library.copy_id), "member_id": str(library.members[1])},
        headers=library.librarian,
    )
    assert again.status_code == 201


async def test_concurrent_holds_by_one_member_queue_them_once(library: Library) -> None:
    await library.client.post(
        "/api/library/loans",
        json={"copy_id": str(library.copy_id), "member_id": str(library.members[0])},
        headers=library.librarian,
    )

    async def hold(member_id: uuid.UUID) -> int:
        response = await library.client.post(
            "/api/library/holds",
            json={"book_id": str(library.book_id), "member_id": str(member_id)},
            headers=library.librarian,
        )
        return response.status_code

    same = await asyncio.gather(*(hold(library.members[1]) for _ in range(RACERS)))
    assert same.count(201) == 1, same
    assert same.count(409) == RACERS - 1, same
    # Different members all join, each at their own place.
    others = await asyncio.gather(*(hold(member_id) for member_id in library.members[2:6]))
    assert others == [201] * 4
    queue = await library.client.get(
        "/api/library/holds",
        params={"book_id": str(library.book_id), "active": "true"},
        headers=library.librarian,
    )
    assert [item["position"] for item in queue.json()["items"]] == [1, 2, 3, 4, 5]


async def test_the_database_itself_refuses_a_second_open_loan_of_a_copy(
    session: AsyncSession, settings: Settings
) -> None:
    """Bypassing the service, the partial unique index alone refuses the row (returned loans do not count)."""
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    member = await create_member(session)
    moment = datetime.now(UTC)

    def loan(returned: bool = False) -> Loan:
        return Loan(
            copy_id=copy.id,
            book_id=book.id,
            member_id=member.id,
            loaned_at=moment,
            due_at=moment + timedelta(days=1),
            returned_at=moment if returned else None,
            renewals=0,
        )

    session.add_all([loan(returned=True), loan(returned=True), loan()])
    await session.flush()

    async def insert_another() -> None:
        async with session.begin_nested():
            session.add(loan())
            await session.flush()

    with pytest.raises(IntegrityError):
        await insert_another()
