"""Contact form data: form tokens as the server issues them, messages made through the service."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sixty.contact import service
from sixty.contact.models import ContactMessage
from sixty.contact.schemas import ContactSubmission
from sixty.core.config import Settings


def policy(settings: Settings) -> service.ContactPolicy:
    return service.ContactPolicy.from_settings(settings)


def form_token(
    settings: Settings, *, age: timedelta = timedelta(seconds=30), at: datetime | None = None
) -> str:
    """A token as `GET /api/contact/form` would have issued it `age` before `at` (default: now):
    a person took that long to fill the form in."""
    moment = (at or service.now()) - age
    return service.issue_form_token(policy(settings), moment=moment).token


def submission(settings: Settings, **fields: object) -> dict[str, object]:
    """A valid JSON body for `POST /api/contact/messages`, with `fields` changed."""
    body: dict[str, object] = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "subject": "A question about your engine",
        "message": "Could it compute Bernoulli numbers?",
        "form_token": form_token(settings),
    }
    body.update(fields)
    return body


async def create_message(
    session: AsyncSession,
    settings: Settings,
    *,
    recipient: service.Recipient | None = None,
    moment: datetime | None = None,
    **fields: object,
) -> ContactMessage:
    moment = moment or service.now()
    fields.setdefault("form_token", form_token(settings, at=moment))
    data = ContactSubmission.model_validate(submission(settings, **fields))
    return await service.submit_message(
        session,
        data,
        policy=policy(settings),
        recipient=recipient or service.site_inbox(policy(settings)),
        sender=service.Sender(ip="203.0.113.7"),
        moment=moment,
    )
