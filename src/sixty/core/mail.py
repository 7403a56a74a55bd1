"""Mail: queued in the caller's transaction, delivered by a job after commit.

- `queue_mail(session, to=..., subject=..., text=..., html=None)` checks the
  message at once (a header injection is a `ValueError` in the caller, never a
  failing job) and enqueues a `mail.send` job: the mail leaves only if the
  transaction commits, and is dropped when it rolls back.
- The job delivers through the configured `Mailer`: `OutboxMailer`, the embedded
  default, stores the message in the `mail_outbox` table (read with
  `list_outbox` for the admin listing and `latest_outbox_messages` in tests);
  `SMTPMailer` sends it with aiosmtplib.
- One recipient per message. Mail from the platform is personal (links, codes,
  unsubscribe tokens), a single recipient keeps delivery all-or-nothing, and the
  outbox can be searched by address.
- Failures: the server's reply code decides (RFC 5321 4.2.1). A 5xx is
  permanent: the job is buried at once (`PermanentJobError`). A 4xx, a timeout or
  a lost connection raises, and the Worker retries with backoff up to
  `SIXTY_JOBS_MAX_ATTEMPTS`.
- `mail.purge` deletes outbox messages older than `SIXTY_MAIL_OUTBOX_RETENTION_DAYS`.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from functools import cache
from typing import Any, Protocol

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import JSON, Index, String, Text, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.config import MailBackend, Settings, SmtpTls
from sixty.core.db import Database
from sixty.core.jobs import JobContext, PermanentJobError, enqueue, registry
from sixty.core.models import Base, utcnow
from sixty.core.pagination import CursorCodec, Page, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader

logger = logging.getLogger("sixty.mail")

SEND_JOB = "mail.send"
PURGE_JOB = "mail.purge"

MAX_ADDRESS = 254  # RFC 5321 4.5.3.1.3: the longest path
MAX_HEADER = 998  # RFC 5322 2.1.1: the longest line
# Whatever str.splitlines() breaks on, NUL included: the email package refuses these in
# headers (some only when the job runs), and PostgreSQL cannot store NUL in text.
_LINE_BREAK_OR_NUL = re.compile(r"[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
# Set from the message's own fields, or changing where it goes: `headers=` may not set them.
_RESERVED_HEADERS = frozenset(
    {
        "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
        "mime-version", "auto-submitted", "return-path", "received",
    }
)  # fmt: skip
_RESERVED_PREFIXES = ("content-", "resent-")


# --- the message ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One message to one recipient, as queued: plain values, so it travels as a job payload."""

    to: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)

    def payload(self) -> dict[str, Any]:
        """JSON-ready, for the database job backend."""
        return {
            "id": str(self.id),
            "created_at": self.created_at.isoformat(),
            "to": self.to,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "reply_to": self.reply_to,
            "headers": dict(self.headers),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Mail:
        return cls(
            id=uuid.UUID(payload["id"]),
            created_at=datetime.fromisoformat(payload["created_at"]),
            to=payload["to"],
            subject=payload["subject"],
            text=payload["text"],
            html=payload["html"],
            reply_to=payload["reply_to"],
            headers=payload["headers"],
        )


def _one_line(what: str, value: str, *, limit: int = MAX_HEADER) -> str:
    if _LINE_BREAK_OR_NUL.search(value):
        raise ValueError(f"{what} contains a line break or NUL (header injection refused): {value!r}")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return value


def check_address(value: str, *, what: str = "address") -> str:
    """`value` as a bare ASCII address (`ada@example.com`); ValueError when it is not one."""
    _one_line(what, value, limit=MAX_ADDRESS)
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError):  # the email package's parser raises these
        raise ValueError(f"{what} is not a mail address: {value!r}") from None
    if not address.username or not address.domain or address.addr_spec != value:
        raise ValueError(f"{what} is not a bare mail address: {value!r}")
    return value


def check_mail(mail: Mail) -> Mail:
    """Refuse what cannot be sent safely, before it is queued."""
    check_address(mail.to, what="to")
    if mail.reply_to is not None:
        check_address(mail.reply_to, what="reply_to")
    _one_line("subject", mail.subject)
    for what, body in (("text", mail.text), ("html", mail.html or "")):
        if "\x00" in body:
            raise ValueError(f"{what} contains NUL")
    for name, value in mail.headers.items():
        if not _HEADER_NAME.fullmatch(name) or len(name) > 76:
            raise ValueError(f"not a header name: {name!r}")
        if name.lower() in _RESERVED_HEADERS or name.lower().startswith(_RESERVED_PREFIXES):
            raise ValueError(f"header {name!r} is set from the message's own fields")
        _one_line(f"header {name}", value)
    return mail


