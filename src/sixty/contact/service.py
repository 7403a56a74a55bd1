"""B7 contact form: the logic. No HTTP here; the caller's unit of work commits.

Two guards against bots, both silent: a message that fills in the honeypot field, or comes
back sooner after its form was fetched than a person could type it, is stored as spam and
mailed to nobody, with the same answer as any other (a bot that learns which guard caught
it learns to get past it). The form token is what dates the form: `issue_form_token` signs
the moment it was issued with a key derived from the app secret; a token that is forged,
malformed or expired is refused with a 422 (a person with a stale page reloads it).

A message goes to the site's inbox (`SIXTY_CONTACT_INBOX`) by default, or to one account
(`recipient_for_user`), which is how another module offers "write to the owner" without a
contact form of its own. Both mails, the notification and the sender's acknowledgement, are
queued in the caller's transaction and leave only if it commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.contact.models import ContactMessage
from sixty.contact.schemas import ContactMessageUpdate, ContactSort, ContactStatus, ContactSubmission
from sixty.core import mail
from sixty.core.config import Settings
from sixty.core.errors import InvalidField, NotFound, invalid_fields
from sixty.core.i18n import N_, _, translations
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row

logger = logging.getLogger("sixty.contact")

MANAGE = "contact:manage"
FORMAT_VERSION = "v1"  # the first part of a form token
USER_AGENT_MAX = 300


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ContactPolicy:
    """The contact form's rules, from settings (`SIXTY_CONTACT_*`)."""

    key: bytes  # signs form tokens; derived from the app secret
    min_fill_time: timedelta
    form_ttl: timedelta
    inbox: str | None
    acknowledge: bool
    staff_locale: str  # the language of notifications (the sender's is not the staff's)

    @classmethod
    def from_settings(cls, settings: Settings) -> ContactPolicy:
        return cls(
            key=hashlib.sha256(b"sixty.contact.form:" + settings.secret_key.encode()).digest(),
            min_fill_time=settings.contact_min_fill_time,
            form_ttl=settings.contact_form_ttl,
            inbox=settings.contact_inbox,
            acknowledge=settings.contact_acknowledge,
            staff_locale=settings.default_locale,
        )


@dataclass(frozen=True)
class Recipient:
    """Who a message is for: the site's inbox (`user_id` None), or one account."""

    email: str | None
    user_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Sender:
    """Where a message came from, as the request tells it."""

    user_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None


def site_inbox(policy: ContactPolicy) -> Recipient:
    return Recipient(email=policy.inbox)


async def recipient_for_user(session: AsyncSession, user_id: uuid.UUID) -> Recipient:
    """A message to an account (404 when there is none): it is told at its own address."""
    user = await auth_service.get_user(session, user_id)
    return Recipient(email=user.email, user_id=user.id)


# --- the form token ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedForm:
    token: str
    issued_at: datetime
    expires_at: datetime


