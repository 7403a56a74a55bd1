"""Mail: queued after commit only, stored in the outbox or sent to a real (local) SMTP server."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import socket
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from sixty.core.config import JobsBackend, MailBackend, Settings, SmtpTls
from sixty.core.db import Database, unit_of_work
from sixty.core.jobs import DatabaseBackend, Job, MemoryBackend, Worker, create_backend, registry
from sixty.core.mail import (
    PURGE_JOB,
    SEND_JOB,
    Mail,
    OutboxMailer,
    OutboxMessage,
    OutboxMessageRead,
    OutboxPage,
    SMTPMailer,
    build_message,
    check_mail,
    create_mailer,
    latest_outbox_messages,
    list_outbox,
    purge_outbox,
    queue_mail,
)
from sixty.core.models import Base, utcnow
from sixty.core.pagination import CursorCodec, PageParams
from sixty.modules import import_all_models
from tests.conftest import TEST_SECRET
from tests.factories.mail import run_due_jobs, sent_mail

ADA = "ada@example.com"
SENDER = "Sixty <no-reply@example.com>"


@pytest.fixture
def outbox_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"jobs_backend": JobsBackend.memory, "mail_backend": MailBackend.outbox, "mail_from": SENDER}
    )


@pytest.fixture
def memory_backend(outbox_settings: Settings, db: Database) -> MemoryBackend:
    backend = create_backend(outbox_settings, db)
    assert isinstance(backend, MemoryBackend)
    return backend


@pytest.fixture
def worker(memory_backend: MemoryBackend, outbox_settings: Settings, db: Database) -> Worker:
    return Worker(memory_backend, db=db, settings=outbox_settings)


async def commit_mail(db: Database, **fields: Any) -> Mail:
    """Queue one mail in a session that commits (a request that succeeded)."""
    async with db.session() as session:
        mail = queue_mail(session, **{"to": ADA, "subject": "Hello", "text": "Hi Ada", **fields})
        await session.commit()
    return mail


async def outbox_count(db: Database) -> int:
    async with db.session() as session:
        return int((await session.scalar(select(func.count()).select_from(OutboxMessage))) or 0)


def mail_job(**fields: Any) -> Job:
    mail = check_mail(Mail(**{"to": ADA, "subject": "Hello", "text": "Hi Ada", **fields}))
    return Job(name=SEND_JOB, payload=mail.payload())


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def content(part: EmailMessage) -> str:
    """A decoded body, with the wire's CRLF line ends read as newlines."""
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def flatten(message: EmailMessage) -> bytes:
    """The bytes an SMTP client sends (CRLF line ends, non-ASCII headers encoded)."""
    return message.as_bytes(policy=email.policy.SMTP)


# --- queued after commit, delivered to the outbox by the job --------------------------------------


async def test_a_committed_mail_is_delivered_to_the_outbox_by_the_job(
    memory_backend: MemoryBackend, worker: Worker, db: Database
) -> None:
    async with db.session() as session:
        mail = queue_mail(
            session,
            to=ADA,
            subject="Confirm your address",
            text="Open https://x.test/v?t=1",
            html="<p>Hi</p>",
        )
        await session.flush()
        assert memory_backend.queue.empty()  # not before commit
        await session.commit()
    assert await outbox_count(db) == 0  # queued, not delivered yet

    job = await memory_backend.claim(0.1)
    assert job is not None
    assert job.name == SEND_JOB
    assert await worker.run_one(job) is True

    [stored] = await latest_outbox_messages(db.reader, to=ADA)
    assert stored == OutboxMessageRead(
        id=mail.id,
        message_id=f"<{mail.id.hex}@example.com>",
        sender=SENDER,
        to=ADA,
        reply_to=None,
        subject="Confirm your address",
        text="Open https://x.test/v?t=1",
        html="<p>Hi</p>",
        headers={},
        created_at=mail.created_at,
    )
    assert stored.created_at.tzinfo is not None


async def test_a_rolled_back_mail_is_never_delivered(
    memory_backend: MemoryBackend, outbox_settings: Settings, db: Database
) -> None:
    async with db.session() as session:
        queue_mail(session, to=ADA, subject="Welcome", text="Hi")
        await session.rollback()
    assert memory_backend.queue.empty()
    assert await run_due_jobs(db, outbox_settings) == 0
    assert await outbox_count(db) == 0