class EncodedTextHeader(UnstructuredHeader, BaseHeader):
    """Unstructured text (Subject, extra headers) encoded per RFC 2047 by `email.header`.

    The folding of `email.policy.default` can put a space of the text between two
    encoded words, where decoders drop it ("gracias! 你好" arrives as "gracias!你好";
    CPython gh-144156); the `email.header` encoder keeps every space inside the words.
    """

    def fold(self, *, policy: Policy) -> str:
        if str(self).isascii() or getattr(policy, "utf8", False):
            return super().fold(policy=policy)
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


_HEADERS = HeaderRegistry(default_class=EncodedTextHeader)
_HEADERS.map_to_type("subject", EncodedTextHeader)
_POLICY = email.policy.default.clone(header_factory=_HEADERS)


def message_id(mail_id: uuid.UUID, sender: str) -> str:
    """Derived from the mail's id, so every retry of a delivery sends the same Message-ID."""
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2]
    return f"<{mail_id.hex}@{domain}>"


def build_message(mail: Mail, *, sender: str) -> EmailMessage:
    """The RFC 5322 message: text/plain, or multipart/alternative when there is html."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = mail.to
    if mail.reply_to is not None:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = mail.subject  # encoded per RFC 2047 when not ASCII
    message["Date"] = email.utils.format_datetime(mail.created_at)
    message["Message-ID"] = message_id(mail.id, sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    for name, value in mail.headers.items():
        message[name] = value
    # Quoted-printable keeps every body 7-bit clean with short lines: any relay takes it as is.
    message.set_content(mail.text, cte="quoted-printable")
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    return message


def queue_mail(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Mail:
    """Queue a mail to `to`; it is delivered after `session`'s transaction commits.

    `text` is the plain body (always sent); `html` adds an HTML alternative. `headers`
    adds headers such as `List-Unsubscribe`. ValueError, with nothing queued, for a
    line break in a header, a bad address or a NUL anywhere.
    """
    mail = check_mail(
        Mail(to=to, subject=subject, text=text, html=html, reply_to=reply_to, headers=dict(headers or {}))
    )
    enqueue(session, SEND_JOB, **mail.payload())
    return mail


# --- the outbox -----------------------------------------------------------------------------------


class OutboxMessage(Base):
    """A mail as the outbox backend delivered it (embedded default)."""

    __tablename__ = "mail_outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(MAX_HEADER))
    sender: Mapped[str] = mapped_column(String(MAX_HEADER))
    recipient: Mapped[str] = mapped_column(String(MAX_ADDRESS))
    reply_to: Mapped[str | None] = mapped_column(String(MAX_ADDRESS))
    subject: Mapped[str] = mapped_column(String(MAX_HEADER))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_mail_outbox_created_at_id", "created_at", "id"),
        Index("ix_mail_outbox_recipient_created_at_id", "recipient", "created_at", "id"),
    )


OUTBOX_EXAMPLE: JsonDict = {
    "id": "5f0c6d1e-8a3b-4c7e-9f21-6b2d8e4a1c90",
    "message_id": "<5f0c6d1e8a3b4c7e9f216b2d8e4a1c90@example.com>",
    "sender": "Sixty <no-reply@example.com>",
    "to": "ada@example.com",
    "reply_to": None,
    "subject": "Confirm your address",
    "text": "Open this link to confirm your address: https://example.com/verify?token=...",
    "html": None,
    "headers": {},
    "created_at": "2026-11-26T09:30:00.123456Z",
}


class OutboxMessageRead(BaseModel):
    """A mail in the outbox, newest first in listings."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [OUTBOX_EXAMPLE]})

    id: uuid.UUID
    message_id: str = Field(description="The Message-ID header.")
    sender: str = Field(description="The From header.")
    to: str = Field(description="The one recipient.")
    reply_to: str | None
    subject: str
    text: str = Field(description="The plain-text body.")
    html: str | None = Field(description="The HTML alternative, when the mail has one.")
    headers: dict[str, str] = Field(description="Extra headers, such as List-Unsubscribe.")
    created_at: datetime = Field(description="When the mail was queued (its Date header).")


class OutboxPage(Page[OutboxMessageRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [OUTBOX_EXAMPLE], "next_cursor": None}]}
    )


NEWEST_FIRST = sort_keys(OutboxMessage.id, created_at=OutboxMessage.created_at)["-created_at"]
OUTBOX_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.message_id,
    OutboxMessage.sender,
    OutboxMessage.recipient.label("to"),
    OutboxMessage.reply_to,
    OutboxMessage.subject,
    OutboxMessage.text,
    OutboxMessage.html,
    OutboxMessage.headers,
    OutboxMessage.created_at,
)


