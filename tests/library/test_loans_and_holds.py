"""Members, loans, returns, renewals, holds queues, overdue loans and fines."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.library import service
from sixty.library.models import Hold, Loan, Member
from tests.factories.library import create_book, create_copy, create_member, hold, lend, policy
from tests.library.conftest import count
from tests.library.test_books_and_copies import assert_problem

DAY = timedelta(days=1)


# --- members ----------------------------------------------------------------------------------


async def test_librarian_registers_and_links_members(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str], ann: User
) -> None:
    created = await client.post(
        "/api/library/members",
        json={"name": "Ann Example", "email": "Ann@Example.COM", "user_id": str(ann.id)},
        headers=librarian_headers,
    )
    assert created.status_code == 201, created.text
    member = created.json()
    assert member["email"] == "ann@example.com"
    assert created.headers["location"] == f"/api/library/members/{member['id']}"

    again = await client.post(
        "/api/library/members", json={"name": "Ann Twice", "user_id": str(ann.id)}, headers=librarian_headers
    )
    assert again.status_code == 409
    assert_problem(again.json(), 409, "account_linked")
    unknown = await client.post(
        "/api/library/members",
        json={"name": "Nobody", "user_id": str(uuid.uuid4())},
        headers=librarian_headers,
    )
    assert unknown.status_code == 404
    assert await count(session, Member) == 1

    await client.post("/api/library/members", json={"name": "bob builder"}, headers=librarian_headers)
    listed = (await client.get("/api/library/members", headers=librarian_headers)).json()
    assert [item["name"] for item in listed["items"]] == ["Ann Example", "bob builder"]
    found = (await client.get("/api/library/members", params={"q": "BOB"}, headers=librarian_headers)).json()
    assert [item["name"] for item in found["items"]] == ["bob builder"]

    unlinked = await client.patch(
        f"/api/library/members/{member['id']}",
        json={"user_id": None, "email": None},
        headers=librarian_headers,
    )
    assert unlinked.status_code == 200
    assert (unlinked.json()["user_id"], unlinked.json()["email"]) == (None, None)
    relinked = await client.patch(
        f"/api/library/members/{member['id']}",
        json={"user_id": str(ann.id), "name": "Ann E."},
        headers=librarian_headers,
    )
    assert (relinked.json()["user_id"], relinked.json()["name"]) == (str(ann.id), "Ann E.")
    missing = await client.patch(f"/api/library/members/{uuid.uuid4()}", json={}, headers=librarian_headers)
    assert missing.status_code == 404


async def test_members_see_their_own_record_only(
    client: AsyncClient, ann_member: Member, bob_member: Member, ann_headers: dict[str, str]
) -> None:
    own = await client.get(f"/api/library/members/{ann_member.id}", headers=ann_headers)
    assert own.status_code == 200
    other = await client.get(f"/api/library/members/{bob_member.id}", headers=ann_headers)
    assert other.status_code == 404
    assert_problem(other.json(), 404, "not_found")


# --- loans ------------------------------------------------------------------------------------


async def test_lend_renew_and_return(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    ann_headers: dict[str, str],
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    lent = await client.post(
        "/api/library/loans",
        json={"copy_id": str(copy.id), "member_id": str(ann_member.id)},
        headers=librarian_headers,
    )
    assert lent.status_code == 201, lent.text
    loan = lent.json()
    assert lent.headers["location"] == f"/api/library/loans/{loan['id']}"
    assert loan["member_id"] == str(ann_member.id)
    assert loan["renewals_left"] == settings.library_max_renewals
    assert (loan["overdue"], loan["days_overdue"], loan["fine"]) == (
        False,
        0,
        {"amount": "0.00", "currency": "EUR"},
    )
    assert (await client.get(f"/api/library/copies/{copy.id}")).json()["status"] == "on_loan"

    mine = (await client.get(f"/api/library/loans/{loan['id']}", headers=ann_headers)).json()
    assert mine == loan
    renewed = await client.post(f"/api/library/loans/{loan['id']}/renew", headers=ann_headers)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["renewals"] == 1
    due, new_due = loan["due_at"], renewed.json()["due_at"]
    assert new_due > due

    returned = await client.post(f"/api/library/loans/{loan['id']}/return", headers=librarian_headers)
    assert returned.status_code == 200
    assert returned.json()["returned_at"] is not None
    assert returned.json()["fine"]["amount"] == "0.00"
    assert (await client.get(f"/api/library/copies/{copy.id}")).json()["status"] == "available"

    again = await client.post(f"/api/library/loans/{loan['id']}/return", headers=librarian_headers)
    assert again.status_code == 409
    assert_problem(again.json(), 409, "loan_returned")
    renew_returned = await client.post(f"/api/library/loans/{loan['id']}/renew", headers=ann_headers)
    assert renew_returned.status_code == 409
    assert_problem(renew_returned.json(), 409, "loan_returned")
    # Members do not return at the desk themselves.
    assert (
        await client.post(f"/api/library/loans/{loan['id']}/return", headers=ann_headers)
    ).status_code == 403


async def test_a_member_borrows_for_themself_only(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    ann_headers: dict[str, str],
    bob_member: Member,
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    for_bob = await client.post(
        "/api/library/loans",
        json={"copy_id": str(copy.id), "member_id": str(bob_member.id)},
        headers=ann_headers,
    )
    assert for_bob.status_code == 403
    assert_problem(for_bob.json(), 403, "permission_denied")
    assert await count(session, Loan) == 0
    own = await client.post("/api/library/loans", json={"copy_id": str(copy.id)}, headers=ann_headers)
    assert own.status_code == 201
    assert own.json()["due_at"] > own.json()["loaned_at"]


async def test_an_account_without_a_member_record_cannot_borrow(
    client: AsyncClient, session: AsyncSession, settings: Settings, ann: User
) -> None:
    from tests.factories.auth import bearer, sign_in

    headers = bearer(await sign_in(client, "ann@example.com"))
    copy = await create_copy(session, settings, await create_book(session))
    response = await client.post("/api/library/loans", json={"copy_id": str(copy.id)}, headers=headers)
    assert response.status_code == 403
    assert_problem(response.json(), 403, "not_a_member")
    assert await count(session, Loan) == 0
    me = await client.get("/api/library/me", headers=headers)
    assert me.status_code == 404
    assert_problem(me.json(), 404, "not_a_member")
    held = await client.post("/api/library/holds", json={"book_id": str(copy.book_id)}, headers=headers)
    assert held.status_code == 403


async def test_lending_an_unavailable_copy_is_409_and_writes_nothing(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    bob_member: Member,
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    await lend(session, settings, copy, bob_member)
    response = await client.post(
        "/api/library/loans",
        json={"copy_id": str(copy.id), "member_id": str(ann_member.id)},
        headers=librarian_headers,
    )
    assert response.status_code == 409
    assert_problem(response.json(), 409, "copy_unavailable")
    assert "on_loan" in response.json()["detail"]
    assert await count(session, Loan) == 1

    lost = await create_copy(session, settings, book)
    await client.patch(f"/api/library/copies/{lost.id}", json={"status": "lost"}, headers=librarian_headers)
    response = await client.post(
        "/api/library/loans",
        json={"copy_id": str(lost.id), "member_id": str(ann_member.id)},
        headers=librarian_headers,
    )
    assert response.status_code == 409
    assert await count(session, Loan) == 1


async def test_unknown_copy_or_member_is_404(
    client: AsyncClient, session: AsyncSession, settings: Settings, librarian_headers: dict[str, str]
) -> None:
    copy = await create_copy(session, settings, await create_book(session))
    member = await create_member(session)
    for payload in (
        {"copy_id": str(uuid.uuid4()), "member_id": str(member.id)},
        {"copy_id": str(copy.id), "member_id": str(uuid.uuid4())},
    ):
        response = await client.post("/api/library/loans", json=payload, headers=librarian_headers)
        assert response.status_code == 404
    assert await count(session, Loan) == 0
    for path in (f"/api/library/loans/{uuid.uuid4()}", f"/api/library/holds/{uuid.uuid4()}"):
        assert (await client.get(path, headers=librarian_headers)).status_code == 404
    for path in (f"/api/library/loans/{uuid.uuid4()}/return", f"/api/library/loans/{uuid.uuid4()}/renew"):
        assert (await client.post(path, headers=librarian_headers)).status_code == 404
    assert (
        await client.delete(f"/api/library/holds/{uuid.uuid4()}", headers=librarian_headers)
    ).status_code == 404
    malformed = await client.post("/api/library/loans", json={"copy_id": "nope"}, headers=librarian_headers)
    assert malformed.status_code == 422


async def test_other_members_loans_are_404_and_lists_are_scoped(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    ann_headers: dict[str, str],
    bob_member: Member,
) -> None:
    book = await create_book(session)
    bobs = await lend(session, settings, await create_copy(session, settings, book), bob_member)
    anns = await lend(session, settings, await create_copy(session, settings, book), ann_member)
    hidden = await client.get(f"/api/library/loans/{bobs.id}", headers=ann_headers)
    assert hidden.status_code == 404
    assert_problem(hidden.json(), 404, "not_found")
    assert (await client.post(f"/api/library/loans/{bobs.id}/renew", headers=ann_headers)).status_code == 404
    assert await _renewals(session, bobs) == 0

    mine = (await client.get("/api/library/loans", headers=ann_headers)).json()
    assert [item["id"] for item in mine["items"]] == [str(anns.id)]
    # A member filtering by someone else sees nothing of theirs.
    snooping = await client.get(
        "/api/library/loans", params={"member_id": str(bob_member.id)}, headers=ann_headers
    )
    assert snooping.json()["items"] == []
    everyone = (await client.get("/api/library/loans", headers=librarian_headers)).json()
    assert {item["id"] for item in everyone["items"]} == {str(anns.id), str(bobs.id)}
    only_bob = await client.get(
        "/api/library/loans",
        params={"member_id": str(bob_member.id), "book_id": str(book.id), "open": "true", "sort": "due_at"},
        headers=librarian_headers,
    )
    assert [item["id"] for item in only_bob.json()["items"]] == [str(bobs.id)]


async def _renewals(session: AsyncSession, loan: Loan) -> int:
    await session.refresh(loan)
    return loan.renewals


async def test_renewal_limit_and_overdue_loans_are_409(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    ann_member: Member,
    ann_headers: dict[str, str],
) -> None:
    book = await create_book(session)
    loan = await lend(session, settings, await create_copy(session, settings, book), ann_member)
    for _ in range(settings.library_max_renewals):
        assert (
            await client.post(f"/api/library/loans/{loan.id}/renew", headers=ann_headers)
        ).status_code == 200
    before = (await client.get(f"/api/library/loans/{loan.id}", headers=ann_headers)).json()
    assert before["renewals_left"] == 0
    refused = await client.post(f"/api/library/loans/{loan.id}/renew", headers=ann_headers)
    assert refused.status_code == 409
    assert_problem(refused.json(), 409, "renewal_limit")
    assert (await client.get(f"/api/library/loans/{loan.id}", headers=ann_headers)).json() == before

    long_ago = service.now() - (settings.library_loan_days + 2) * DAY
    late = await lend(
        session, settings, await create_copy(session, settings, book), ann_member, moment=long_ago
    )
    overdue = await client.post(f"/api/library/loans/{late.id}/renew", headers=ann_headers)
    assert overdue.status_code == 409
    assert_problem(overdue.json(), 409, "loan_overdue")
    assert await _renewals(session, late) == 0


async def test_renewal_is_refused_while_someone_waits_for_the_book(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    ann_member: Member,
    ann_headers: dict[str, str],
    bob_member: Member,
) -> None:
    book = await create_book(session)
    loan = await lend(session, settings, await create_copy(session, settings, book), ann_member)
    await hold(session, settings, book, bob_member)
    response = await client.post(f"/api/library/loans/{loan.id}/renew", headers=ann_headers)
    assert response.status_code == 409
    assert_problem(response.json(), 409, "book_on_hold")
    assert await _renewals(session, loan) == 0


async def test_overdue_loans_fines_and_the_members_account(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    ann_headers: dict[str, str],
) -> None:
    book = await create_book(session)
    now = service.now()
    # Due 3 days (and a bit) ago: 4 started days late.
    three_late = await lend(
        session,
        settings,
        await create_copy(session, settings, book),
        ann_member,
        moment=now - (settings.library_loan_days + 3) * DAY - timedelta(hours=1),
    )
    # Due long ago: the fine stops at the cap.
    very_late = await lend(
        session,
        settings,
        await create_copy(session, settings, book),
        ann_member,
        moment=now - (settings.library_loan_days + 400) * DAY,
    )
    await lend(session, settings, await create_copy(session, settings, book), ann_member)

    overdue = (await client.get("/api/library/overdue", headers=librarian_headers)).json()
    assert [item["id"] for item in overdue["items"]] == [str(very_late.id), str(three_late.id)]
    capped, four_days = overdue["items"]
    assert capped["fine"] == {"amount": "10.00", "currency": "EUR"}  # the 1000 minor units cap
    assert (four_days["days_overdue"], four_days["fine"]["amount"], four_days["overdue"]) == (4, "1.00", True)
    page = (await client.get("/api/library/overdue", params={"limit": 1}, headers=librarian_headers)).json()
    assert page["next_cursor"] is not None

    account = (await client.get("/api/library/me", headers=ann_headers)).json()
    assert account["member"]["id"] == str(ann_member.id)
    assert (account["open_loans"], account["overdue_loans"], account["active_holds"]) == (3, 2, 0)
    assert account["fines_due"] == {"amount": "11.00", "currency": "EUR"}

    returned = (
        await client.post(f"/api/library/loans/{three_late.id}/return", headers=librarian_headers)
    ).json()
    assert returned["fine"]["amount"] == "1.00"
    assert returned["overdue"] is False
    assert (await client.get("/api/library/me", headers=ann_headers)).json()["fines_due"]["amount"] == "11.00"

    paid = await client.post(f"/api/library/loans/{three_late.id}/fine/pay", headers=librarian_headers)
    assert paid.status_code == 200
    assert paid.json()["fine_paid_at"] is not None
    assert (await client.get("/api/library/me", headers=ann_headers)).json()["fines_due"]["amount"] == "10.00"
    twice = await client.post(f"/api/library/loans/{three_late.id}/fine/pay", headers=librarian_headers)
    assert twice.status_code == 409
    assert_problem(twice.json(), 409, "no_fine_due")
    still_open = await client.post(f"/api/library/loans/{very_late.id}/fine/pay", headers=librarian_headers)
    assert still_open.status_code == 409


def test_money_is_a_decimal_string_in_the_currencys_unit() -> None:
    assert service.money(125, "EUR").amount == "1.25"
    assert service.money(5, "EUR").amount == "0.05"
    assert service.money(125, "JPY").amount == "125"
    assert service.money(1250, "KWD").amount == "1.250"


def test_fines_count_started_days_and_stop_at_the_cap(settings: Settings) -> None:
    rules = policy(settings).__class__(
        loan_days=14, max_renewals=1, fine_per_day=30, fine_cap=100, currency="USD", pickup_days=2
    )
    due = service.now()
    assert rules.fine(due, due) == 0
    assert rules.fine(due, due - DAY) == 0
    assert rules.fine(due, due + timedelta(seconds=1)) == 30
    assert rules.fine(due, due + DAY) == 30
    assert rules.fine(due, due + 2 * DAY + timedelta(minutes=1)) == 90
    assert rules.fine(due, due + 30 * DAY) == 100


# --- holds ------------------------------------------------------------------------------------


async def test_holds_queue_first_come_first_served(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    ann_headers: dict[str, str],
    bob_member: Member,
    bob_headers: dict[str, str],
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    carol = await create_member(session, name="Carol")
    loan = await lend(session, settings, copy, carol)

    ann_hold = await client.post("/api/library/holds", json={"book_id": str(book.id)}, headers=ann_headers)
    assert ann_hold.status_code == 201, ann_hold.text
    assert (ann_hold.json()["status"], ann_hold.json()["position"]) == ("waiting", 1)
    assert ann_hold.headers["location"] == f"/api/library/holds/{ann_hold.json()['id']}"
    bob_hold = await client.post("/api/library/holds", json={"book_id": str(book.id)}, headers=bob_headers)
    assert bob_hold.json()["position"] == 2

    twice = await client.post("/api/library/holds", json={"book_id": str(book.id)}, headers=ann_headers)
    assert twice.status_code == 409
    assert_problem(twice.json(), 409, "hold_exists")
    assert await count(session, Hold) == 2

    returned = await client.post(f"/api/library/loans/{loan.id}/return", headers=librarian_headers)
    assert returned.status_code == 200
    ready = (await client.get(f"/api/library/holds/{ann_hold.json()['id']}", headers=ann_headers)).json()
    assert (ready["status"], ready["copy_id"], ready["position"]) == ("ready", str(copy.id), None)
    assert ready["expires_at"] > ready["ready_at"]
    assert (await client.get(f"/api/library/holds/{bob_hold.json()['id']}", headers=bob_headers)).json()[
        "position"
    ] == 1
    assert (await client.get(f"/api/library/copies/{copy.id}")).json()["status"] == "held"
    assert (await client.get("/api/library/books", params={"available": "true"})).json()["items"] == []

    # Bob cannot take the copy set aside for Ann, nor see her hold.
    taken = await client.post("/api/library/loans", json={"copy_id": str(copy.id)}, headers=bob_headers)
    assert taken.status_code == 409
    assert_problem(taken.json(), 409, "copy_held")
    assert (
        await client.get(f"/api/library/holds/{ann_hold.json()['id']}", headers=bob_headers)
    ).status_code == 404
    assert (
        await client.delete(f"/api/library/holds/{ann_hold.json()['id']}", headers=bob_headers)
    ).status_code == 404

    borrowed = await client.post("/api/library/loans", json={"copy_id": str(copy.id)}, headers=ann_headers)
    assert borrowed.status_code == 201
    done = (await client.get(f"/api/library/holds/{ann_hold.json()['id']}", headers=ann_headers)).json()
    assert (done["status"], done["copy_id"]) == ("fulfilled", None)

    mine = (await client.get("/api/library/holds", headers=bob_headers)).json()
    assert [item["id"] for item in mine["items"]] == [bob_hold.json()["id"]]
    queue = (
        await client.get(
            "/api/library/holds",
            params={"book_id": str(book.id), "active": "true"},
            headers=librarian_headers,
        )
    ).json()
    assert [item["member_id"] for item in queue["items"]] == [str(bob_member.id)]
    by_member = (
        await client.get(
            "/api/library/holds", params={"member_id": str(ann_member.id)}, headers=librarian_headers
        )
    ).json()
    assert [item["status"] for item in by_member["items"]] == ["fulfilled"]
    account = (await client.get("/api/library/me", headers=bob_headers)).json()
    assert account["active_holds"] == 1


async def test_a_hold_on_a_book_on_the_shelf_sets_a_copy_aside_at_once(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    ann_member: Member,
    ann_headers: dict[str, str],
    bob_headers: dict[str, str],
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    placed = (
        await client.post("/api/library/holds", json={"book_id": str(book.id)}, headers=ann_headers)
    ).json()
    assert (placed["status"], placed["copy_id"]) == ("ready", str(copy.id))
    second = (
        await client.post("/api/library/holds", json={"book_id": str(book.id)}, headers=bob_headers)
    ).json()
    assert (second["status"], second["position"]) == ("waiting", 1)

    # Ann changes her mind: the copy goes to Bob.
    cancelled = await client.delete(f"/api/library/holds/{placed['id']}", headers=ann_headers)
    assert cancelled.status_code == 204
    bob = (await client.get(f"/api/library/holds/{second['id']}", headers=bob_headers)).json()
    assert (bob["status"], bob["copy_id"]) == ("ready", str(copy.id))
    again = await client.delete(f"/api/library/holds/{placed['id']}", headers=ann_headers)
    assert again.status_code == 409
    assert_problem(again.json(), 409, "hold_closed")


async def test_hold_on_a_book_you_borrow_is_409(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    ann_member: Member,
    ann_headers: dict[str, str],
) -> None:
    book = await create_book(session)
    await lend(session, settings, await create_copy(session, settings, book), ann_member)
    response = await client.post("/api/library/holds", json={"book_id": str(book.id)}, headers=ann_headers)
    assert response.status_code == 409
    assert_problem(response.json(), 409, "already_borrowed")
    assert await count(session, Hold) == 0
    unknown = await client.post(
        "/api/library/holds", json={"book_id": str(uuid.uuid4())}, headers=ann_headers
    )
    assert unknown.status_code == 404
    assert await count(session, Hold) == 0


async def test_an_uncollected_hold_expires_and_the_copy_moves_on(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    ann_headers: dict[str, str],
    bob_member: Member,
    bob_headers: dict[str, str],
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    long_ago = service.now() - (settings.library_hold_pickup_days + 1) * DAY
    anns = await hold(session, settings, book, ann_member, moment=long_ago)
    assert anns.status == "ready"
    bobs = await hold(session, settings, book, bob_member, moment=long_ago + timedelta(minutes=1))

    # Reads say so before any write notices.
    assert (await client.get(f"/api/library/holds/{anns.id}", headers=ann_headers)).json()[
        "status"
    ] == "expired"
    late = await client.post("/api/library/loans", json={"copy_id": str(copy.id)}, headers=ann_headers)
    assert late.status_code == 409
    assert_problem(late.json(), 409, "copy_held")
    bob_hold = (await client.get(f"/api/library/holds/{bobs.id}", headers=bob_headers)).json()
    assert (bob_hold["status"], bob_hold["copy_id"]) == ("ready", str(copy.id))
    assert (
        await client.post("/api/library/loans", json={"copy_id": str(copy.id)}, headers=bob_headers)
    ).status_code == 201


async def test_a_new_copy_goes_to_the_first_waiting_member(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
) -> None:
    book = await create_book(session)
    waiting = await hold(session, settings, book, ann_member)
    assert waiting.status == "waiting"
    added = await client.post(
        f"/api/library/books/{book.id}/copies", json={"barcode": "NEW-1"}, headers=librarian_headers
    )
    assert added.json()["status"] == "held"
    await session.refresh(waiting)
    assert (waiting.status, waiting.copy_id) == ("ready", uuid.UUID(added.json()["id"]))


async def test_borrowing_another_copy_fulfils_a_ready_hold_and_frees_its_copy(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    bob_member: Member,
) -> None:
    book = await create_book(session)
    first = await create_copy(session, settings, book)
    anns = await hold(session, settings, book, ann_member)  # sets `first` aside for Ann
    bobs = await hold(session, settings, book, bob_member)
    second = await create_copy(session, settings, book)  # goes to Bob
    await session.refresh(bobs)
    assert (bobs.status, bobs.copy_id) == ("ready", second.id)
    # Ann takes Bob's copy? No: it is held for him. She takes her own.
    refused = await client.post(
        "/api/library/loans",
        json={"copy_id": str(second.id), "member_id": str(ann_member.id)},
        headers=librarian_headers,
    )
    assert refused.status_code == 409
    lent = await client.post(
        "/api/library/loans",
        json={"copy_id": str(first.id), "member_id": str(ann_member.id)},
        headers=librarian_headers,
    )
    assert lent.status_code == 201
    await session.refresh(anns)
    assert anns.status == "fulfilled"


async def test_a_waiting_member_who_borrows_a_returned_copy_elsewhere_leaves_the_queue(
    session: AsyncSession, settings: Settings, ann_member: Member, bob_member: Member
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    await hold(session, settings, book, bob_member)  # ready with `copy`
    anns = await hold(session, settings, book, ann_member)  # waiting
    extra = await create_copy(session, settings, book)  # goes to Ann
    await session.refresh(anns)
    assert anns.copy_id == extra.id
    # Ann borrows the copy held for her: her hold is fulfilled, Bob's remains.
    await lend(session, settings, extra, ann_member)
    await session.refresh(anns)
    assert anns.status == "fulfilled"
    await session.refresh(copy)
    assert copy.status == "held"


async def test_a_ready_hold_whose_member_borrows_another_copy_passes_its_copy_on(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    librarian_headers: dict[str, str],
    ann_member: Member,
    bob_member: Member,
) -> None:
    book = await create_book(session)
    set_aside = await create_copy(session, settings, book)
    anns = await hold(session, settings, book, ann_member)  # ready with `set_aside`
    on_shelf = await create_copy(session, settings, book)  # nobody waiting: on the shelf
    assert on_shelf.status == "available"
    # At the desk Ann takes the copy on the shelf; the one set aside for her is free again.
    lent = await client.post(
        "/api/library/loans",
        json={"copy_id": str(on_shelf.id), "member_id": str(ann_member.id)},
        headers=librarian_headers,
    )
    assert lent.status_code == 201
    await session.refresh(anns)
    assert (anns.status, anns.copy_id) == ("fulfilled", None)
    assert (await client.get(f"/api/library/copies/{set_aside.id}")).json()["status"] == "available"
    # And Bob can place a hold that takes it at once.
    bobs = await client.post(
        "/api/library/holds",
        json={"book_id": str(book.id), "member_id": str(bob_member.id)},
        headers=librarian_headers,
    )
    assert (bobs.json()["status"], bobs.json()["copy_id"]) == ("ready", str(set_aside.id))


@pytest.mark.parametrize("payload", [{}, {"book_id": "x"}, {"book_id": str(uuid.UUID(int=1)), "extra": True}])
async def test_invalid_holds_are_422(
    client: AsyncClient, session: AsyncSession, ann_headers: dict[str, str], payload: dict[str, object]
) -> None:
    response = await client.post("/api/library/holds", json=payload, headers=ann_headers)
    assert response.status_code == 422
    assert await count(session, Hold) == 0
