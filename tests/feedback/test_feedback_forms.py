"""B15: staff build forms: questions of every kind, publish and close, what may change once
responses exist, and every bad definition refused with nothing stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.feedback.models import FeedbackForm, FeedbackQuestion, FeedbackResponse
from tests.factories.feedback import QUESTIONS, create_form, question_ids, respond
from tests.feedback.conftest import count

FORMS = "/api/feedback/forms"


async def test_staff_create_a_draft_form_with_its_questions_in_order(
    client: AsyncClient, staff_headers: dict[str, str], staff: User
) -> None:
    response = await client.post(
        FORMS,
        json={"title": " Conference feedback ", "one_response_per_respondent": True, "questions": QUESTIONS},
        headers=staff_headers,
    )
    assert response.status_code == 201, response.text
    form = response.json()
    assert response.headers["location"] == f"{FORMS}/{form['id']}"
    assert form["title"] == "Conference feedback"
    assert (form["status"], form["one_response_per_respondent"], form["require_sign_in"]) == (
        "draft",
        True,
        False,
    )
    assert form["created_by"] == str(staff.id)
    assert form["response_count"] == 0
    assert len(form["public_id"]) == 22
    assert form["url"] == f"http://testserver/api/feedback/f/{form['public_id']}"
    questions = form["questions"]
    assert [(q["position"], q["kind"], q["required"]) for q in questions] == [
        (1, "rating", True),
        (2, "nps", False),
        (3, "text", False),
        (4, "single_choice", False),
        (5, "multiple_choice", False),
    ]
    assert questions[2]["max_length"] == 50
    assert questions[3]["choices"] == ["Friday", "Saturday"]
    assert (questions[4]["min_selections"], questions[4]["max_selections"]) == (1, 2)
    assert (questions[3]["min_selections"], questions[0]["choices"]) == (None, None)
    assert (await client.get(response.headers["location"], headers=staff_headers)).json() == form
    # Defaults: a text question takes 2000 characters, a multiple choice any number of its choices.
    defaults = await client.post(
        FORMS,
        json={
            "title": "Defaults",
            "questions": [
                {"kind": "text", "prompt": "Say"},
                {"kind": "multiple_choice", "prompt": "Pick", "choices": ["a", "b", "c"]},
            ],
        },
        headers=staff_headers,
    )
    text, pick = defaults.json()["questions"]
    assert text["max_length"] == 2000
    assert (pick["min_selections"], pick["max_selections"]) == (0, 3)


async def test_forms_are_for_staff_only(
    client: AsyncClient, session: AsyncSession, ann_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    requests: list[tuple[str, str, Any]] = [
        ("POST", FORMS, {"title": "x"}),
        ("GET", FORMS, None),
        ("GET", f"{FORMS}/{form.id}", None),
        ("PATCH", f"{FORMS}/{form.id}", {"title": "x"}),
        ("DELETE", f"{FORMS}/{form.id}", None),
        ("PUT", f"{FORMS}/{form.id}/questions", {"questions": []}),
        ("POST", f"{FORMS}/{form.id}/questions", {"kind": "nps", "prompt": "x"}),
        ("POST", f"{FORMS}/{form.id}/publish", None),
        ("POST", f"{FORMS}/{form.id}/close", None),
        ("GET", f"{FORMS}/{form.id}/responses", None),
        ("GET", f"{FORMS}/{form.id}/summary", None),
        ("GET", f"{FORMS}/{form.id}/responses.csv", None),
        ("PATCH", f"{FORMS}/{form.id}/responses/{uuid.uuid4()}", {"hidden": True}),
    ]
    for method, url, body in requests:
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
        signed_in = await client.request(method, url, json=body, headers=ann_headers)
        assert signed_in.status_code == 403, (method, url)
        assert signed_in.json()["code"] == "permission_denied"
    assert await count(session, FeedbackForm) == 1


async def test_list_forms_by_status_with_cursors(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    draft = await create_form(session, title="Draft", publish=False)
    open_form = await create_form(session, title="Open")
    listed = (await client.get(FORMS, headers=staff_headers)).json()
    assert [item["title"] for item in listed["items"]] == ["Open", "Draft"]
    assert "questions" not in listed["items"][0]
    drafts = (await client.get(FORMS, params={"status": "draft"}, headers=staff_headers)).json()
    assert [item["id"] for item in drafts["items"]] == [str(draft.id)]
    first = (await client.get(FORMS, params={"limit": 1, "sort": "created_at"}, headers=staff_headers)).json()
    assert [item["id"] for item in first["items"]] == [str(draft.id)]
    rest = await client.get(
        FORMS,
        params={"limit": 1, "sort": "created_at", "cursor": first["next_cursor"]},
        headers=staff_headers,
    )
    assert [item["id"] for item in rest.json()["items"]] == [str(open_form.id)]
    for params in ({"status": "archived"}, {"sort": "title"}, {"cursor": "x.y"}):
        assert (await client.get(FORMS, params=params, headers=staff_headers)).status_code == 422


async def test_publish_close_and_reopen(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session, publish=False)
    url = f"{FORMS}/{form.id}"
    closing_a_draft = await client.post(f"{url}/close", headers=staff_headers)
    assert closing_a_draft.status_code == 409
    assert closing_a_draft.json()["code"] == "form_is_draft"
    opened = (await client.post(f"{url}/publish", headers=staff_headers)).json()
    assert opened["status"] == "open"
    assert opened["published_at"] is not None
    assert (await client.post(f"{url}/publish", headers=staff_headers)).json() == opened  # stays open
    closed = (await client.post(f"{url}/close", headers=staff_headers)).json()
    assert (closed["status"], closed["published_at"]) == ("closed", opened["published_at"])
    assert closed["closed_at"] is not None
    assert (await client.post(f"{url}/close", headers=staff_headers)).json()["status"] == "closed"
    reopened = (await client.post(f"{url}/publish", headers=staff_headers)).json()
    assert (reopened["status"], reopened["closed_at"], reopened["published_at"]) == (
        "open",
        None,
        opened["published_at"],
    )


async def test_a_form_without_questions_cannot_be_published(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session, questions=[], publish=False)
    response = await client.post(f"{FORMS}/{form.id}/publish", headers=staff_headers)
    assert response.status_code == 409
    assert response.json()["code"] == "form_has_no_questions"
    assert (await client.get(f"{FORMS}/{form.id}", headers=staff_headers)).json()["status"] == "draft"


async def test_without_responses_everything_can_change(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    url = f"{FORMS}/{form.id}"
    old_ids = await question_ids(session, form)
    patched = await client.patch(
        url,
        json={
            "title": "New title",
            "description": "Two minutes.",
            "require_sign_in": True,
            "one_response_per_respondent": True,
        },
        headers=staff_headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (
        body["title"],
        body["description"],
        body["require_sign_in"],
        body["one_response_per_respondent"],
    ) == (
        "New title",
        "Two minutes.",
        True,
        True,
    )
    cleared = (await client.patch(url, json={"description": None}, headers=staff_headers)).json()
    assert cleared["description"] is None
    assert cleared["title"] == "New title"

    replaced = await client.put(
        f"{url}/questions",
        json={"questions": [{"kind": "nps", "prompt": "Recommend us?", "required": True}]},
        headers=staff_headers,
    )
    assert replaced.status_code == 200, replaced.text
    [only] = replaced.json()["questions"]
    assert (only["position"], only["kind"], only["prompt"]) == (1, "nps", "Recommend us?")
    assert only["id"] not in old_ids
    appended = await client.post(
        f"{url}/questions", json={"kind": "text", "prompt": "Why?", "required": True}, headers=staff_headers
    )
    assert appended.status_code == 201, appended.text
    assert (appended.json()["position"], appended.json()["max_length"]) == (2, 2000)
    assert await count(session, FeedbackQuestion) == 2


async def test_once_answered_questions_and_settings_are_fixed(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    ids = await question_ids(session, form)
    await respond(session, form, {ids[0]: 4})
    url = f"{FORMS}/{form.id}"

    for body in ({"one_response_per_respondent": True}, {"require_sign_in": True}):
        refused = await client.patch(url, json=body, headers=staff_headers)
        assert refused.status_code == 409, body
        assert refused.json()["code"] == "form_has_responses"
    same = await client.patch(url, json={"require_sign_in": False, "title": "Renamed"}, headers=staff_headers)
    assert same.status_code == 200  # settings sent unchanged are fine, and the title changes
    assert same.json()["title"] == "Renamed"

    replaced = await client.put(
        f"{url}/questions", json={"questions": [{"kind": "nps", "prompt": "x"}]}, headers=staff_headers
    )
    assert replaced.status_code == 409
    assert replaced.json()["code"] == "form_has_responses"
    required = await client.post(
        f"{url}/questions", json={"kind": "nps", "prompt": "x", "required": True}, headers=staff_headers
    )
    assert required.status_code == 409
    optional = await client.post(
        f"{url}/questions", json={"kind": "nps", "prompt": "Again?"}, headers=staff_headers
    )
    assert optional.status_code == 201
    assert optional.json()["position"] == 6
    assert await question_ids(session, form) == [*ids, optional.json()["id"]]


async def test_deleting_a_form_takes_its_responses(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(session)
    ids = await question_ids(session, form)
    await respond(session, form, {ids[0]: 5})
    response = await client.delete(f"{FORMS}/{form.id}", headers=staff_headers)
    assert response.status_code == 204
    assert await count(session, FeedbackForm) == 0
    assert await count(session, FeedbackResponse) == 0
    assert (await client.get(f"{FORMS}/{form.id}", headers=staff_headers)).status_code == 404
    assert (await client.delete(f"{FORMS}/{form.id}", headers=staff_headers)).status_code == 404


async def test_unknown_forms_are_404(client: AsyncClient, staff_headers: dict[str, str]) -> None:
    missing = f"{FORMS}/{uuid.uuid4()}"
    for method, url, body in (
        ("GET", missing, None),
        ("PATCH", missing, {"title": "x"}),
        ("PUT", f"{missing}/questions", {"questions": []}),
        ("POST", f"{missing}/questions", {"kind": "nps", "prompt": "x"}),
        ("POST", f"{missing}/publish", None),
        ("POST", f"{missing}/close", None),
        ("GET", f"{missing}/responses", None),
        ("GET", f"{missing}/summary", None),
        ("GET", f"{missing}/responses.csv", None),
    ):
        response = await client.request(method, url, json=body, headers=staff_headers)
        assert response.status_code == 404, (method, url)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{FORMS}/not-a-uuid", headers=staff_headers)).status_code == 422


BAD_QUESTIONS: list[tuple[str, Any, str]] = [
    ("no kind", {"prompt": "x"}, "union_tag_not_found"),
    ("unknown kind", {"kind": "slider", "prompt": "x"}, "union_tag_invalid"),
    ("no prompt", {"kind": "nps"}, "missing"),
    ("blank prompt", {"kind": "nps", "prompt": "  "}, "string_pattern_mismatch"),
    ("prompt on two lines", {"kind": "nps", "prompt": "a\nb"}, "string_pattern_mismatch"),
    ("prompt too long", {"kind": "nps", "prompt": "p" * 501}, "string_too_long"),
    ("choices on a rating", {"kind": "rating", "prompt": "x", "choices": ["a", "b"]}, "extra_forbidden"),
    (
        "max_length on a choice",
        {"kind": "single_choice", "prompt": "x", "choices": ["a", "b"], "max_length": 3},
        "extra_forbidden",
    ),
    ("text max_length 0", {"kind": "text", "prompt": "x", "max_length": 0}, "greater_than_equal"),
    ("text max_length too big", {"kind": "text", "prompt": "x", "max_length": 10_001}, "less_than_equal"),
    ("no choices", {"kind": "single_choice", "prompt": "x"}, "missing"),
    ("one choice", {"kind": "single_choice", "prompt": "x", "choices": ["only"]}, "too_short"),
    (
        "51 choices",
        {"kind": "single_choice", "prompt": "x", "choices": [f"c{i}" for i in range(51)]},
        "too_long",
    ),
    (
        "choices alike but for case",
        {"kind": "single_choice", "prompt": "x", "choices": ["Yes", "yes"]},
        "value_error",
    ),
    (
        "blank choice",
        {"kind": "single_choice", "prompt": "x", "choices": ["a", " "]},
        "string_pattern_mismatch",
    ),
    (
        "choice on two lines",
        {"kind": "multiple_choice", "prompt": "x", "choices": ["a", "b\r\nc"]},
        "string_pattern_mismatch",
    ),
    (
        "choice too long",
        {"kind": "single_choice", "prompt": "x", "choices": ["a", "b" * 201]},
        "string_too_long",
    ),
    (
        "min above max",
        {
            "kind": "multiple_choice",
            "prompt": "x",
            "choices": ["a", "b", "c"],
            "min_selections": 3,
            "max_selections": 2,
        },
        "value_error",
    ),
    (
        "max above choices",
        {"kind": "multiple_choice", "prompt": "x", "choices": ["a", "b"], "max_selections": 3},
        "value_error",
    ),
    (
        "min above choices",
        {"kind": "multiple_choice", "prompt": "x", "choices": ["a", "b"], "min_selections": 3},
        "value_error",
    ),
    (
        "negative min",
        {"kind": "multiple_choice", "prompt": "x", "choices": ["a", "b"], "min_selections": -1},
        "greater_than_equal",
    ),
    ("required not a bool", {"kind": "nps", "prompt": "x", "required": "maybe"}, "bool_type"),
    ("not an object", "rating", "model_attributes_type"),
]


@pytest.mark.parametrize(("case", "question", "kind"), BAD_QUESTIONS, ids=[case[0] for case in BAD_QUESTIONS])
async def test_a_bad_question_is_refused_and_nothing_is_stored(
    client: AsyncClient,
    session: AsyncSession,
    staff_headers: dict[str, str],
    case: str,
    question: Any,
    kind: str,
) -> None:
    form = await create_form(session, publish=False)
    before = await count(session, FeedbackQuestion)
    for method, url, body in (
        ("POST", FORMS, {"title": "Bad", "questions": [question]}),
        ("PUT", f"{FORMS}/{form.id}/questions", {"questions": [{"kind": "nps", "prompt": "fine"}, question]}),
        ("POST", f"{FORMS}/{form.id}/questions", question),
    ):
        response = await client.request(method, url, json=body, headers=staff_headers)
        assert response.status_code == 422, (case, method, response.text)
        problem = response.json()
        assert problem["code"] == "validation_failed"
        assert kind in {error["type"] for error in problem["errors"]}, (case, problem["errors"])
    assert await count(session, FeedbackForm) == 1
    assert await count(session, FeedbackQuestion) == before


async def test_bad_forms_are_refused(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    nps = {"kind": "nps", "prompt": "x"}
    bodies: list[dict[str, Any]] = [
        {},
        {"title": ""},
        {"title": "a\nb"},
        {"title": "t" * 201},
        {"title": "ok", "description": " "},
        {"title": "ok", "description": "d" * 2001},
        {"title": "ok", "questions": [nps] * 101},
        {"title": "ok", "one_response_per_respondent": "often"},
        {"title": "ok", "public_id": "mine"},
    ]
    for body in bodies:
        response = await client.post(FORMS, json=body, headers=staff_headers)
        assert response.status_code == 422, body
    form = await create_form(session, publish=False)
    for patch in ({"title": None}, {"require_sign_in": None}, {"status": "open"}, {"title": "x\ty"}):
        response = await client.patch(f"{FORMS}/{form.id}", json=patch, headers=staff_headers)
        assert response.status_code == 422, patch
    assert (
        await client.put(
            f"{FORMS}/{form.id}/questions", json={"questions": [nps] * 101}, headers=staff_headers
        )
    ).status_code == 422
    assert (await client.post(FORMS, data={"title": "x"}, headers=staff_headers)).status_code == 415
    assert await count(session, FeedbackForm) == 1


async def test_a_form_holds_at_most_100_questions(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(
        session, questions=[{"kind": "nps", "prompt": f"q{i}"} for i in range(100)], publish=False
    )
    response = await client.post(
        f"{FORMS}/{form.id}/questions", json={"kind": "nps", "prompt": "one more"}, headers=staff_headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_questions"
    assert await count(session, FeedbackQuestion) == 100