@cache
def _outbox_statement(to: bool, after: bool) -> AnySelect:
    statement = select(*OUTBOX_COLUMNS)
    if to:
        statement = statement.where(OutboxMessage.recipient == bindparam("to", type_=String()))
    return keyset_page(statement, NEWEST_FIRST, after=after)


async def list_outbox(
    reader: Reader, *, params: PageParams, codec: CursorCodec, to: str | None = None
) -> OutboxPage:
    """One page of the outbox, newest first; `to` keeps only the mail to that address."""
    filters = {"to": to} if to is not None else {}
    rows, next_cursor = await paginate(
        reader,
        lambda after: _outbox_statement(to is not None, after),
        sort=NEWEST_FIRST,
        params=params,
        codec=codec,
        **filters,
    )
    return OutboxPage.model_validate({"items": rows, "next_cursor": next_cursor})


async def latest_outbox_messages(reader: Reader, *, to: str, limit: int = 10) -> list[OutboxMessageRead]:
    """The newest mail to `to`, newest first (tests read links and codes out of it)."""
    rows = await reader.all(_outbox_statement(True, False), to=to, limit=limit)
    return [OutboxMessageRead.model_validate(row) for row in rows]


async def purge_outbox(db: Database, *, older_than: datetime) -> int:
    """Delete outbox messages queued before `older_than`; returns how many."""
    async with db.session() as session, session.begin():
        result = await session.execute(delete(OutboxMessage).where(OutboxMessage.created_at < older_than))
    return int(getattr(result, "rowcount", 0) or 0)


# --- delivery -------------------------------------------------------------------------------------


class Mailer(Protocol):
    async def deliver(self, mail: Mail) -> None: ...


class OutboxMailer:
    """Stores each mail in `mail_outbox` (the embedded default: nothing leaves the machine)."""

    def __init__(self, db: Database, *, sender: str) -> None:
        self.db = db
        self.sender = sender

    async def deliver(self, mail: Mail) -> None:
        async with self.db.session() as session, session.begin():
            # A job can run twice (a worker died after delivering): store the mail once.
            if await session.get(OutboxMessage, mail.id) is not None:
                return
            session.add(
                OutboxMessage(
                    id=mail.id,
                    message_id=message_id(mail.id, self.sender),
                    sender=self.sender,
                    recipient=mail.to,
                    reply_to=mail.reply_to,
                    subject=mail.subject,
                    text=mail.text,
                    html=mail.html,
                    headers=dict(mail.headers),
                    created_at=mail.created_at,
                )
            )


class SMTPMailer:
    """Sends each mail over SMTP, one connection per mail."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def deliver(self, mail: Mail) -> None:
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                build_message(mail, sender=settings.mail_from),
                # The envelope, given rather than read back from the headers.
                sender=email.utils.parseaddr(settings.mail_from)[1],
                recipients=[mail.to],
                hostname=settings.smtp_host,
                port=settings.smtp_port,  # None: aiosmtplib picks 465, 587 or 25 from the TLS mode
                username=settings.smtp_username,
                password=password,
                use_tls=settings.smtp_tls is SmtpTls.tls,
                # Never opportunistic: with `starttls` the mail is not sent in the clear.
                start_tls=settings.smtp_tls is SmtpTls.starttls,
                timeout=settings.smtp_timeout,
                cert_bundle=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            )
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise PermanentJobError(f"SMTP server refused the mail: {exc.code} {exc.message}") from exc
            raise
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(refused.code >= 500 for refused in exc.recipients):
                refusals = "; ".join(f"{refused.code} {refused.message}" for refused in exc.recipients)
                raise PermanentJobError(f"SMTP server refused the recipient: {refusals}") from exc
            raise


def create_mailer(settings: Settings, db: Database) -> Mailer:
    if settings.mail_backend is MailBackend.smtp:
        return SMTPMailer(settings)
    return OutboxMailer(db, sender=settings.mail_from)


@registry.task(SEND_JOB)
async def send_mail_job(ctx: JobContext, **payload: Any) -> None:
    mail = Mail.from_payload(payload)
    await create_mailer(ctx.settings, ctx.db).deliver(mail)
    logger.info("mail delivered", extra={"mail_id": str(mail.id), "backend": ctx.settings.mail_backend.value})


@registry.task(PURGE_JOB, every=timedelta(hours=1))
async def purge_outbox_job(ctx: JobContext) -> None:
    """Delete outbox messages past the retention period (the SMTP backend writes none)."""
    if ctx.settings.mail_backend is MailBackend.outbox:
        cutoff = utcnow() - timedelta(days=ctx.settings.mail_outbox_retention_days)
        removed = await purge_outbox(ctx.db, older_than=cutoff)
        logger.info("purged the mail outbox", extra={"removed": removed})
