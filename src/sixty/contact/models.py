"""The contact module's one table: every message sent through a contact form, spam included
(kept, flagged and never mailed, so bots see the same answer as people)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, UUIDPrimaryKey, utcnow


class ContactMessage(UUIDPrimaryKey, Base):
    __tablename__ = "contact_message"

    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    # Case-folded name, email, subject and message: what `q` searches, the same way on every backend.
    search_text: Mapped[str] = mapped_column(Text)
    # None: the site's inbox. An account: a message to that person (another module's contact form).
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("auth_user.id", ondelete="CASCADE")
    )
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))
    # The address the notification was queued to; None when nobody was told (spam, no inbox set).
    notified: Mapped[str | None] = mapped_column(String(320))
    spam: Mapped[bool] = mapped_column(default=False)
    spam_reason: Mapped[str | None] = mapped_column(String(20))  # honeypot | too_fast | staff
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_contact_message_created_at_id", "created_at", "id"),
        Index("ix_contact_message_recipient_user_id_created_at_id", "recipient_user_id", "created_at", "id"),
    )
