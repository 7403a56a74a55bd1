"""B7: sending a message through the contact form: the token, the spam guards, the mails."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.contact import service
from sixty.contact.models import ContactMessage
from sixty.core.config import Settings
from tests.auth.conftest import Mailbox
from tests.contact.conftest import INBOX, stored
from tests.factories.contact import create_message, form_token, policy, submission

URL = "/api/contact/messages"


async def test_the_form_hands_out_a_signed_dated_token(
    client: AsyncClient, contact_settings: Settings
) -> None:
    response = await client.get("/api/contact/form")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    form = response.json()
    assert re.fullmatch(r"v1\.\d{13}\.[A-Za-z0-9_-]{22}", form["form_token"])
    assert form["honeypot_field"] == "website"
    assert form["min_fill_seconds"] == 3.0
    issued = service.now().fromisoformat(form["issued_at"])
    expires = service.now().fromisoformat(form["expires_at"])
    assert expires - issued == contact_settings.contact_form_ttl


async def test_a_message_is_stored_announced_to_the_inbox_and_acknowledged(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings, mailbox: Mailbox
) -> None:
    body = submission(
        contact_settings, name="  Ada Lovelace ", message="Could it compute\nBernoulli numbers?"
    )
    response = await client.post(URL, json=body, headers={"User-Agent": "pytest-browser"})
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert set(receipt) == {"id", "received_at"}

    message = await session.get_one(ContactMessage, uuid.UUID(receipt["id"]))
    assert (message.name, message.email, message.spam, message.spam_reason) == (
        "Ada Lovelace",
        "ada@example.com",
        False,
        None,
    )
    assert message.message == "Could it compute\nBernoulli numbers?"
    assert message.notified == INBOX
    assert message.user_agent == "pytest-browser"
    assert message.client_ip == "127.0.0.1"

    notification = await mailbox.last(INBOX)
    assert notification.subject == "[Contact] A question about your engine"
    assert notification.reply_to == "ada@example.com"
    assert "Could it compute\nBernoulli numbers?" in notification.text
    assert "From: Ada Lovelace <ada@example.com>" in notification.text
    assert receipt["id"] in notification.text

    acknowledgement = await mailbox.last("ada@example.com")
    assert acknowledgement.subject == "We received your message"
    assert receipt["id"] in acknowledgement.text
    # Nothing the sender typed rides along to whatever address they gave.
    for typed in ("Bernoulli", "engine", "Ada"):
        assert typed not in acknowledgement.text


async def test_a_filled_honeypot_gets_the_same_answer_but_is_kept_as_spam_and_mailed_to_nobody(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings, mailbox: Mailbox
) -> None:
    response = await client.post(URL, json=submission(contact_settings, website="http://spam.example"))
    assert response.status_code == 202
    assert set(response.json()) == {"id", "received_at"}
    message = await session.get_one(ContactMessage, uuid.UUID(response.json()["id"]))
    assert (message.spam, message.spam_reason, message.notified) == (True, "honeypot", None)
    assert await mailbox.messages(INBOX) == []
    assert await mailbox.messages("ada@example.com") == []


async def test_an_empty_or_blank_honeypot_is_a_person(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings
) -> None:
    for honeypot in ("", "   ", None):
        response = await client.post(URL, json=submission(contact_settings, website=honeypot))
        assert response.status_code == 202
        message = await session.get_one(ContactMessage, uuid.UUID(response.json()["id"]))
        assert message.spam is False


async def test_a_form_sent_back_too_fast_is_kept_as_spam_and_mailed_to_nobody(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings, mailbox: Mailbox
) -> None:
    token = (await client.get("/api/contact/form")).json()["form_token"]
    response = await client.post(URL, json=submission(contact_settings, form_token=token))
    assert response.status_code == 202
    message = await session.get_one(ContactMessage, uuid.UUID(response.json()["id"]))
    assert (message.spam, message.spam_reason) == (True, "too_fast")
    assert await mailbox.messages(INBOX) == []
    assert await mailbox.messages("ada@example.com") == []
    # Just past the minimum fill time is a person.
    later = form_token(contact_settings, age=contact_settings.contact_min_fill_time + timedelta(seconds=1))
    again = await client.post(URL, json=submission(contact_settings, form_token=later))
    assert (await session.get_one(ContactMessage, uuid.UUID(again.json()["id"]))).spam is False


async def test_forged_tampered_and_expired_tokens_are_refused_and_nothing_is_stored(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings, mailbox: Mailbox
) -> None:
    good = form_token(contact_settings)
    version, issued, signature = good.split(".")
    other_key = policy(contact_settings.model_copy(update={"secret_key": "another-secret-" + "y" * 40}))
    cases = {
        "invalid_form_token": [
            f"{version}.{int(issued) - 60_000}.{signature}",  # an earlier time, same signature
            f"{version}.{issued}.{signature[:-1]}{'B' if signature.endswith('A') else 'A'}",
            f"v2.{issued}.{signature}",
            "v1.notatime.xyz",
            "garbage",
            service.issue_form_token(other_key, moment=service.now() - timedelta(seconds=30)).token,
        ],
        "expired_form_token": [
            form_token(contact_settings, age=contact_settings.contact_form_ttl + timedelta(seconds=1)),
            form_token(contact_settings, age=-timedelta(minutes=5)),  # from the future
        ],
    }
    for code, tokens in cases.items():
        for token in tokens:
            response = await client.post(URL, json=submission(contact_settings, form_token=token))
            assert response.status_code == 422, (token, response.text)
            problem = response.json()
            assert response.headers["content-type"] == "application/problem+json"
            assert problem["code"] == "validation_failed"
            assert problem["errors"] == [
                {
                    "loc": ["body", "form_token"],
                    "field": "form_token",
                    "message": problem["errors"][0]["message"],
                    "type": code,
                }
            ], token
            assert "reload" in problem["errors"][0]["message"]
    assert await stored(session) == 0
    assert await mailbox.messages(INBOX) == []


async def test_without_an_inbox_messages_are_stored_and_still_acknowledged(
    settings: Settings, app_session: AsyncSession, mailbox: Mailbox
) -> None:
    message = await create_message(app_session, settings)  # the suite's settings: no inbox
    await app_session.commit()
    assert message.notified is None
    assert message.spam is False
    assert len(await mailbox.messages("ada@example.com")) == 1


async def test_acknowledgements_can_be_turned_off(
    settings: Settings, app_session: AsyncSession, mailbox: Mailbox
) -> None:
    quiet = settings.model_copy(update={"contact_inbox": INBOX, "contact_acknowledge": False})
    await create_message(app_session, quiet)
    await app_session.commit()
    assert len(await mailbox.messages(INBOX)) == 1
    assert await mailbox.messages("ada@example.com") == []


async def test_an_address_mail_cannot_be_sent_to_as_is_gets_no_acknowledgement_nor_reply_to(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings, mailbox: Mailbox
) -> None:
    response = await client.post(URL, json=submission(contact_settings, email="José@Exämple.com"))
    assert response.status_code == 202
    message = await session.get_one(ContactMessage, uuid.UUID(response.json()["id"]))
    assert message.email == "josé@xn--exmple-cua.com"  # normalised like account emails
    notification = await mailbox.last(INBOX)
    assert notification.reply_to is None
    assert "josé@xn--exmple-cua.com" in notification.text


async def test_a_signed_in_sender_is_recorded(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings, user_headers: dict[str, str]
) -> None:
    response = await client.post(URL, json=submission(contact_settings), headers=user_headers)
    message = await session.get_one(ContactMessage, uuid.UUID(response.json()["id"]))
    assert message.sender_user_id is not None


async def test_mail_leaves_only_when_the_message_is_committed(
    app_session: AsyncSession, contact_settings: Settings, mailbox: Mailbox
) -> None:
    """Both mails are queued in the transaction: a rollback drops them with the message."""
    await create_message(app_session, contact_settings)
    await app_session.rollback()
    assert (await app_session.scalars(select(ContactMessage))).all() == []
    assert await mailbox.messages(INBOX) == []
    assert await mailbox.messages("ada@example.com") == []
