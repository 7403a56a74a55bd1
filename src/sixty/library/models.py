"""Tables of the library. A copy is lent at most once at a time: `uq_library_loan_open_copy`
(one open loan per copy) is the database's guarantee, whatever the application does."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey, utcnow

# Partial indexes: the same predicate on both backends.
OPEN_LOAN = text("returned_at IS NULL")
ACTIVE_HOLD = text("status IN ('waiting', 'ready')")
READY_HOLD = text("status = 'ready'")


class Book(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "library_book"

    isbn: Mapped[str] = mapped_column(String(13), unique=True)  # ISBN-13, digits only
    title: Mapped[str] = mapped_column(String(300))
    title_key: Mapped[str] = mapped_column(String(300))  # case-folded: the `sort=title` order
    authors: Mapped[list[str]] = mapped_column(JSON)
    subjects: Mapped[list[str]] = mapped_column(JSON)
    publication_year: Mapped[int | None]
    # Case-folded title, authors, subjects and ISBN: what `q` searches, the same way on every backend.
    search_text: Mapped[str] = mapped_column(Text)
    author_text: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_library_book_title_key_id", "title_key", "id"),
        Index("ix_library_book_created_at_id", "created_at", "id"),
    )


class BookSubject(Base):
    """One row per (book, case-folded subject): the index behind `?subject=`."""

    __tablename__ = "library_book_subject"

    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("library_book.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_library_book_subject_subject", "subject"),)


class Copy(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "library_copy"

    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_book.id", ondelete="CASCADE"))
    barcode: Mapped[str] = mapped_column(String(40), unique=True)
    condition: Mapped[str] = mapped_column(String(20))
    # available | on_loan | held (set aside for a ready hold) | maintenance | lost | withdrawn
    status: Mapped[str] = mapped_column(String(20), default="available")

    __table_args__ = (
        Index("ix_library_copy_book_id_status", "book_id", "status"),
        Index("ix_library_copy_created_at_id", "created_at", "id"),
    )


class Member(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "library_member"

    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # case-folded: search and `sort=name`
    email: Mapped[str | None] = mapped_column(String(320))
    # The account that acts as this member (a cross-module foreign key; no ORM relationship).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("auth_user.id", ondelete="SET NULL"), unique=True
    )

    __table_args__ = (
        Index("ix_library_member_name_key_id", "name_key", "id"),
        Index("ix_library_member_created_at_id", "created_at", "id"),
    )


class Loan(UUIDPrimaryKey, Base):
    __tablename__ = "library_loan"

    copy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_copy.id", ondelete="RESTRICT"))
    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_book.id", ondelete="RESTRICT"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_member.id", ondelete="RESTRICT"))
    loaned_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    returned_at: Mapped[datetime | None]
    renewals: Mapped[int] = mapped_column(default=0)
    # Frozen when the loan is returned (minor units of `fine_currency`); open loans compute it on read.
    fine_minor: Mapped[int | None]
    fine_currency: Mapped[str | None] = mapped_column(String(3))
    fine_paid_at: Mapped[datetime | None]

    __table_args__: Any = (
        # The guarantee: at most one open loan per copy. Two concurrent checkouts cannot both commit.
        Index(
            "uq_library_loan_open_copy",
            "copy_id",
            unique=True,
            sqlite_where=OPEN_LOAN,
            postgresql_where=OPEN_LOAN,
        ),
        Index("ix_library_loan_member_id_loaned_at", "member_id", "loaned_at", "id"),
        Index("ix_library_loan_loaned_at_id", "loaned_at", "id"),
        Index("ix_library_loan_due_at_id", "due_at", "id"),
    )


class Hold(UUIDPrimaryKey, Base):
    __tablename__ = "library_hold"

    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_book.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("library_member.id", ondelete="CASCADE"))
    # waiting (in the queue) | ready (a copy is set aside until expires_at) | fulfilled | cancelled | expired
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # the queue order (FIFO per book)
    copy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("library_copy.id", ondelete="SET NULL"))
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__: Any = (
        # One active hold per member and book; one ready hold per copy.
        Index(
            "uq_library_hold_active_member_book",
            "book_id",
            "member_id",
            unique=True,
            sqlite_where=ACTIVE_HOLD,
            postgresql_where=ACTIVE_HOLD,
        ),
        Index(
            "uq_library_hold_ready_copy",
            "copy_id",
            unique=True,
            sqlite_where=READY_HOLD,
            postgresql_where=READY_HOLD,
        ),
        Index("ix_library_hold_book_id_status_created_at", "book_id", "status", "created_at", "id"),
        Index("ix_library_hold_created_at_id", "created_at", "id"),
    )
