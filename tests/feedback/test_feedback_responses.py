"""B15: respondents answer through the link: answers checked against the form (every bad one
listed, nothing stored), one response per account or device when the form says so, closed
forms refuse, anonymous answering is rate limited."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.feedback.models import FeedbackAnswer, FeedbackAnswerChoice, FeedbackForm, FeedbackResponse
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.feedback import create_form, question_ids, respond
from tests.factories.limits import limited_client
from tests.feedback.conftest import count

COOKIE = "sixty_feedback_device"


def link(form: FeedbackForm) -> str:
    return f"/api/feedback/f/{form.public_id}"


async def test_anyone_with_the_link_reads_an_open_form(client: AsyncClient, session: AsyncSession) -> None:
    form = await create_form(session, description="Two minutes.")
    response = await client.get(link(form))
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["description"], body["status"], body["answered"]) == (
        "Conference feedback",
        "Two minutes.",
        "open",
        False,
    )
    assert [question["kind"] for question in body["questions"]] == [
        "rating",
        "nps",
        "text",
        "single_choice",
        "multiple_choice",
    ]
    assert "id" not in body  # the staff id stays private


async def test_drafts_unknown_and_malformed_links_are_not_forms(
    client: AsyncClient, session: AsyncSession
) -> None:
    draft = await create_form(session, publish=False)
    for url in (link(draft), "/api/feedback/f/nosuchform123"):
        assert (await client.get(url)).status_code == 404
        response = await client.post(f"{url}/responses", json={"answers": {}})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    for bad in ("a.b", "x" * 65, "%20"):
        assert (await client.get(f"/api/feedback/f/{bad}")).status_code == 422, bad
    assert await count(session, FeedbackResponse) == 0


async def test_a_response_is_stored_with_every_kind_of_answer(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    rating, nps, text, day, sessions = await question_ids(session, form)
    answers = {
        rating: 4,
        nps: 10,
        text: "  Loved it  ",
        day: "Saturday",
        sessions: ["Panel", "Keynote"],
    }
    response = await client.post(f"{link(form)}/responses", json={"answers": answers})
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "submitted_at"}
    # An anonymous respondent's device gets its cookie.
    cookie = response.cookies.get(COOKIE)
    assert cookie is not None
    assert len(cookie) == 43
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=lax" in set_cookie
    assert "path=/api/feedback" in set_cookie

    listed = (await client.get(f"/api/feedback/forms/{form.id}/responses", headers=staff_headers)).json()
    [stored] = listed["items"]
    assert stored["id"] == created["id"]
    assert stored["answers"] == {
        rating: 4,
        nps: 10,
        text: "Loved it",
        day: "Saturday",
        sessions: ["Keynote", "Panel"],  # in the question's order
    }
    assert (stored["user_id"], stored["hidden"]) == (None, False)
    assert await count(session, FeedbackAnswer) == 5  # one per question answered
    assert await count(session, FeedbackAnswerChoice) == 3  # one per choice picked


async def test_optional_questions_may_be_left_out_null_or_empty(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    rating, nps, text, _day, sessions = await question_ids(session, form)
    response = await client.post(
        f"{link(form)}/responses", json={"answers": {rating: 1, nps: None, text: "   ", sessions: []}}
    )
    assert response.status_code == 201, response.text
    [stored] = (await client.get(f"/api/feedback/forms/{form.id}/responses", headers=staff_headers)).json()[
        "items"
    ]
    assert stored["answers"] == {rating: 1}


async def test_every_bad_answer_is_listed_at_once_and_nothing_is_stored(
    client: AsyncClient, session: AsyncSession
) -> None:
    form = await create_form(session)
    rating, nps, text, day, sessions = await question_ids(session, form)
    stranger = str(uuid.uuid4())
    answers = {
        nps: 11,
        text: "x" * 51,
        day: "Sunday",
        sessions: ["Keynote", "Workshop", "Panel"],
        stranger: 3,
        "not-a-question": "hello",
    }
    response = await client.post(f"{link(form)}/responses", json={"answers": answers})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    found = {error["field"]: error["type"] for error in problem["errors"]}
    assert found == {
        f"answers.{rating}": "missing",
        f"answers.{nps}": "out_of_range",
        f"answers.{text}": "string_too_long",
        f"answers.{day}": "unknown_choice",
        f"answers.{sessions}": "selection_count",
        f"answers.{stranger}": "unknown_question",
        "answers.not-a-question": "unknown_question",
    }
    assert all(error["loc"][:2] == ["body", "answers"] for error in problem["errors"])
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert messages[f"answers.{nps}"] == "Must be an integer from 0 to 10."
    assert messages[f"answers.{day}"] == "Must be one of: Friday, Saturday."
    assert messages[f"answers.{sessions}"] == "Pick between 1 and 2 choices."
    assert await count(session, FeedbackResponse) == 0
    assert await count(session, FeedbackAnswer) == 0


BAD_ANSWERS: list[tuple[str, int, Any, str]] = [
    # (case, question index, value, error type)
    ("rating zero", 0, 0, "out_of_range"),
    ("rating six", 0, 6, "out_of_range"),
    ("rating as text", 0, "5", "wrong_type"),
    # JSON that is none of an answer's types is refused by the schema already (value_error).
    ("rating as a bool", 0, True, "value_error"),
    ("rating as a list of numbers", 0, [5], "value_error"),
    ("nps negative", 1, -1, "out_of_range"),
    ("nps huge", 1, 10**18, "out_of_range"),
    ("nps beyond 64 bits", 1, 10**30, "value_error"),
    ("text as a number", 2, 42, "wrong_type"),
    ("text as a list", 2, ["a"], "wrong_type"),
    ("text with NUL", 2, "a\x00b", "invalid_text"),
    ("single choice as a list", 3, ["Friday"], "wrong_type"),
    ("single choice of another case", 3, "friday", "unknown_choice"),
    ("multiple choice as a string", 4, "Keynote", "wrong_type"),
    ("multiple choice repeated", 4, ["Keynote", "Keynote"], "duplicate_choice"),
    ("multiple choice unknown", 4, ["Keynote", "Dinner"], "unknown_choice"),
]


@pytest.mark.parametrize(
    ("case", "index", "value", "kind"), BAD_ANSWERS, ids=[case[0] for case in BAD_ANSWERS]
)
async def test_an_answer_that_does_not_fit_its_question_is_refused(
    client: AsyncClient, session: AsyncSession, case: str, index: int, value: Any, kind: str
) -> None:
    form = await create_form(session)
    ids = await question_ids(session, form)
    answers = {ids[0]: 3, ids[index]: value}
    response = await client.post(f"{link(form)}/responses", json={"answers": answers})
    assert response.status_code == 422, (case, response.text)
    assert [(error["field"], error["type"]) for error in response.json()["errors"]] == [
        (f"answers.{ids[index]}", kind)
    ], case
    assert await count(session, FeedbackResponse) == 0


async def test_malformed_bodies_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    form = await create_form(session)
    [rating, *_] = await question_ids(session, form)
    url = f"{link(form)}/responses"
    bodies: list[dict[str, Any]] = [
        {},
        {"answers": []},
        {"answers": {rating: 4.5}},  # not an integer: refused before the form is looked at
        {"answers": {rating: {"score": 4}}},
        {"answers": {rating: 4}, "respondent": "me"},
        {"answers": {f"q{i}": 1 for i in range(101)}},
        {"answers": {rating: ["a"] * 51}},
        {"answers": {rating: "t" * 10_001}},
    ]
    for body in bodies:
        response = await client.post(url, json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        await client.post(url, content=b"answers=4", headers={"Content-Type": "text/plain"})
    ).status_code == 415
    assert await count(session, FeedbackResponse) == 0


async def test_a_question_id_may_be_written_in_capitals_but_only_once(
    client: AsyncClient, session: AsyncSession
) -> None:
    form = await create_form(session)
    [rating, *_] = await question_ids(session, form)
    upper = await client.post(f"{link(form)}/responses", json={"answers": {rating.upper(): 5}})
    assert upper.status_code == 201
    twice = await client.post(f"{link(form)}/responses", json={"answers": {rating: 5, rating.upper(): 4}})
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["type"] == "duplicate_answer"
    assert await count(session, FeedbackResponse) == 1


async def test_a_closed_form_refuses_responses_with_410(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    [rating, *_] = await question_ids(session, form)
    await client.post(f"/api/feedback/forms/{form.id}/close", headers=staff_headers)
    read = await client.get(link(form))
    assert (read.status_code, read.json()["status"]) == (200, "closed")
    response = await client.post(f"{link(form)}/responses", json={"answers": {rating: 5}})
    assert response.status_code == 410
    assert response.json()["code"] == "form_closed"
    assert await count(session, FeedbackResponse) == 0


async def test_a_form_can_take_signed_in_accounts_only(
    client: AsyncClient, session: AsyncSession, ann: User, ann_headers: dict[str, str]
) -> None:
    form = await create_form(session, require_sign_in=True)
    [rating, *_] = await question_ids(session, form)
    anonymous = await client.post(f"{link(form)}/responses", json={"answers": {rating: 5}})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "sign_in_required"
    signed_in = await client.post(
        f"{link(form)}/responses", json={"answers": {rating: 5}}, headers=ann_headers
    )
    assert signed_in.status_code == 201
    assert COOKIE not in signed_in.cookies  # accounts need no device cookie
    stored = await session.scalar(select(FeedbackResponse))
    assert stored is not None
    assert (stored.user_id, stored.respondent_key) == (ann.id, None)  # a repeatable form keeps no key


async def test_one_response_per_account(
    client: AsyncClient, session: AsyncSession, ann: User, ann_headers: dict[str, str]
) -> None:
    form = await create_form(session, one_response_per_respondent=True)
    [rating, *_] = await question_ids(session, form)
    url = f"{link(form)}/responses"
    assert (await client.get(link(form), headers=ann_headers)).json()["answered"] is False
    assert (await client.post(url, json={"answers": {rating: 5}}, headers=ann_headers)).status_code == 201
    again = await client.post(url, json={"answers": {rating: 1}}, headers=ann_headers)
    assert again.status_code == 409
    assert again.json()["code"] == "already_responded"
    assert (await client.get(link(form), headers=ann_headers)).json()["answered"] is True
    # Even a bad second response is told it is a second one first.
    assert (await client.post(url, json={"answers": {rating: 9}}, headers=ann_headers)).status_code == 409
    assert await count(session, FeedbackResponse) == 1


async def test_one_response_per_device_for_anonymous_respondents(app: Any, session: AsyncSession) -> None:
    form = await create_form(session, one_response_per_respondent=True)
    [rating, *_] = await question_ids(session, form)
    url = f"{link(form)}/responses"
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as phone:
        first = await phone.post(url, json={"answers": {rating: 5}})
        assert first.status_code == 201
        assert (await phone.get(link(form))).json()["answered"] is True
        again = await phone.post(url, json={"answers": {rating: 4}})  # the cookie came back
        assert again.status_code == 409
        assert again.json()["code"] == "already_responded"
    async with AsyncClient(transport=transport, base_url="http://testserver") as laptop:
        assert (await laptop.get(link(form))).json()["answered"] is False
        assert (await laptop.post(url, json={"answers": {rating: 3}})).status_code == 201
        # A cookie that is not one we issue is ignored (and replaced), not trusted.
    async with AsyncClient(
        transport=transport, base_url="http://testserver", cookies={COOKIE: "forged;value"}
    ) as odd:
        response = await odd.post(url, json={"answers": {rating: 2}})
        assert response.status_code == 201
        assert response.cookies.get(COOKIE) != "forged;value"
    rows = (await session.scalars(select(FeedbackResponse.respondent_key))).all()
    assert len(rows) == 3
    assert all(key is not None and key.startswith("device:") and len(key) == 71 for key in rows)


async def test_repeatable_forms_take_many_responses_from_one_respondent(
    client: AsyncClient, session: AsyncSession, ann_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    [rating, *_] = await question_ids(session, form)
    for score in (1, 2, 3):
        response = await client.post(
            f"{link(form)}/responses", json={"answers": {rating: score}}, headers=ann_headers
        )
        assert response.status_code == 201
    assert (await client.get(link(form), headers=ann_headers)).json()["answered"] is False
    assert await count(session, FeedbackResponse) == 3


@pytest.fixture
async def limited(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    async with limited_client(settings, db, {"feedback.respond.ip": "2/hour"}) as client:
        yield client


async def test_anonymous_responses_are_limited_per_address(
    limited: AsyncClient, session: AsyncSession, auth: auth_service.AuthContext
) -> None:
    form = await create_form(session)
    [rating, *_] = await question_ids(session, form)
    url = f"{link(form)}/responses"
    statuses = [(await limited.post(url, json={"answers": {rating: 5}})).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    await create_user(session, auth, email="bea@example.com", username="bea")
    headers = bearer(await sign_in(limited, "bea@example.com"))
    assert (await limited.post(url, json={"answers": {rating: 5}}, headers=headers)).status_code == 201
    assert await count(session, FeedbackResponse) == 3


async def test_a_hidden_response_still_counts_as_the_respondents_one(
    client: AsyncClient,
    session: AsyncSession,
    ann: User,
    ann_headers: dict[str, str],
    staff_headers: dict[str, str],
) -> None:
    form = await create_form(session, one_response_per_respondent=True)
    [rating, *_] = await question_ids(session, form)
    first = await respond(session, form, {rating: 1}, user_id=ann.id)
    hidden = await client.patch(
        f"/api/feedback/forms/{form.id}/responses/{first.id}", json={"hidden": True}, headers=staff_headers
    )
    assert hidden.status_code == 200
    again = await client.post(f"{link(form)}/responses", json={"answers": {rating: 5}}, headers=ann_headers)
    assert again.status_code == 409
