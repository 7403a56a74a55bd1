"""Tables of the chatbot: the intent set and its version stamp, conversations with their
messages, and the callback requests the booking flow stores."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey, utcnow
from sixty.core.reader import Real


class Intent(UUIDPrimaryKey, Timestamps, Base):
    """An intent or FAQ entry: what people say (patterns, example phrases) and what the bot answers."""

    __tablename__ = "chatbot_intent"

    name: Mapped[str] = mapped_column(String(64), unique=True)  # lower case
    patterns: Mapped[list[str]] = mapped_column(JSON)  # regular expressions over the normalised text
    examples: Mapped[list[str]] = mapped_column(JSON)  # phrases for fuzzy matching, as written
    answer: Mapped[str] = mapped_column(Text)
    flow: Mapped[str | None] = mapped_column(String(40))  # a flow the answer starts (flows.FLOWS)

    __table_args__ = (Index("ix_chatbot_intent_created_at_id", "created_at", "id"),)


class IntentSetVersion(Base):
    """One row: bumped in the transaction of every change to the intents. Each process keeps
    its matcher index with the version it was built from and rebuilds when the row says
    otherwise, so every process answers from the committed intent set."""

    __tablename__ = "chatbot_intent_set"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Conversation(UUIDPrimaryKey, Timestamps, Base):
    """A conversation. Its random id is the capability of an anonymous one; one started by a
    signed-in account (`user_id`) is that account's alone."""

    __tablename__ = "chatbot_conversation"

    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    # The flow in progress ({} when none): see flows.py.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message_count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_chatbot_conversation_user_id", "user_id"),
        Index("ix_chatbot_conversation_updated_at", "updated_at"),
    )


class Message(UUIDPrimaryKey, Base):
    """One message of a conversation, numbered from 1 in the order they were said."""

    __tablename__ = "chatbot_message"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chatbot_conversation.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(10))  # user | bot
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Real)
    # How the bot chose its reply: pattern | fuzzy | flow | llm | fallback (bot messages only).
    source: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)


class CallbackRequest(UUIDPrimaryKey, Base):
    """A callback booked through the flow; staff list them."""

    __tablename__ = "chatbot_callback"

    name: Mapped[str] = mapped_column(String(100))
    day: Mapped[date]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chatbot_conversation.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_chatbot_callback_created_at_id", "created_at", "id"),
        Index("ix_chatbot_callback_day_id", "day", "id"),
    )