async def failing_request(db: Database) -> None:
    """A request's unit of work whose endpoint queues a mail, then raises."""
    async with unit_of_work(db.session()) as session:
        queue_mail(session, to=ADA, subject="Welcome", text="Hi")
        raise RuntimeError("the endpoint failed")


async def test_a_failed_request_drops_its_mail(
    memory_backend: MemoryBackend, outbox_settings: Settings, db: Database
) -> None:
    with pytest.raises(RuntimeError, match="endpoint failed"):
        await failing_request(db)
    assert memory_backend.queue.empty()
    assert await run_due_jobs(db, outbox_settings) == 0
    assert await outbox_count(db) == 0


async def test_mail_travels_through_the_database_job_backend(outbox_settings: Settings, db: Database) -> None:
    settings = outbox_settings.model_copy(update={"jobs_backend": JobsBackend.database})
    backend = create_backend(settings, db)
    assert isinstance(backend, DatabaseBackend)
    mail = await commit_mail(db, html="<b>é</b>", reply_to="help@example.com", headers={"X-Tag": "t1"})

    # The payload went through a JSON column and comes back as the same mail.
    job = await backend.claim(0.01)
    assert job is not None
    assert Mail.from_payload(job.payload) == mail
    assert await Worker(backend, db=db, settings=settings).run_one(job) is True
    [stored] = await latest_outbox_messages(db.reader, to=ADA)
    assert (stored.id, stored.html, stored.reply_to, stored.headers) == (
        mail.id,
        "<b>é</b>",
        "help@example.com",
        {"X-Tag": "t1"},
    )


async def test_a_job_that_runs_twice_stores_the_mail_once(worker: Worker, db: Database) -> None:
    job = mail_job()
    assert await worker.run_one(job) is True
    again = Job(name=job.name, payload=job.payload)  # a worker died after delivering, say
    assert await worker.run_one(again) is True
    assert await outbox_count(db) == 1


async def test_sent_mail_runs_what_a_request_queued(app: FastAPI, settings: Settings, db: Database) -> None:
    # The app binds its own jobs backend to `db`; the helper runs what is queued there.
    first = await commit_mail(db, subject="First")
    second = await commit_mail(db, subject="Second")
    await commit_mail(db, to="bob@example.com")
    messages = await sent_mail(db, settings, to=ADA)
    assert [message.id for message in messages] == [second.id, first.id]  # newest first
    assert [message.subject for message in messages] == ["Second", "First"]
    assert await run_due_jobs(db, settings) == 0  # nothing left
    assert [m.id for m in await latest_outbox_messages(db.reader, to=ADA, limit=1)] == [second.id]


async def test_run_due_jobs_needs_a_jobs_backend(settings: Settings, db: Database) -> None:
    with pytest.raises(RuntimeError, match="no jobs backend"):
        await run_due_jobs(db, settings)


# --- refused before anything is queued -----------------------------------------------------------

BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("line break in subject", {"subject": "Hi\r\nBcc: eve@example.com"}),
    ("newline in subject", {"subject": "Hi\nthere"}),
    ("unicode line separator in subject", {"subject": "Hi\u2028there"}),
    ("NUL in subject", {"subject": "Hi\x00"}),
    ("overlong subject", {"subject": "x" * 999}),
    ("line break in to", {"to": "ada@example.com\r\nBcc: eve@example.com"}),
    ("two recipients", {"to": "ada@example.com, eve@example.com"}),
    ("display name in to", {"to": "Ada <ada@example.com>"}),
    ("no domain", {"to": "ada"}),
    ("empty local part", {"to": "@example.com"}),
    ("two at signs", {"to": "ada@b@example.com"}),
    ("surrounding blanks", {"to": " ada@example.com"}),
    ("non-ASCII address", {"to": "josé@example.com"}),
    ("overlong address", {"to": "a" * 250 + "@example.com"}),
    ("line break in reply_to", {"reply_to": "ada@example.com\nBcc: eve@example.com"}),
    ("bad reply_to", {"reply_to": "not an address"}),
    ("NUL in text", {"text": "Hi\x00"}),
    ("NUL in html", {"html": "<p>\x00</p>"}),
    ("line break in a header value", {"headers": {"List-Unsubscribe": "<https://x>\r\nBcc: eve@x"}}),
    ("colon in a header name", {"headers": {"X-A: b\r\nBcc": "eve@example.com"}}),
    ("blank header name", {"headers": {"": "x"}}),
    ("header overriding a field", {"headers": {"bcc": "eve@example.com"}}),
    ("header overriding the sender", {"headers": {"From": "eve@example.com"}}),
    ("MIME header", {"headers": {"Content-Disposition": "attachment"}}),
    ("resent header", {"headers": {"Resent-To": "eve@example.com"}}),
]


