"""Library data made through the service, as a librarian would make it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.library import service
from sixty.library.models import Book, Copy, Hold, Loan, Member
from sixty.library.schemas import BookCreate, CopyCreate, MemberCreate

LIBRARIAN = service.Caller(user_id=uuid.UUID(int=0), librarian=True)


def policy(settings: Settings) -> service.LibraryPolicy:
    return service.LibraryPolicy.from_settings(settings)


async def create_book(
    session: AsyncSession,
    *,
    isbn: str = "9780131103627",
    title: str = "The C Programming Language",
    authors: tuple[str, ...] = ("Brian W. Kernighan", "Dennis M. Ritchie"),
    subjects: tuple[str, ...] = ("Programming",),
    year: int | None = 1988,
) -> Book:
    data = BookCreate(
        isbn=isbn, title=title, authors=list(authors), subjects=list(subjects), publication_year=year
    )
    return await service.create_book(session, data)


async def create_copy(
    session: AsyncSession, settings: Settings, book: Book, *, barcode: str | None = None
) -> Copy:
    data = CopyCreate(barcode=barcode or f"B-{uuid.uuid4().hex[:10]}", condition="good")
    return await service.add_copy(session, book.id, data, policy=policy(settings), moment=service.now())


async def create_member(
    session: AsyncSession, *, name: str = "Bea Reader", user_id: uuid.UUID | None = None
) -> Member:
    return await service.create_member(session, MemberCreate(name=name, user_id=user_id))


async def lend(
    session: AsyncSession, settings: Settings, copy: Copy, member: Member, *, moment: datetime | None = None
) -> Loan:
    """A loan made at `moment` (the past, for overdue loans)."""
    return await service.checkout(
        session,
        copy.id,
        caller=LIBRARIAN,
        member_id=member.id,
        policy=policy(settings),
        moment=moment or service.now(),
    )


async def hold(
    session: AsyncSession, settings: Settings, book: Book, member: Member, *, moment: datetime | None = None
) -> Hold:
    return await service.place_hold(
        session,
        book.id,
        caller=LIBRARIAN,
        member_id=member.id,
        policy=policy(settings),
        moment=moment or service.now(),
    )
