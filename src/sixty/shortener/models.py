"""The shortener's tables: links, and the clicks recorded on them (written in batches)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey


class ShortLink(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "short_link"

    # Case-sensitive: a random code from an unambiguous alphabet, or an alias its owner chose.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # None: created anonymously (nobody manages it).
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(Text)
    redirect_status: Mapped[int] = mapped_column(SmallInteger, default=302)
    expires_at: Mapped[datetime | None]
    # A cap on redirects: `visits` counts them, raised atomically at redirect time only when capped.
    max_visits: Mapped[int | None] = mapped_column(Integer)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    password_hash: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_short_link_owner_id_created_at_id", "owner_id", "created_at", "id"),)


class LinkClick(Base):
    """Redirects served, aggregated per flush: one row per link and (day, referrer host, country,
    browser, bot) seen in that batch, with how many. Bots (by their user agent) are counted apart."""

    __tablename__ = "short_link_click"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    link_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("short_link.id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime]
    day: Mapped[date] = mapped_column(Date)
    referrer_host: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    browser: Mapped[str | None] = mapped_column(String(64))
    bot: Mapped[bool] = mapped_column(default=False)
    clicks: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_short_link_click_link_id_day", "link_id", "day"),)