@pytest.mark.parametrize("fields", [fields for _, fields in BAD_FIELDS], ids=[name for name, _ in BAD_FIELDS])
async def test_unsafe_mail_is_refused_before_it_is_queued(
    fields: dict[str, Any], memory_backend: MemoryBackend, db: Database
) -> None:
    async with db.session() as session:
        with pytest.raises(ValueError, match=r"\S"):
            queue_mail(session, **{"to": ADA, "subject": "Hi", "text": "Hi", **fields})
        await session.commit()
    assert memory_backend.queue.empty()


def test_header_injection_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="header injection"):
        check_mail(Mail(to=ADA, subject="a\r\nBcc: eve@example.com", text=""))


def test_acceptable_unusual_mail_is_not_refused() -> None:
    mail = Mail(
        to='"ada lovelace"@[192.0.2.1]',
        subject="",
        text="",
        html="",
        headers={"List-Unsubscribe": "<https://example.com/u/1>", "X-Campaign-Id": "42"},
    )
    assert check_mail(mail) is mail


# --- the message ---------------------------------------------------------------------------------


def test_a_text_message_has_every_header_and_is_7bit_clean() -> None:
    created = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
    mail = Mail(
        to=ADA,
        subject="Your code",
        text="Your code is 123456.\nIt expires in 10 minutes.",
        id=uuid.UUID(int=7),
        created_at=created,
    )
    raw = flatten(build_message(mail, sender=SENDER))
    assert raw.isascii()
    assert b"\r\n" in raw
    message = parse(raw)
    assert message["From"] == SENDER
    assert message["To"] == ADA
    assert message["Subject"] == "Your code"
    assert email.utils.parsedate_to_datetime(message["Date"]) == created.replace(microsecond=0)
    assert message["Message-ID"] == f"<{uuid.UUID(int=7).hex}@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["MIME-Version"] == "1.0"
    assert "Reply-To" not in message
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert content(message) == "Your code is 123456.\nIt expires in 10 minutes.\n"


@pytest.mark.parametrize(
    "subject",
    [
        "Bestätigen Sie Ihre Adresse — ¡gracias! 你好",  # a space between two encoded runs
        "Grüße aus Köln, " * 30,  # folded over several lines
        "A plain ASCII subject that is long enough to be folded over more than one line " * 3,
    ],
    ids=["mixed", "long-utf8", "long-ascii"],
)
def test_a_subject_is_encoded_and_decodes_back(subject: str) -> None:
    raw = flatten(build_message(Mail(to=ADA, subject=subject, text="Grüße"), sender=SENDER))
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()
    assert (b"=?utf-8?" in headers.lower()) is not subject.isascii()
    assert max(len(line) for line in headers.split(b"\r\n")) <= 78
    message = parse(raw)
    assert message["Subject"] == subject
    assert content(message) == "Grüße\n"


def test_html_makes_a_multipart_alternative() -> None:
    long_line = "<p>" + "ünïcode " * 300 + "</p>"  # far past the 998-character line limit
    mail = Mail(
        to=ADA,
        subject="Welcome",
        text="Welcome, Ada.",
        html=long_line,
        reply_to="help@example.com",
        headers={"List-Unsubscribe": "<https://example.com/u/1>"},
    )
    raw = flatten(build_message(mail, sender=SENDER))
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    message = parse(raw)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Reply-To"] == "help@example.com"
    assert message["List-Unsubscribe"] == "<https://example.com/u/1>"
    text, html = message.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert text.get_content_type() == "text/plain"
    assert content(text) == "Welcome, Ada.\n"
    assert html.get_content_type() == "text/html"
    assert content(html).rstrip("\n") == long_line


