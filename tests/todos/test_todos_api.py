"""B3 To-Do list over the app: the Todo-Backend behaviours, ordering, absolute URLs, bad input
(each: the problem document, and nothing written) and whose list a caller works on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from sixty.todos import service
from sixty.todos.models import Todo
from tests.factories.todos import create_todo, todo_count

ROOT = "/api/todos"
JSON = {"Content-Type": "application/json"}


async def test_create_read_update_delete(client: AsyncClient) -> None:
    created = await client.post(ROOT, json={"title": "walk the dog"})
    assert created.status_code == 201
    todo = created.json()
    assert set(todo) == {"id", "title", "completed", "order", "url"}
    assert todo["title"] == "walk the dog"
    assert todo["completed"] is False
    assert todo["order"] is None
    assert todo["url"] == f"http://testserver{ROOT}/{todo['id']}"
    assert created.headers["location"] == todo["url"]

    read = await client.get(todo["url"])
    assert read.status_code == 200
    assert read.json() == todo

    patched = await client.patch(todo["url"], json={"title": "bathe the cat", "completed": True, "order": 3})
    assert patched.status_code == 200
    assert patched.json() == {**todo, "title": "bathe the cat", "completed": True, "order": 3}
    assert (await client.get(todo["url"])).json() == patched.json()
    assert (await client.get(ROOT)).json() == [patched.json()]

    deleted = await client.delete(todo["url"])
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(todo["url"])).status_code == 404
    assert (await client.get(ROOT)).json() == []


async def test_create_with_every_field_keeps_them_as_given(client: AsyncClient) -> None:
    response = await client.post(ROOT, json={"title": "  spaced  ", "completed": True, "order": 523})
    assert response.status_code == 201
    assert response.json()["title"] == "  spaced  "
    assert response.json()["completed"] is True
    assert response.json()["order"] == 523


@pytest.mark.parametrize("order", [0, -5, -(2**31), 2**31 - 1])
async def test_any_32_bit_order_is_kept(client: AsyncClient, order: int) -> None:
    todo = (await client.post(ROOT, json={"title": "t", "order": order})).json()
    assert todo["order"] == order
    assert (await client.get(todo["url"])).json()["order"] == order


async def test_an_integral_number_is_an_integer_order(client: AsyncClient) -> None:
    # JSON has one number type; JSON Schema's `integer` includes 3.0 (3.5 is refused, see below).
    todo = (await client.post(ROOT, json={"title": "t", "order": 3.0})).json()
    assert todo["order"] == 3
    assert (await client.patch(todo["url"], json={"order": 112148.0})).json()["order"] == 112148


@pytest.mark.parametrize(
    "change",
    [
        {"title": "only the title"},
        {"completed": True},
        {"order": 95},
        {"title": "title and order", "order": 7},
        {"completed": True, "order": -1},
        {"title": "all three", "completed": True, "order": 0},
        {},
    ],
)
async def test_patch_changes_only_what_is_sent(client: AsyncClient, change: dict[str, Any]) -> None:
    todo = (await client.post(ROOT, json={"title": "initial", "order": 10})).json()
    patched = await client.patch(todo["url"], json=change)
    assert patched.status_code == 200
    assert patched.json() == {**todo, **change}
    assert (await client.get(todo["url"])).json() == {**todo, **change}


async def test_patch_order_null_removes_the_position(client: AsyncClient) -> None:
    todo = (await client.post(ROOT, json={"title": "t", "order": 4})).json()
    patched = await client.patch(todo["url"], json={"order": None})
    assert patched.status_code == 200
    assert patched.json()["order"] is None


async def test_completed_can_be_set_back_to_false(client: AsyncClient) -> None:
    todo = (await client.post(ROOT, json={"title": "t", "completed": True})).json()
    assert (await client.patch(todo["url"], json={"completed": False})).json()["completed"] is False


async def test_list_is_a_bare_array_by_order_then_creation(client: AsyncClient) -> None:
    titles = [("no order 1", None), ("ten", 10), ("minus one", -1), ("no order 2", None), ("ten again", 10)]
    for title, order in titles:
        assert (await client.post(ROOT, json={"title": title, "order": order})).status_code == 201
    listed = await client.get(ROOT)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    items = listed.json()
    assert isinstance(items, list)
    assert [item["title"] for item in items] == ["minus one", "ten", "ten again", "no order 1", "no order 2"]
    for item in items:
        assert (await client.get(item["url"])).json() == item


async def test_delete_root_clears_the_list(client: AsyncClient, session: AsyncSession) -> None:
    for index in range(3):
        await create_todo(session, title=f"todo {index}")
    cleared = await client.delete(ROOT)
    assert cleared.status_code == 204
    assert (await client.get(ROOT)).json() == []
    assert await todo_count(session) == 0
    assert (await client.delete(ROOT)).status_code == 204  # clearing an empty list is fine too


@pytest.fixture
async def public_client(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    application: FastAPI = create_app(
        settings.model_copy(update={"public_base_url": "https://todo.example.com/base/"}), db=db
    )
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://internal:8080") as http,
    ):
        yield http


async def test_urls_use_the_public_base_url_when_set(public_client: AsyncClient) -> None:
    created = await public_client.post(ROOT, json={"title": "t"})
    todo = created.json()
    assert todo["url"] == f"https://todo.example.com/base{ROOT}/{todo['id']}"
    assert created.headers["location"] == todo["url"]
    assert (await public_client.get(ROOT)).json()[0]["url"] == todo["url"]
    assert (await public_client.get(f"{ROOT}/{todo['id']}")).json()["url"] == todo["url"]


# Bad input: a clear problem document, and nothing written.

VALID = {"title": "t"}


@pytest.mark.parametrize(
    ("payload", "field", "kind"),
    [
        ({}, "title", "missing"),
        ({"completed": True, "order": 1}, "title", "missing"),
        ({"title": None}, "title", "string_type"),
        ({"title": ""}, "title", "string_too_short"),
        ({"title": " \t "}, "title", "string_pattern_mismatch"),
        ({"title": "nul\u0000"}, "title", "string_pattern_mismatch"),
        ({"title": "\u0085"}, "title", "string_pattern_mismatch"),
        ({"title": "\ufeff\u3000"}, "title", "string_pattern_mismatch"),
        ({"title": "x" * 501}, "title", "string_too_long"),
        ({"title": 5}, "title", "string_type"),
        ({"title": ["t"]}, "title", "string_type"),
        ({**VALID, "completed": "true"}, "completed", "bool_type"),
        ({**VALID, "completed": 1}, "completed", "bool_type"),
        ({**VALID, "completed": None}, "completed", "bool_type"),
        ({**VALID, "order": "3"}, "order", "int_type"),
        ({**VALID, "order": 1.5}, "order", "int_type"),
        ({**VALID, "order": True}, "order", "int_type"),
        ({**VALID, "order": 2**31}, "order", "less_than_equal"),
        ({**VALID, "order": -(2**31) - 1}, "order", "greater_than_equal"),
        ({**VALID, "url": "http://elsewhere/"}, "url", "extra_forbidden"),
        ({**VALID, "id": str(uuid.uuid4())}, "id", "extra_forbidden"),
        ([], "", "model_attributes_type"),
        ("walk the dog", "", "model_attributes_type"),
    ],
)
async def test_invalid_create_is_422_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, payload: object, field: str, kind: str
) -> None:
    response = await client.post(ROOT, json=payload)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert any(error["field"] == field and error["type"] == kind for error in problem["errors"]), problem
    assert await todo_count(session, everyone=True) == 0


async def test_field_messages_are_readable(client: AsyncClient) -> None:
    errors = (await client.post(ROOT, json={"title": "t", "completed": "yes", "order": "1"})).json()["errors"]
    assert {error["field"]: error["message"] for error in errors} == {
        "completed": "Must be true or false.",
        "order": "Must be an integer.",
    }


async def test_title_of_500_characters_is_accepted(client: AsyncClient) -> None:
    assert (await client.post(ROOT, json={"title": "x" * 500})).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field", "kind"),
    [
        ({"title": None}, "title", "value_error"),
        ({"completed": None}, "completed", "value_error"),
        ({"title": ""}, "title", "string_too_short"),
        ({"completed": "false"}, "completed", "bool_type"),
        ({"order": "95"}, "order", "int_type"),
        ({"order": 2**40}, "order", "less_than_equal"),
        ({"done": True}, "done", "extra_forbidden"),
        ({"title": "ok", "url": "x"}, "url", "extra_forbidden"),
        ([{"completed": True}], "", "model_attributes_type"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: AsyncClient, session: AsyncSession, payload: object, field: str, kind: str
) -> None:
    todo = await create_todo(session, title="keep", order=1)
    response = await client.patch(f"{ROOT}/{todo.id}", json=payload)
    assert response.status_code == 422
    problem = response.json()
    assert any(error["field"] == field and error["type"] == kind for error in problem["errors"]), problem
    unchanged = (await client.get(f"{ROOT}/{todo.id}")).json()
    assert (unchanged["title"], unchanged["completed"], unchanged["order"]) == ("keep", False, 1)


async def test_patch_without_a_body_is_422(client: AsyncClient, session: AsyncSession) -> None:
    todo = await create_todo(session, title="keep")
    response = await client.patch(f"{ROOT}/{todo.id}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "missing"


@pytest.mark.parametrize("body", [b'{"title": ', b"\xff\xfe{}", b'{"title": "\xe9"}', b"title=t"])
async def test_malformed_json_is_422_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, body: bytes
) -> None:
    response = await client.post(ROOT, content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert await todo_count(session, everyone=True) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_non_json_is_415_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, content_type: str
) -> None:
    todo = await create_todo(session, title="keep")
    headers = {"Content-Type": content_type}
    created = await client.post(ROOT, content=b'{"title": "t"}', headers=headers)
    patched = await client.patch(f"{ROOT}/{todo.id}", content=b'{"title": "changed"}', headers=headers)
    for response in (created, patched):
        assert response.status_code == 415
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unsupported_media_type"
    assert await todo_count(session, everyone=True) == 1
    assert (await client.get(f"{ROOT}/{todo.id}")).json()["title"] == "keep"


async def test_huge_body_is_413_and_writes_nothing(client: AsyncClient, session: AsyncSession) -> None:
    todo = await create_todo(session, title="keep")
    body = b'{"title": "' + b"x" * 1_100_000 + b'"}'
    created = await client.post(ROOT, content=body, headers=JSON)
    patched = await client.patch(f"{ROOT}/{todo.id}", content=body, headers=JSON)
    for response in (created, patched):
        assert response.status_code == 413
        assert response.json()["code"] == "content_too_large"
    assert await todo_count(session, everyone=True) == 1
    assert (await client.get(f"{ROOT}/{todo.id}")).json()["title"] == "keep"


async def test_unknown_id_is_404_and_writes_nothing(client: AsyncClient, session: AsyncSession) -> None:
    await create_todo(session, title="keep")
    missing = uuid.uuid4()
    for method, payload in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        response = await client.request(method, f"{ROOT}/{missing}", json=payload)
        assert response.status_code == 404, method
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"
        assert str(missing) in response.json()["detail"]
    assert await todo_count(session, everyone=True) == 1


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "0b6f1f5e-4a53-4b8a-9a4b"])
async def test_malformed_id_is_422_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, bad_id: str
) -> None:
    await create_todo(session, title="keep")
    for method, payload in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        response = await client.request(method, f"{ROOT}/{bad_id}", json=payload)
        assert response.status_code == 422, method
        assert response.json()["errors"][0]["loc"] == ["path", "todo_id"]
        assert response.json()["errors"][0]["type"] == "uuid_parsing"
    assert await todo_count(session, everyone=True) == 1
    assert (await client.get(ROOT)).json()[0]["title"] == "keep"


async def test_put_is_not_part_of_the_api(client: AsyncClient, session: AsyncSession) -> None:
    todo = await create_todo(session, title="keep")
    response = await client.put(f"{ROOT}/{todo.id}", json={"title": "x"})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"


async def test_a_full_list_refuses_more_with_409(client: AsyncClient, session: AsyncSession) -> None:
    session.add_all(Todo(title=f"todo {index}") for index in range(service.MAX_TODOS_PER_LIST))
    await session.flush()
    response = await client.post(ROOT, json={"title": "one too many"})
    assert response.status_code == 409
    assert response.json()["code"] == "todo_list_full"
    assert "1000" in response.json()["detail"]
    assert await todo_count(session) == service.MAX_TODOS_PER_LIST
    assert len((await client.get(ROOT)).json()) == service.MAX_TODOS_PER_LIST


# Whose list: a signed-in user's own, or the shared anonymous one.


async def test_a_signed_in_users_list_is_their_own(
    client: AsyncClient,
    session: AsyncSession,
    ann: User,
    ann_headers: dict[str, str],
    bob_headers: dict[str, str],
) -> None:
    anonymous = (await client.post(ROOT, json={"title": "anonymous"})).json()
    anns = (await client.post(ROOT, json={"title": "ann's"}, headers=ann_headers)).json()
    bobs = (await client.post(ROOT, json={"title": "bob's"}, headers=bob_headers)).json()

    assert [todo["title"] for todo in (await client.get(ROOT, headers=ann_headers)).json()] == ["ann's"]
    assert [todo["title"] for todo in (await client.get(ROOT, headers=bob_headers)).json()] == ["bob's"]
    assert [todo["title"] for todo in (await client.get(ROOT)).json()] == ["anonymous"]
    assert await todo_count(session, owner_id=ann.id) == 1

    # Someone else's todo, or an anonymous one, does not exist for a signed-in user...
    for other in (bobs, anonymous):
        for method, payload in (("GET", None), ("PATCH", {"completed": True}), ("DELETE", None)):
            response = await client.request(method, other["url"], json=payload, headers=ann_headers)
            assert response.status_code == 404, (method, other["title"])
    # ...and a user's todo does not exist for an anonymous caller.
    for method, payload in (("GET", None), ("PATCH", {"completed": True}), ("DELETE", None)):
        assert (await client.request(method, anns["url"], json=payload)).status_code == 404, method

    for todo, headers in ((anonymous, {}), (anns, ann_headers), (bobs, bob_headers)):
        assert (await client.get(todo["url"], headers=headers)).json() == todo  # nothing changed


async def test_clearing_a_list_leaves_the_others_alone(
    client: AsyncClient,
    session: AsyncSession,
    ann: User,
    ann_headers: dict[str, str],
    bob_headers: dict[str, str],
) -> None:
    await client.post(ROOT, json={"title": "anonymous"})
    await client.post(ROOT, json={"title": "ann's"}, headers=ann_headers)
    await client.post(ROOT, json={"title": "bob's"}, headers=bob_headers)

    assert (await client.delete(ROOT, headers=bob_headers)).status_code == 204
    assert (await client.get(ROOT, headers=bob_headers)).json() == []
    assert len((await client.get(ROOT, headers=ann_headers)).json()) == 1
    assert len((await client.get(ROOT)).json()) == 1

    assert (await client.delete(ROOT)).status_code == 204
    assert (await client.get(ROOT)).json() == []
    assert await todo_count(session, owner_id=ann.id) == 1


async def test_each_list_has_its_own_size_bound(
    client: AsyncClient, session: AsyncSession, ann_headers: dict[str, str]
) -> None:
    session.add_all(Todo(title=f"todo {index}") for index in range(service.MAX_TODOS_PER_LIST))
    await session.flush()
    assert (await client.post(ROOT, json={"title": "mine"}, headers=ann_headers)).status_code == 201


async def test_a_bad_token_is_401_not_anonymous(client: AsyncClient, session: AsyncSession) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    for method, payload in (("GET", None), ("POST", {"title": "t"}), ("DELETE", None)):
        response = await client.request(method, ROOT, json=payload, headers=bad)
        assert response.status_code == 401, method
        assert response.json()["code"] == "invalid_token"
    assert await todo_count(session, everyone=True) == 0
