"""The portfolio module's tables: one portfolio per account, and what it shows.

Every edit bumps the portfolio's `version` (one atomic UPDATE, which also serialises concurrent
edits of one portfolio): the public document's ETag is made from it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey, utcnow


class Portfolio(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "portfolio"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"), unique=True)
    # Lower case: the address of the public page, `/api/portfolio/{username}`.
    username: Mapped[str] = mapped_column(String(40), unique=True)
    headline: Mapped[str] = mapped_column(String(160), default="")
    bio: Mapped[str] = mapped_column(Text, default="")  # Markdown, as written
    bio_html: Mapped[str] = mapped_column(Text, default="")  # rendered and sanitised when written
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    published: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)


class PortfolioProject(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "portfolio_project"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolio.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    position: Mapped[int]

    __table_args__ = (
        UniqueConstraint("portfolio_id", "slug"),
        Index("ix_portfolio_project_portfolio_id_position", "portfolio_id", "position"),
    )


class PortfolioProjectImage(Base):
    """An image of a project: a file its owner stored through the files module. Deleting the
    file there takes it off the project (the cascade)."""

    __tablename__ = "portfolio_project_image"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("portfolio_project.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files_file.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]
    # Copied from the file when attached (a stored file's content never changes), so reading a
    # portfolio needs no other module's tables.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)


class PortfolioSkill(UUIDPrimaryKey, Base):
    __tablename__ = "portfolio_skill"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolio.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str] = mapped_column(String(60))  # case-folded: "Python" and "python" are one skill
    level: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]

    __table_args__ = (
        UniqueConstraint("portfolio_id", "name_key"),
        CheckConstraint("level IN ('beginner', 'intermediate', 'advanced', 'expert')", name="level"),
    )


class PortfolioEntry(UUIDPrimaryKey, Base):
    """One dated entry of the experience or education timeline; `end_date` None: ongoing."""

    __tablename__ = "portfolio_entry"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolio.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    organization: Mapped[str] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_portfolio_entry_portfolio_id_kind_start_date", "portfolio_id", "kind", "start_date"),
        CheckConstraint("kind IN ('experience', 'education')", name="kind"),
        CheckConstraint("end_date IS NULL OR start_date <= end_date", name="dates"),
    )


class PortfolioTestimonial(UUIDPrimaryKey, Base):
    """Written by a visitor; shown on the portfolio only once its owner approves it."""

    __tablename__ = "portfolio_testimonial"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolio.id", ondelete="CASCADE"))
    author_name: Mapped[str] = mapped_column(String(100))
    author_title: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_portfolio_testimonial_portfolio_id_created_at_id", "portfolio_id", "created_at", "id"),
    )
