"""B7: staff read and triage the inbox; other modules send messages to one account; rate limits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.contact import service
from sixty.contact.schemas import ContactMessageUpdate
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.errors import NotFound
from sixty.core.pagination import CursorCodec, PageParams
from tests.auth.conftest import Mailbox
from tests.contact.conftest import INBOX, stored
from tests.factories.auth import create_user
from tests.factories.contact import create_message, submission
from tests.factories.limits import limited_client

URL = "/api/contact/messages"


@pytest.fixture
async def inbox(session: AsyncSession, contact_settings: Settings) -> list[uuid.UUID]:
    """Three messages a minute apart (oldest first), one of them spam."""
    start = service.now() - timedelta(hours=1)
    made = [
        await create_message(
            session,
            contact_settings,
            moment=start,
            name="Ada",
            subject="Engines",
            message="Bernoulli numbers",
        ),
        await create_message(
            session,
            contact_settings,
            moment=start + timedelta(minutes=1),
            name="Grace",
            email="grace@example.com",
            subject="Compilers",
            message="100% about COBOL_2",
        ),
        await create_message(
            session,
            contact_settings,
            moment=start + timedelta(minutes=2),
            website="bot",
            subject="Cheap pills",
        ),
    ]
    return [message.id for message in made]


async def test_the_inbox_is_for_staff_only(
    client: AsyncClient, user_headers: dict[str, str], inbox: list[uuid.UUID]
) -> None:
    anonymous = await client.get(URL)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    for request in (
        client.get(URL, headers=user_headers),
        client.get(f"{URL}/{inbox[0]}", headers=user_headers),
        client.patch(f"{URL}/{inbox[0]}", json={"handled": True}, headers=user_headers),
    ):
        response = await request
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


async def test_staff_list_newest_first_without_spam_by_default(
    client: AsyncClient, staff_headers: dict[str, str], inbox: list[uuid.UUID]
) -> None:
    page = (await client.get(URL, headers=staff_headers)).json()
    assert [item["id"] for item in page["items"]] == [str(inbox[1]), str(inbox[0])]
    assert page["items"][0]["status"] == "unhandled"
    assert page["items"][0]["client_ip"] == "203.0.113.7"
    oldest_first = (await client.get(URL, params={"sort": "created_at"}, headers=staff_headers)).json()
    assert [item["id"] for item in oldest_first["items"]] == [str(inbox[0]), str(inbox[1])]
    spam = (await client.get(URL, params={"status": "spam"}, headers=staff_headers)).json()
    assert [(item["id"], item["status"], item["spam_reason"]) for item in spam["items"]] == [
        (str(inbox[2]), "spam", "honeypot")
    ]


async def test_staff_search_literally_and_page_with_cursors(
    client: AsyncClient, staff_headers: dict[str, str], inbox: list[uuid.UUID]
) -> None:
    async def ids(**params: str) -> list[str]:
        response = await client.get(URL, params=params, headers=staff_headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(q="BERNOULLI") == [str(inbox[0])]
    assert await ids(q="grace@") == [str(inbox[1])]
    assert await ids(q="100%") == [str(inbox[1])]  # % and _ match themselves
    assert await ids(q="COBOL_2") == [str(inbox[1])]
    assert await ids(q="1%0") == []
    assert await ids(q="pills") == []  # spam is searched only with status=spam
    assert await ids(q="pills", status="spam") == [str(inbox[2])]

    first = (await client.get(URL, params={"limit": 1}, headers=staff_headers)).json()
    assert [item["id"] for item in first["items"]] == [str(inbox[1])]
    second = (
        await client.get(URL, params={"limit": 1, "cursor": first["next_cursor"]}, headers=staff_headers)
    ).json()
    assert [item["id"] for item in second["items"]] == [str(inbox[0])]
    assert second["next_cursor"] is None


async def test_bad_list_parameters_are_422(
    client: AsyncClient, staff_headers: dict[str, str], inbox: list[uuid.UUID]
) -> None:
    for params in (
        {"status": "deleted"},
        {"sort": "name"},
        {"limit": "0"},
        {"limit": "101"},
        {"cursor": "forged.cursor"},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "a\x00b"},
    ):
        response = await client.get(URL, params=params, headers=staff_headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
    # A cursor of one sort order is refused by another.
    cursor = (await client.get(URL, params={"limit": 1}, headers=staff_headers)).json()["next_cursor"]
    other = await client.get(URL, params={"cursor": cursor, "sort": "created_at"}, headers=staff_headers)
    assert other.status_code == 422


async def test_staff_triage_marks_handled_and_spam(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str], inbox: list[uuid.UUID]
) -> None:
    one = f"{URL}/{inbox[0]}"
    handled = await client.patch(one, json={"handled": True}, headers=staff_headers)
    assert handled.status_code == 200, handled.text
    body = handled.json()
    assert body["status"] == "handled"
    assert body["handled_at"] is not None
    desk = await auth_service.find_user_by_email(session, "desk@example.com")
    assert desk is not None
    assert body["handled_by"] == str(desk.id)
    listed = (await client.get(URL, params={"status": "handled"}, headers=staff_headers)).json()["items"]
    assert [item["id"] for item in listed] == [str(inbox[0])]
    unhandled = (await client.get(URL, params={"status": "unhandled"}, headers=staff_headers)).json()["items"]
    assert [item["id"] for item in unhandled] == [str(inbox[1])]

    again = (await client.patch(one, json={"handled": False}, headers=staff_headers)).json()
    assert (again["status"], again["handled_at"], again["handled_by"]) == ("unhandled", None, None)

    spam = (await client.patch(one, json={"spam": True}, headers=staff_headers)).json()
    assert (spam["status"], spam["spam_reason"]) == ("spam", "staff")
    freed = (await client.patch(f"{URL}/{inbox[2]}", json={"spam": False}, headers=staff_headers)).json()
    assert (freed["status"], freed["spam_reason"]) == ("unhandled", None)
    unchanged = await client.patch(f"{URL}/{inbox[1]}", json={}, headers=staff_headers)
    assert unchanged.json()["status"] == "unhandled"
    read = await client.get(f"{URL}/{inbox[2]}", headers=staff_headers)
    assert read.json()["status"] == "unhandled"


async def test_bad_triage_is_refused(
    client: AsyncClient, staff_headers: dict[str, str], inbox: list[uuid.UUID]
) -> None:
    one = f"{URL}/{inbox[0]}"
    for body in ({"handled": None}, {"spam": "yes please"}, {"status": "handled"}, [True]):
        response = await client.patch(one, json=body, headers=staff_headers)
        assert response.status_code == 422, body
    assert (await client.get(one, headers=staff_headers)).json()["status"] == "unhandled"
    missing = uuid.uuid4()
    for response in (
        await client.get(f"{URL}/{missing}", headers=staff_headers),
        await client.patch(f"{URL}/{missing}", json={"handled": True}, headers=staff_headers),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert (await client.get(f"{URL}/not-a-uuid", headers=staff_headers)).status_code == 422


# --- reuse by another module: a message to one account ---------------------------------------


async def test_a_message_to_an_account_tells_that_account_and_stays_out_of_the_site_inbox(
    app_session: AsyncSession,
    contact_settings: Settings,
    mailbox: Mailbox,
    db: Database,
    auth: auth_service.AuthContext,
) -> None:
    owner = await create_user(app_session, auth, email="owner@example.com", username="owner")
    recipient = await service.recipient_for_user(app_session, owner.id)
    assert recipient == service.Recipient(email="owner@example.com", user_id=owner.id)
    message = await create_message(
        app_session, contact_settings, recipient=recipient, subject="Your portfolio"
    )
    await app_session.commit()

    notification = await mailbox.last("owner@example.com")
    assert notification.subject == "[Contact] Your portfolio"
    assert notification.reply_to == "ada@example.com"
    assert await mailbox.messages(INBOX) == []
    assert len(await mailbox.messages("ada@example.com")) == 1

    codec = CursorCodec(contact_settings.secret_key)
    params = PageParams(limit=10, cursor=None)
    site, _ = await service.list_messages(db.reader, params=params, codec=codec)
    assert site == []
    personal, _ = await service.list_messages(
        db.reader, params=params, codec=codec, recipient_user_id=owner.id
    )
    assert [row["id"] for row in personal] == [message.id]
    assert (await service.read_message(db.reader, message.id, recipient_user_id=owner.id))["id"] == message.id
    # Not visible as a site message, nor to another account.
    with pytest.raises(NotFound):
        await service.read_message(db.reader, message.id)
    with pytest.raises(NotFound):
        await service.read_message(db.reader, message.id, recipient_user_id=uuid.uuid4())
    with pytest.raises(NotFound):
        await service.update_message(
            app_session, message.id, ContactMessageUpdate(handled=True), by=owner.id, moment=service.now()
        )
    done = await service.update_message(
        app_session,
        message.id,
        ContactMessageUpdate(handled=True),
        by=owner.id,
        moment=service.now(),
        recipient_user_id=owner.id,
    )
    assert done.handled_by == owner.id


async def test_a_message_to_an_unknown_account_is_a_404(app_session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await service.recipient_for_user(app_session, uuid.uuid4())


# --- rate limits -----------------------------------------------------------------------------


@pytest.fixture
async def limited(contact_settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    async with limited_client(
        contact_settings, db, {"contact.submit.ip": "4/hour", "contact.submit.email": "2/hour"}
    ) as client:
        yield client


async def test_submissions_are_limited_per_sender_email_and_per_address(
    limited: AsyncClient, session: AsyncSession, contact_settings: Settings
) -> None:
    first = await limited.post(URL, json=submission(contact_settings))
    assert first.status_code == 202
    assert '"contact.submit.ip";q=4;w=3600' in first.headers["ratelimit-policy"]
    # Any spelling of the address counts as the same one.
    assert (
        await limited.post(URL, json=submission(contact_settings, email="ADA@example.com"))
    ).status_code == 202
    third = await limited.post(URL, json=submission(contact_settings, email="Ada@Example.COM"))
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"
    assert int(third.headers["retry-after"]) > 0
    assert await stored(session) == 2
    # Another sender email has its own budget, until the client's address has used up its own.
    other = await limited.post(URL, json=submission(contact_settings, email="bob@example.com"))
    assert other.status_code == 202
    last = await limited.post(URL, json=submission(contact_settings, email="carol@example.com"))
    assert last.status_code == 429
    assert '"contact.submit.ip";r=0' in last.headers["ratelimit"]
    assert await stored(session) == 3
