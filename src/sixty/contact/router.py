"""B7 Contact form: `/api/contact`. HTTP only: parse, call the service, shape the response.

Anyone fetches a form token and sends a message (rate limited per address and per sender
email); staff (permission `contact:manage`) read the inbox and triage it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from pydantic.config import JsonDict

from sixty.contact import service
from sixty.contact.schemas import (
    FORM_EXAMPLE,
    HONEYPOT_FIELD,
    MESSAGE_EXAMPLE,
    RECEIPT_EXAMPLE,
    ContactForm,
    ContactMessagePage,
    ContactMessageRead,
    ContactMessageUpdate,
    ContactReceipt,
    ContactSort,
    ContactStatus,
    ContactSubmission,
)
from sixty.contact.service import ContactPolicy
from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ratelimit import check_rate_limit, rate_limit, rate_limit_responses, rate_policy
from sixty.core.routing import module_router
from sixty.core.security import OptionalPrincipal, Principal, require
from sixty.core.text import NO_NUL

router = module_router("/api/contact", "contact")

SUBMIT_PER_IP = rate_policy("contact.submit.ip", "5/10minutes")
# Bounds the mail one address gets (acknowledgements), whoever types it into the form.
SUBMIT_PER_EMAIL = rate_policy("contact.submit.email", "5/hour")

CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
StaffDep = Annotated[Principal, Depends(require(service.MANAGE))]


async def contact_policy(settings: SettingsDep) -> ContactPolicy:
    return ContactPolicy.from_settings(settings)


PolicyDep = Annotated[ContactPolicy, Depends(contact_policy)]


def _ok(example: JsonDict, *statuses: int, code: int = 200) -> dict[int | str, Any]:
    return {code: {"content": {"application/json": {"example": example}}}, **problem_responses(*statuses)}


@router.get(
    "/form",
    summary="Get a contact form token",
    description="What a contact form needs before it is shown: a signed token that dates it (send it "
    "back as `form_token`), the least time a person takes to fill it in, and the honeypot field to hide. "
    "Each call issues a new token; tokens expire after `SIXTY_CONTACT_FORM_TTL`.",
    response_model=ContactForm,
    responses=_ok(FORM_EXAMPLE),
)
async def get_form(response: Response, policy: PolicyDep) -> ContactForm:
    response.headers["Cache-Control"] = "no-store"  # a cached token would date every form alike
    issued = service.issue_form_token(policy, moment=service.now())
    return ContactForm(
        form_token=issued.token,
        issued_at=issued.issued_at,
        expires_at=issued.expires_at,
        min_fill_seconds=policy.min_fill_time.total_seconds(),
        honeypot_field=HONEYPOT_FIELD,
    )


@router.post(
    "/messages",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a message",
    description="Stores the message, tells the site's inbox (`SIXTY_CONTACT_INBOX`) by mail with the "
    "sender as Reply-To, and mails the sender an acknowledgement that quotes nothing they typed. "
    "`form_token` comes from `GET /api/contact/form`: a forged or malformed token is a 422 "
    "(`invalid_form_token`), an expired one too (`expired_form_token`); nothing is stored. A message "
    "whose honeypot field (`website`) is filled in, or that comes back sooner than "
    "`SIXTY_CONTACT_MIN_FILL_TIME` after its form was issued, gets the same 202 but is stored as spam "
    "and mailed to nobody. Name and subject are one line each (no CR/LF: nothing reaches a mail "
    "header). Limited per client address (`contact.submit.ip`) and per sender email "
    "(`contact.submit.email`).",
    response_model=ContactReceipt,
    responses={**_ok(RECEIPT_EXAMPLE, 401, 413, 415, 422, code=202), **rate_limit_responses()},
    dependencies=[rate_limit(SUBMIT_PER_IP)],
)
async def send_message(
    data: ContactSubmission,
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    principal: OptionalPrincipal,
) -> ContactReceipt:
    await check_rate_limit(request, SUBMIT_PER_EMAIL, data.email)  # normalised already
    message = await service.submit_message(
        session,
        data,
        policy=policy,
        recipient=service.site_inbox(policy),
        sender=sender_of(request, principal),
        moment=service.now(),
    )
    return ContactReceipt(id=message.id, received_at=message.created_at)


def sender_of(request: Request, principal: Principal | None) -> service.Sender:
    return service.Sender(
        user_id=principal.user_id if principal else None,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


@router.get(
    "/messages",
    summary="List contact messages",
    description="The site's inbox, newest first (staff: `contact:manage`). `status` keeps `unhandled`, "
    "`handled` or `spam` messages; without it, every message that is not spam. `q` finds text in "
    "the name, email, subject or message (case-insensitive). Cursor-paginated.",
    response_model=ContactMessagePage,
    responses=_ok({"items": [MESSAGE_EXAMPLE], "next_cursor": None}, 401, 403, 422),
)
async def list_messages(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    _: StaffDep,
    status_filter: Annotated[
        ContactStatus | None, Query(alias="status", description="unhandled, handled or spam.")
    ] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    sort: Annotated[ContactSort, Query(description="Sort key; `-` prefix for descending.")] = "-created_at",
) -> ContactMessagePage:
    rows, next_cursor = await service.list_messages(
        reader, params=page, codec=codec, status=status_filter, q=q, sort=sort
    )
    return ContactMessagePage.model_validate({"items": rows, "next_cursor": next_cursor})


@router.get(
    "/messages/{message_id}",
    summary="Read a contact message",
    description="One message of the site's inbox, spam included (staff).",
    response_model=ContactMessageRead,
    responses=_ok(MESSAGE_EXAMPLE, 401, 403, 404, 422),
)
async def get_message(message_id: uuid.UUID, reader: ReaderDep, _: StaffDep) -> ContactMessageRead:
    return ContactMessageRead.model_validate(await service.read_message(reader, message_id))


@router.patch(
    "/messages/{message_id}",
    summary="Triage a contact message",
    description="`handled: true` marks it handled (by the caller, now), `false` back to unhandled; "
    "`spam: true` moves it to spam, `false` back to the inbox (no mail is sent then). Fields left out "
    "stay as they are (staff).",
    response_model=ContactMessageRead,
    responses=_ok({**MESSAGE_EXAMPLE, "status": "handled"}, 401, 403, 404, 413, 415, 422),
)
async def update_message(
    message_id: uuid.UUID, data: ContactMessageUpdate, session: SessionDep, staff: StaffDep
) -> ContactMessageRead:
    message = await service.update_message(session, message_id, data, by=staff.user_id, moment=service.now())
    return ContactMessageRead.model_validate(message)
