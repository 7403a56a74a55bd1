"""Tables of the feedback collector.

A response is one person's answers to a form. When the form asks for one response per
respondent, the response carries a respondent key (the account, or the device cookie) and
`uq_feedback_response_form_id_respondent_key` lets the database take only one per form, however
many requests race; other responses leave the key NULL, which a unique constraint never compares.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps, UUIDPrimaryKey, utcnow


class FeedbackForm(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "feedback_form"

    # The link people answer through: 128 random bits, never the id staff use.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | open | closed
    one_response_per_respondent: Mapped[bool] = mapped_column(default=False)
    require_sign_in: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_feedback_form_created_at_id", "created_at", "id"),)


class FeedbackQuestion(UUIDPrimaryKey, Base):
    __tablename__ = "feedback_question"

    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback_form.id", ondelete="CASCADE"))
    position: Mapped[int]  # 1, 2, ... in the order the form shows them
    kind: Mapped[str] = mapped_column(String(20))  # rating | nps | text | single_choice | multiple_choice
    prompt: Mapped[str] = mapped_column(String(500))
    required: Mapped[bool] = mapped_column(default=False)
    max_length: Mapped[int | None]  # text
    choices: Mapped[list[str] | None] = mapped_column(JSON)  # single_choice, multiple_choice
    min_selections: Mapped[int | None]  # multiple_choice
    max_selections: Mapped[int | None]

    __table_args__ = (UniqueConstraint("form_id", "position"),)


class FeedbackResponse(UUIDPrimaryKey, Base):
    __tablename__ = "feedback_response"

    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback_form.id", ondelete="CASCADE"))
    # `user:<id>` or `device:<hash of the cookie>`; set only when the form takes one response each.
    respondent_key: Mapped[str | None] = mapped_column(String(80))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("form_id", "respondent_key"),
        Index("ix_feedback_response_form_id_created_at_id", "form_id", "created_at", "id"),
    )


class FeedbackAnswer(Base):
    """The answer to one question of a response: a number (rating, NPS), a text, or, for choice
    questions, one `FeedbackAnswerChoice` row per choice picked (so SQL counts them)."""

    __tablename__ = "feedback_answer"

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("feedback_response.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("feedback_question.id", ondelete="CASCADE"), primary_key=True
    )
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback_form.id", ondelete="CASCADE"))
    number: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_feedback_answer_form_id_question_id", "form_id", "question_id"),)


class FeedbackAnswerChoice(Base):
    __tablename__ = "feedback_answer_choice"

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("feedback_response.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("feedback_question.id", ondelete="CASCADE"), primary_key=True
    )
    choice: Mapped[str] = mapped_column(String(200), primary_key=True)
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback_form.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_feedback_answer_choice_form_id_question_id", "form_id", "question_id"),)
