"""What clients send to and receive from the contact module.

Public on purpose: another module that offers a contact form (a portfolio's "write to the
owner") takes the same `ContactSubmission` and answers the same `ContactReceipt`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    computed_field,
    field_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.auth.schemas import Email
from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.core.text import NOT_BLANK, ONE_LINE_NOT_BLANK, strip_blank

NAME_MAX = 100
SUBJECT_MAX = 200
MESSAGE_MAX = 5000
# The honeypot: a field people never see (the form hides it) and bots fill in.
HONEYPOT_FIELD = "website"

# One line (no CR, LF or other control character: nothing can be smuggled into a mail header).
SenderName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
Subject = Annotated[
    str,
    StringConstraints(min_length=1, max_length=SUBJECT_MAX, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
MessageText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MESSAGE_MAX, pattern=NOT_BLANK),
    AfterValidator(strip_blank),
]
FormToken = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]
ContactStatus = Literal["unhandled", "handled", "spam"]
ContactSort = Literal["created_at", "-created_at"]

MESSAGE_ID = "8c7d6e5f-4a3b-4c2d-9e1f-0a9b8c7d6e5f"
USER_ID = "5d3a9a55-1f0c-4f6e-9b59-2a0a4c1e7b11"
NOW = "2026-11-26T09:30:00.123456Z"
TOKEN_EXAMPLE = "v1.1795944600123.Zm9ybS1zaWduYXR1cmUtZXg"  # noqa: S105 - an example, not a secret

SUBMISSION_EXAMPLE: JsonDict = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "subject": "A question about your engine",
    "message": "Could it compute Bernoulli numbers?",
    "form_token": TOKEN_EXAMPLE,
}
FORM_EXAMPLE: JsonDict = {
    "form_token": TOKEN_EXAMPLE,
    "issued_at": NOW,
    "expires_at": "2026-11-27T09:30:00.123456Z",
    "min_fill_seconds": 3.0,
    "honeypot_field": HONEYPOT_FIELD,
}
RECEIPT_EXAMPLE: JsonDict = {"id": MESSAGE_ID, "received_at": NOW}
MESSAGE_EXAMPLE: JsonDict = {
    "id": MESSAGE_ID,
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "subject": "A question about your engine",
    "message": "Could it compute Bernoulli numbers?",
    "status": "unhandled",
    "spam_reason": None,
    "recipient_user_id": None,
    "sender_user_id": None,
    "notified": "inbox@example.com",
    "client_ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
    "created_at": NOW,
    "handled_at": None,
    "handled_by": None,
}


class ContactSubmission(BaseModel):
    """A message sent through a contact form."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SUBMISSION_EXAMPLE]})

    name: SenderName = Field(description=f"1..{NAME_MAX} characters on one line.")
    email: Email = Field(description="Where the answer goes; checked and normalised like account emails.")
    subject: Subject = Field(description=f"1..{SUBJECT_MAX} characters on one line.")
    message: MessageText = Field(description=f"1..{MESSAGE_MAX} characters.")
    form_token: FormToken = Field(description="The `form_token` of `GET /api/contact/form`, as it came.")
    website: Annotated[str, StringConstraints(max_length=2000)] | SkipJsonSchema[None] = Field(
        default=None,
        description="The honeypot: hide this field from people and leave it empty. A message that "
        "fills it in is answered as usual but stored as spam and mailed to nobody.",
    )


class ContactForm(BaseModel):
    """What a contact form needs before it is shown: a token to send back with it."""

    model_config = ConfigDict(json_schema_extra={"examples": [FORM_EXAMPLE]})

    form_token: str = Field(description="Send it back as `form_token`; signed, and valid until `expires_at`.")
    issued_at: datetime
    expires_at: datetime
    min_fill_seconds: float = Field(
        description="A form sent back sooner than this is taken for a bot's (accepted, stored as spam)."
    )
    honeypot_field: str = Field(description="The field to hide from people and leave empty.")


class ContactReceipt(BaseModel):
    """The answer to every accepted submission, spam included: a bot learns nothing from it."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [RECEIPT_EXAMPLE]})

    id: uuid.UUID = Field(description="The message's reference, also in the acknowledgement mail.")
    received_at: datetime


class ContactMessageRead(BaseModel):
    """A stored message, as staff see it."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [MESSAGE_EXAMPLE]})

    id: uuid.UUID
    name: str
    email: str
    subject: str
    message: str
    spam: bool = Field(exclude=True)
    spam_reason: str | None = Field(
        description="Why it is spam: `honeypot` (filled in), `too_fast` (sent sooner than a person "
        "could), `staff` (marked by hand)."
    )
    recipient_user_id: uuid.UUID | None = Field(
        description="None: the site's inbox; else the account it is for."
    )
    sender_user_id: uuid.UUID | None = Field(description="The account that sent it, when signed in.")
    notified: str | None = Field(description="The address told of it; None when nobody was.")
    client_ip: str | None
    user_agent: str | None
    created_at: datetime
    handled_at: datetime | None
    handled_by: uuid.UUID | None

    @computed_field(description="`spam`, else `handled` or `unhandled`.")  # type: ignore[prop-decorator]
    @property
    def status(self) -> ContactStatus:
        if self.spam:
            return "spam"
        return "handled" if self.handled_at is not None else "unhandled"


class ContactMessagePage(Page[ContactMessageRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [MESSAGE_EXAMPLE], "next_cursor": None}]}
    )


class ContactMessageUpdate(BaseModel):
    """Staff triage: mark handled (or not), mark spam (or not). Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"handled": True}]})

    handled: StrictBool | SkipJsonSchema[None] = Field(
        default=None, description="Handled now, or back to unhandled."
    )
    spam: StrictBool | SkipJsonSchema[None] = Field(
        default=None, description="Spam (kept, out of the inbox) or not. Marking it not spam mails nobody."
    )

    @field_validator("handled", "spam", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value
