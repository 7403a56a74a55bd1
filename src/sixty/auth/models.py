"""Accounts and what hangs off them: roles, sessions, refresh tokens, one-time tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey, utcnow


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "auth_user"

    # Normalised (NFKC, lower-case, IDNA domain); unique, so uniqueness is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(40))
    # Lower-cased username: uniqueness without case, display keeps the user's spelling.
    username_key: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # TOTP second factor: secret set at enrolment, active once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]  # the last time step accepted: no code reuse in its window


class Role(Base):
    __tablename__ = "auth_role"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class RolePermission(Base):
    __tablename__ = "auth_role_permission"

    role: Mapped[str] = mapped_column(ForeignKey("auth_role.name", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(80), primary_key=True)


class UserRole(Base):
    __tablename__ = "auth_user_role"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(ForeignKey("auth_role.name", ondelete="CASCADE"), primary_key=True)


class Session(UUIDPrimaryKey, Base):
    """A signed-in device: one refresh-token family. Revoking it ends every token it issued."""

    __tablename__ = "auth_session"
    __table_args__ = (Index("ix_auth_session_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(45))
    method: Mapped[str] = mapped_column(String(20), default="password")


class RefreshToken(UUIDPrimaryKey, Base):
    """One link of a session's rotation chain; stored as a keyed hash, never in clear."""

    __tablename__ = "auth_refresh_token"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_session.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class OneTimeToken(UUIDPrimaryKey, Base):
    """Email verification links, password reset links, emailed login codes and recovery codes:
    single use, hashed at rest, most of them expiring."""

    __tablename__ = "auth_one_time_token"
    __table_args__ = (
        UniqueConstraint("purpose", "token_hash"),
        Index("ix_auth_one_time_token_user_id_purpose", "user_id", "purpose"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(Text)  # the address a verification link was sent to
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