# --- the outbox listing --------------------------------------------------------------------------


async def fill_outbox(db: Database, count: int, *, to: Callable[[int], str] = lambda _: ADA) -> list[Mail]:
    """`count` mails, one minute apart, oldest first; some share a timestamp to test ties."""
    start = utcnow() - timedelta(hours=1)
    mailer = OutboxMailer(db, sender=SENDER)
    mails = []
    for index in range(count):
        mail = Mail(
            to=to(index),
            subject=f"Mail {index}",
            text=f"Body {index}",
            created_at=start + timedelta(minutes=index // 2 * 2),  # pairs share a time
        )
        await mailer.deliver(mail)
        mails.append(mail)
    return mails


def newest_first(mails: list[Mail]) -> list[uuid.UUID]:
    return [mail.id for mail in sorted(mails, key=lambda mail: (mail.created_at, mail.id), reverse=True)]


async def all_pages(db: Database, *, limit: int, to: str | None = None) -> list[OutboxPage]:
    codec = CursorCodec(TEST_SECRET)
    pages = [await list_outbox(db.reader, params=PageParams(limit=limit, cursor=None), codec=codec, to=to)]
    while (cursor := pages[-1].next_cursor) is not None:
        pages.append(
            await list_outbox(db.reader, params=PageParams(limit=limit, cursor=cursor), codec=codec, to=to)
        )
    return pages


async def test_the_outbox_lists_newest_first_page_by_page(db: Database) -> None:
    mails = await fill_outbox(db, 7)
    pages = await all_pages(db, limit=3)
    assert [len(page.items) for page in pages] == [3, 3, 1]
    assert pages[-1].next_cursor is None
    assert [item.id for page in pages for item in page.items] == newest_first(mails)
    first = pages[0].items[0]
    assert (first.subject, first.text, first.to, first.sender) == ("Mail 6", "Body 6", ADA, SENDER)


async def test_the_outbox_listing_filters_by_recipient(db: Database) -> None:
    mails = await fill_outbox(db, 6, to=lambda index: ADA if index % 3 == 0 else f"user{index}@example.com")
    pages = await all_pages(db, limit=1, to=ADA)
    assert [item.id for page in pages for item in page.items] == newest_first([mails[0], mails[3]])
    assert (await all_pages(db, limit=5, to="nobody@example.com"))[0].items == []


async def test_an_empty_outbox_is_one_empty_page(db: Database) -> None:
    [page] = await all_pages(db, limit=20)
    assert page.model_dump() == {"items": [], "next_cursor": None}


async def test_a_tampered_outbox_cursor_is_refused(db: Database) -> None:
    await fill_outbox(db, 3)
    [first, _] = await all_pages(db, limit=2)
    assert first.next_cursor is not None
    codec = CursorCodec(TEST_SECRET)
    with pytest.raises(RequestValidationError):
        await list_outbox(db.reader, params=PageParams(limit=2, cursor=first.next_cursor + "x"), codec=codec)
    foreign = CursorCodec("another-secret").encode(["-created_at", utcnow().isoformat(), str(uuid.uuid4())])
    with pytest.raises(RequestValidationError):
        await list_outbox(db.reader, params=PageParams(limit=2, cursor=foreign), codec=codec)


def test_the_page_schema_serialises_as_the_api_answers() -> None:
    example = OutboxPage.model_json_schema()["examples"][0]
    page = OutboxPage.model_validate(example)
    assert page.model_dump(mode="json")["items"][0]["to"] == "ada@example.com"


# --- purging the outbox --------------------------------------------------------------------------


async def add_aged_mail(db: Database) -> dict[str, uuid.UUID]:
    now = utcnow()
    ages = {"old": timedelta(days=31), "recent": timedelta(days=29), "new": timedelta()}
    mailer = OutboxMailer(db, sender=SENDER)
    ids = {}
    for label, age in ages.items():
        mail = Mail(to=ADA, subject=label, text=label, created_at=now - age)
        await mailer.deliver(mail)
        ids[label] = mail.id
    return ids


async def outbox_ids(db: Database) -> set[uuid.UUID]:
    async with db.session() as session:
        return set((await session.scalars(select(OutboxMessage.id))).all())


async def test_purge_deletes_mail_older_than_the_cutoff(db: Database) -> None:
    ids = await add_aged_mail(db)
    assert await purge_outbox(db, older_than=utcnow() - timedelta(days=30)) == 1
    assert await outbox_ids(db) == {ids["recent"], ids["new"]}


async def test_the_purge_job_keeps_the_retention_period(
    outbox_settings: Settings, worker: Worker, db: Database
) -> None:
    assert registry.periodic[PURGE_JOB].every == timedelta(hours=1)
    assert outbox_settings.mail_outbox_retention_days == 30
    ids = await add_aged_mail(db)
    assert await worker.run_one(Job(name=PURGE_JOB, payload={})) is True
    assert await outbox_ids(db) == {ids["recent"], ids["new"]}

    short = outbox_settings.model_copy(update={"mail_outbox_retention_days": 1})
    assert await Worker(worker.backend, db=db, settings=short).run_one(Job(name=PURGE_JOB, payload={}))
    assert await outbox_ids(db) == {ids["new"]}


async def test_the_purge_job_does_nothing_with_the_smtp_backend(
    outbox_settings: Settings, memory_backend: MemoryBackend, db: Database
) -> None:
    ids = await add_aged_mail(db)
    smtp = outbox_settings.model_copy(update={"mail_backend": MailBackend.smtp, "smtp_host": "127.0.0.1"})
    assert await Worker(memory_backend, db=db, settings=smtp).run_one(Job(name=PURGE_JOB, payload={}))
    assert await outbox_ids(db) == set(ids.values())


# --- settings and wiring --------------------------------------------------------------------------


def test_the_outbox_table_is_part_of_the_schema() -> None:
    import_all_models()
    assert "mail_outbox" in Base.metadata.tables
    assert SEND_JOB in registry.handlers


def test_the_backend_follows_the_settings(outbox_settings: Settings, db: Database) -> None:
    assert isinstance(create_mailer(outbox_settings, db), OutboxMailer)
    smtp = outbox_settings.model_copy(
        update={"mail_backend": MailBackend.smtp, "smtp_host": "mail.example.com"}
    )
    assert isinstance(create_mailer(smtp, db), SMTPMailer)


def test_mail_settings_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.mail_backend is MailBackend.outbox
    assert settings.mail_from == "Sixty <no-reply@localhost>"
    assert settings.smtp_tls is SmtpTls.starttls
    assert settings.smtp_port is None
    assert settings.mail_outbox_retention_days == 30


def test_smtp_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SIXTY_MAIL_BACKEND": "smtp",
        "SIXTY_MAIL_FROM": "Sixty <mail@example.com>",
        "SIXTY_SMTP_HOST": "smtp.example.com",
        "SIXTY_SMTP_PORT": "2525",
        "SIXTY_SMTP_USERNAME": "mailer",
        "SIXTY_SMTP_PASSWORD": "s3cret",
        "SIXTY_SMTP_TLS": "tls",
        "SIXTY_SMTP_TIMEOUT": "2.5",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert (settings.mail_backend, settings.smtp_host, settings.smtp_port, settings.smtp_tls) == (
        MailBackend.smtp,
        "smtp.example.com",
        2525,
        SmtpTls.tls,
    )
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.smtp_timeout == 2.5


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mail_backend": "smtp"}, "SIXTY_SMTP_HOST"),
        ({"smtp_username": "mailer"}, "SIXTY_SMTP_PASSWORD"),
        ({"smtp_password": "s3cret"}, "SIXTY_SMTP_USERNAME"),
        ({"mail_from": "no-reply"}, "not a mail address"),
        ({"mail_from": "Sixty <no-reply@example.com>\r\nBcc: eve@example.com"}, "not a mail address"),
        ({"smtp_tls": "ssl"}, "smtp_tls"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_timeout": 0}, "smtp_timeout"),
    ],
)
def test_bad_mail_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **values)