def _signature(policy: ContactPolicy, payload: str) -> str:
    digest = hmac.new(policy.key, payload.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_form_token(policy: ContactPolicy, *, moment: datetime) -> IssuedForm:
    """A token that dates the form: `v1.<issued, ms since the epoch>.<HMAC>`."""
    payload = f"{FORMAT_VERSION}.{int(moment.timestamp() * 1000)}"
    return IssuedForm(f"{payload}.{_signature(policy, payload)}", moment, moment + policy.form_ttl)


def _bad_token(kind: str, message: str) -> Exception:
    return invalid_fields([InvalidField(("body", "form_token"), kind, message)])


def form_age(policy: ContactPolicy, token: str, *, moment: datetime) -> timedelta:
    """How long ago the form of `token` was issued; a 422 when the token is forged or expired."""
    version, _dot, rest = token.partition(".")
    issued, _dot, signature = rest.partition(".")
    expected = _signature(policy, f"{version}.{issued}")
    if version != FORMAT_VERSION or not issued.isdigit() or not hmac.compare_digest(expected, signature):
        raise _bad_token("invalid_form_token", N_("The form token is invalid; reload the form."))
    try:
        issued_at = datetime.fromtimestamp(int(issued) / 1000, UTC)
    except (OverflowError, ValueError, OSError):  # only a token we signed gets here: never
        raise _bad_token("invalid_form_token", N_("The form token is invalid; reload the form.")) from None
    age = moment - issued_at
    if age > policy.form_ttl or age < -timedelta(seconds=5):  # (a little clock drift between workers)
        raise _bad_token("expired_form_token", N_("The form has expired; reload it and send it again."))
    return age


def spam_reason(data: ContactSubmission, *, age: timedelta, policy: ContactPolicy) -> str | None:
    if data.website and data.website.strip():
        return "honeypot"
    if age < policy.min_fill_time:
        return "too_fast"
    return None


# --- submitting -------------------------------------------------------------------------------


def _search_text(data: ContactSubmission) -> str:
    return "\n".join(part.casefold() for part in (data.name, data.email, data.subject, data.message))


def _mailable(address: str) -> bool:
    """Whether mail can be addressed to `address` as is (an internationalised local part,
    `josé@example.com`, cannot be without SMTPUTF8; such a sender gets no acknowledgement)."""
    try:
        mail.check_address(address)
    except ValueError:
        return False
    return True


async def submit_message(
    session: AsyncSession,
    data: ContactSubmission,
    *,
    policy: ContactPolicy,
    recipient: Recipient,
    sender: Sender,
    moment: datetime,
) -> ContactMessage:
    """Store a message for `recipient`; unless it is spam, tell the recipient and acknowledge it
    to the sender (both mails after commit). A 422 for a bad form token, nothing stored."""
    age = form_age(policy, data.form_token, moment=moment)
    reason = spam_reason(data, age=age, policy=policy)
    message = ContactMessage(
        name=data.name,
        email=data.email,
        subject=data.subject,
        message=data.message,
        search_text=_search_text(data),
        recipient_user_id=recipient.user_id,
        sender_user_id=sender.user_id,
        spam=reason is not None,
        spam_reason=reason,
        client_ip=sender.ip,
        user_agent=sender.user_agent[:USER_AGENT_MAX] if sender.user_agent else None,
        created_at=moment,
    )
    session.add(message)
    await session.flush()
    if reason is not None:
        logger.info("contact message held as spam", extra={"message_id": str(message.id), "reason": reason})
        return message
    if recipient.email is not None:
        _notify(session, message, to=recipient.email, policy=policy)
        message.notified = recipient.email
    if policy.acknowledge and _mailable(message.email):
        _acknowledge(session, message)
    await session.flush()
    return message


NOTIFICATION_SUBJECT = N_("[Contact] {subject}")
NOTIFICATION_TEXT = N_(
    "A message came through the contact form.\n\n"
    "From: {name} <{email}>\n"
    "Subject: {subject}\n"
    "Received: {received} UTC\n"
    "Reference: {id}\n\n"
    "{message}\n\n"
    "Reply to this mail to answer the sender."
)


def _notify(session: AsyncSession, message: ContactMessage, *, to: str, policy: ContactPolicy) -> None:
    """The message, to the people who answer it, in the site's language; replies go to the sender."""
    staff = translations(policy.staff_locale).ugettext
    mail.queue_mail(
        session,
        to=to,
        subject=staff(NOTIFICATION_SUBJECT).format(subject=message.subject),
        text=staff(NOTIFICATION_TEXT).format(
            name=message.name,
            email=message.email,
            subject=message.subject,
            received=message.created_at.strftime("%Y-%m-%d %H:%M"),
            id=message.id,
            message=message.message,
        ),
        reply_to=message.email if _mailable(message.email) else None,
    )


def _acknowledge(session: AsyncSession, message: ContactMessage) -> None:
    """A fixed text in the sender's language that quotes nothing they typed: anyone can put
    anyone's address in the form, and the acknowledgement must not carry their words to it."""
    mail.queue_mail(
        session,
        to=message.email,
        subject=_("We received your message"),
        text=_(
            "Hello,\n\nThank you for writing to us. We received your message and will answer as "
            "soon as we can.\n\nReference: {id}\n\nIf you did not write to us, you can ignore this mail."
        ).format(id=message.id),
    )


# --- staff: the inbox -------------------------------------------------------------------------

MESSAGE_COLUMNS = (
    ContactMessage.id,
    ContactMessage.name,
    ContactMessage.email,
    ContactMessage.subject,
    ContactMessage.message,
    ContactMessage.spam,
    ContactMessage.spam_reason,
    ContactMessage.recipient_user_id,
    ContactMessage.sender_user_id,
    ContactMessage.notified,
    ContactMessage.client_ip,
    ContactMessage.user_agent,
    ContactMessage.created_at,
    ContactMessage.handled_at,
    ContactMessage.handled_by,
)
MESSAGE_SORTS = sort_keys(ContactMessage.id, created_at=ContactMessage.created_at)


def _for_recipient(statement: AnySelect, personal: bool) -> AnySelect:
    if personal:
        return statement.where(ContactMessage.recipient_user_id == bindparam("recipient_user_id"))
    return statement.where(ContactMessage.recipient_user_id.is_(None))


@cache
def _message_statement(personal: bool) -> AnySelect:
    return _for_recipient(
        select(*MESSAGE_COLUMNS).where(ContactMessage.id == bindparam("message_id")), personal
    )


@cache
def _messages_statement(
    personal: bool, status: ContactStatus | None, search: bool, sort: ContactSort, after: bool
) -> AnySelect:
    statement = _for_recipient(select(*MESSAGE_COLUMNS), personal)
    if status == "spam":
        statement = statement.where(ContactMessage.spam.is_(True))
    else:
        statement = statement.where(ContactMessage.spam.is_(False))
    if status == "handled":
        statement = statement.where(ContactMessage.handled_at.is_not(None))
    elif status == "unhandled":
        statement = statement.where(ContactMessage.handled_at.is_(None))
    if search:
        statement = statement.where(
            ContactMessage.search_text.like(bindparam("pattern", type_=String()), escape="\\")
        )
    return keyset_page(statement, MESSAGE_SORTS[sort], after=after)


def _search_pattern(q: str) -> str:
    """A LIKE pattern matching the case-folded `q` literally anywhere (its % and _ escaped)."""
    escaped = q.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_messages(
    reader: Reader,
    *,
    params: PageParams,
    codec: CursorCodec,
    recipient_user_id: uuid.UUID | None = None,
    status: ContactStatus | None = None,
    q: str | None = None,
    sort: ContactSort = "-created_at",
) -> tuple[list[Row], str | None]:
    """Messages to the site's inbox, or to `recipient_user_id`; without `status`, all but spam."""
    values: dict[str, Any] = {}
    if recipient_user_id is not None:
        values["recipient_user_id"] = recipient_user_id
    if q:
        values["pattern"] = _search_pattern(q)
    return await paginate(
        reader,
        lambda after: _messages_statement(recipient_user_id is not None, status, bool(q), sort, after),
        sort=MESSAGE_SORTS[sort],
        params=params,
        codec=codec,
        **values,
    )


def message_not_found(message_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Message {id} was not found."), id=str(message_id))


async def read_message(
    reader: Reader, message_id: uuid.UUID, *, recipient_user_id: uuid.UUID | None = None
) -> Row:
    row = await reader.one(
        _message_statement(recipient_user_id is not None),
        message_id=message_id,
        recipient_user_id=recipient_user_id,
    )
    if row is None:
        raise message_not_found(message_id)
    return row


async def update_message(
    session: AsyncSession,
    message_id: uuid.UUID,
    data: ContactMessageUpdate,
    *,
    by: uuid.UUID,
    moment: datetime,
    recipient_user_id: uuid.UUID | None = None,
) -> ContactMessage:
    """Triage: handled or not (who and when), spam or not. Another inbox's message is a 404.
    Nothing is mailed: a message freed from spam is read here, not announced again."""
    message = await session.get(ContactMessage, message_id)
    if message is None or message.recipient_user_id != recipient_user_id:
        raise message_not_found(message_id)
    if data.handled is not None and data.handled != (message.handled_at is not None):
        message.handled_at, message.handled_by = (moment, by) if data.handled else (None, None)
    if data.spam is not None and data.spam != message.spam:
        message.spam = data.spam
        message.spam_reason = "staff" if data.spam else None
    await session.flush()
    return message
