"""Feedback data made through the service, as staff and respondents would make it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sixty.feedback import service
from sixty.feedback.models import FeedbackForm, FeedbackQuestion, FeedbackResponse
from sixty.feedback.schemas import FormCreate, ResponseCreate

QUESTIONS: list[dict[str, Any]] = [
    {"kind": "rating", "prompt": "How was the talk?", "required": True},
    {"kind": "nps", "prompt": "How likely are you to recommend us?"},
    {"kind": "text", "prompt": "Anything else?", "max_length": 50},
    {"kind": "single_choice", "prompt": "Which day?", "choices": ["Friday", "Saturday"]},
    {
        "kind": "multiple_choice",
        "prompt": "Which sessions?",
        "choices": ["Keynote", "Workshop", "Panel"],
        "min_selections": 1,
        "max_selections": 2,
    },
]


async def create_form(
    session: AsyncSession,
    *,
    title: str = "Conference feedback",
    questions: list[dict[str, Any]] | None = None,
    publish: bool = True,
    by: uuid.UUID | None = None,
    **options: Any,
) -> FeedbackForm:
    data = FormCreate.model_validate(
        {"title": title, "questions": QUESTIONS if questions is None else questions, **options}
    )
    form = await service.create_form(session, data, by=by, moment=service.now())
    if publish:
        await service.publish_form(session, form.id, moment=service.now())
    return form


async def question_ids(session: AsyncSession, form: FeedbackForm) -> list[str]:
    """The form's question ids, in order (the keys of `answers`)."""
    from sqlalchemy import select

    statement = select(FeedbackQuestion.id).where(FeedbackQuestion.form_id == form.id)
    return [str(question_id) for question_id in (await session.scalars(statement.order_by("position"))).all()]


async def respond(
    session: AsyncSession,
    form: FeedbackForm,
    answers: dict[str, Any],
    *,
    user_id: uuid.UUID | None = None,
    device: str | None = None,
    moment: datetime | None = None,
) -> FeedbackResponse:
    return await service.submit_response(
        session,
        form.public_id,
        ResponseCreate(answers=answers),
        respondent=service.Respondent(user_id=user_id, device=device),
        moment=moment or service.now(),
    )