# --- SMTP against a real local server ------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: bytes | None


@dataclass
class Recorder:
    """An aiosmtpd handler: keeps what it receives, or answers with the refusal it is given."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: str | None = None
    refuse_data: str | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse_data is not None:
            return self.refuse_data
        assert isinstance(envelope.original_content, bytes)
        assert server.transport is not None
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=parse(envelope.original_content),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=session.auth_data if isinstance(session.auth_data, bytes) else None,
            )
        )
        return "250 Message accepted for delivery"


def check_password(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    # handled=False: the server itself answers 235 or 535.
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway CA and a certificate for 127.0.0.1, as a private mail relay would have."""
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("smtp-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return Certificates(ca_file=ca_file, server_context=context)


StartSMTP = Callable[..., Awaitable[tuple[Recorder, int]]]


@pytest.fixture
async def smtp_server() -> AsyncIterator[StartSMTP]:
    """Starts aiosmtpd on 127.0.0.1 on a free port, in the test's event loop."""
    servers: list[asyncio.Server] = []

    async def start(*, implicit_tls: ssl.SSLContext | None = None, **options: Any) -> tuple[Recorder, int]:
        recorder = Recorder()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(recorder, hostname="mail.test", **options), "127.0.0.1", 0, ssl=implicit_tls
        )
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return recorder, port

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def smtp_settings(base: Settings, port: int, **values: Any) -> Settings:
    return base.model_copy(
        update={
            "mail_backend": MailBackend.smtp,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": SmtpTls.none,
            "smtp_timeout": 5.0,
            **values,
        }
    )


async def test_smtp_delivers_a_committed_mail_through_the_job(
    smtp_server: StartSMTP, outbox_settings: Settings, memory_backend: MemoryBackend, db: Database
) -> None:
    recorder, port = await smtp_server()
    settings = smtp_settings(outbox_settings, port)
    mail = await commit_mail(db, subject="Ihre Bestätigung", text="Hallo Ada", html="<p>Hallo Ada</p>")

    job = await memory_backend.claim(0.1)
    assert job is not None
    assert await Worker(memory_backend, db=db, settings=settings).run_one(job) is True

    [received] = recorder.received
    assert received.mail_from == "no-reply@example.com"  # the envelope carries the bare address
    assert received.rcpt_tos == [ADA]
    assert not received.tls
    message = received.message
    assert message["From"] == SENDER
    assert message["To"] == ADA
    assert message["Subject"] == "Ihre Bestätigung"
    assert message["Message-ID"] == f"<{mail.id.hex}@example.com>"
    assert email.utils.parsedate_to_datetime(message["Date"]) == mail.created_at.replace(microsecond=0)
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert (content(text), content(html)) == ("Hallo Ada\n", "<p>Hallo Ada</p>\n")
    assert await outbox_count(db) == 0  # the SMTP backend stores nothing


async def test_smtp_with_starttls_and_auth(
    smtp_server: StartSMTP,
    certificates: Certificates,
    outbox_settings: Settings,
    worker: Worker,
    db: Database,
) -> None:
    recorder, port = await smtp_server(
        tls_context=certificates.server_context,
        require_starttls=True,
        auth_required=True,
        authenticator=check_password,
    )
    settings = smtp_settings(
        outbox_settings,
        port,
        smtp_tls=SmtpTls.starttls,
        smtp_ca_file=certificates.ca_file,
        smtp_username="mailer",
        smtp_password=SecretStr("s3cret"),
    )
    assert (
        await Worker(worker.backend, db=db, settings=settings).run_one(mail_job(subject="Over TLS")) is True
    )
    [received] = recorder.received
    assert received.tls
    assert received.login == b"mailer"
    assert received.message["Subject"] == "Over TLS"


async def test_smtp_with_implicit_tls(
    smtp_server: StartSMTP,
    certificates: Certificates,
    outbox_settings: Settings,
    worker: Worker,
    db: Database,
) -> None:
    recorder, port = await smtp_server(implicit_tls=certificates.server_context)
    settings = smtp_settings(outbox_settings, port, smtp_tls=SmtpTls.tls, smtp_ca_file=certificates.ca_file)
    assert await Worker(worker.backend, db=db, settings=settings).run_one(mail_job()) is True
    [received] = recorder.received
    assert received.tls
    assert received.rcpt_tos == [ADA]


async def test_smtp_refuses_a_certificate_it_does_not_trust(
    smtp_server: StartSMTP,
    certificates: Certificates,
    outbox_settings: Settings,
    memory_backend: MemoryBackend,
    db: Database,
) -> None:
    recorder, port = await smtp_server(tls_context=certificates.server_context, require_starttls=True)
    settings = smtp_settings(outbox_settings, port, smtp_tls=SmtpTls.starttls)  # the system CAs only
    job = mail_job()
    assert await Worker(memory_backend, db=db, settings=settings).run_one(job) is False
    assert recorder.received == []
    assert memory_backend.dead == []  # retried: the operator may fix the certificate


async def test_smtp_never_falls_back_to_plain_text(
    smtp_server: StartSMTP, outbox_settings: Settings, memory_backend: MemoryBackend, db: Database
) -> None:
    recorder, port = await smtp_server()  # offers no STARTTLS
    settings = smtp_settings(outbox_settings, port, smtp_tls=SmtpTls.starttls)
    assert await Worker(memory_backend, db=db, settings=settings).run_one(mail_job()) is False
    assert recorder.received == []


async def test_smtp_wrong_password_is_not_retried(
    smtp_server: StartSMTP, outbox_settings: Settings, memory_backend: MemoryBackend, db: Database
) -> None:
    recorder, port = await smtp_server(authenticator=check_password, auth_require_tls=False)
    settings = smtp_settings(outbox_settings, port, smtp_username="mailer", smtp_password=SecretStr("wrong"))
    job = mail_job()
    assert await Worker(memory_backend, db=db, settings=settings).run_one(job) is False
    [(dead, error)] = memory_backend.dead
    assert dead is job
    assert error.startswith("PermanentJobError: SMTP server refused the mail: 535")
    assert recorder.received == []


@pytest.mark.parametrize(
    ("refusal", "permanent"),
    [
        ({"refuse_rcpt": "550 5.1.1 No such user"}, True),
        ({"refuse_rcpt": "450 4.2.1 Mailbox busy, try again later"}, False),
        ({"refuse_data": "554 5.6.0 Message rejected"}, True),
        ({"refuse_data": "451 4.3.0 Temporary failure, try again later"}, False),
    ],
    ids=["recipient-5xx", "recipient-4xx", "data-5xx", "data-4xx"],
)
async def test_smtp_refusals_are_retried_only_when_temporary(
    refusal: dict[str, str],
    permanent: bool,
    smtp_server: StartSMTP,
    outbox_settings: Settings,
    memory_backend: MemoryBackend,
    db: Database,
) -> None:
    recorder, port = await smtp_server()
    for name, reply in refusal.items():
        setattr(recorder, name, reply)
    settings = smtp_settings(outbox_settings, port)
    job = mail_job()
    assert await Worker(memory_backend, db=db, settings=settings).run_one(job) is False
    assert job.attempts == 1
    code = next(iter(refusal.values()))[:3]
    if permanent:
        [(dead, error)] = memory_backend.dead
        assert dead is job
        assert error.startswith("PermanentJobError: SMTP server refused the ")
        assert code in error
    else:
        assert memory_backend.dead == []
        assert job.run_at > utcnow()  # re-queued after its backoff


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_smtp_to_a_closed_port_is_retried(
    outbox_settings: Settings, memory_backend: MemoryBackend, db: Database
) -> None:
    settings = smtp_settings(outbox_settings, free_port(), smtp_timeout=1.0)
    job = mail_job()
    started = time.monotonic()
    assert await Worker(memory_backend, db=db, settings=settings).run_one(job) is False
    assert time.monotonic() - started < 1.5
    assert memory_backend.dead == []
    assert job.run_at > utcnow()


async def test_a_server_that_never_answers_times_out_and_is_retried(
    outbox_settings: Settings, memory_backend: MemoryBackend, db: Database
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts the connection, never greets

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        settings = smtp_settings(outbox_settings, port, smtp_timeout=0.3)
        with pytest.raises(TimeoutError):
            await SMTPMailer(settings).deliver(check_mail(Mail(to=ADA, subject="Hi", text="Hi")))
        job = mail_job()
        started = time.monotonic()
        assert await Worker(memory_backend, db=db, settings=settings).run_one(job) is False
        assert time.monotonic() - started < 2.0
        assert memory_backend.dead == []
    finally:
        server.close()
        await server.wait_closed()
