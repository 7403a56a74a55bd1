"""B3 To-Do list: `/api/todos`, the Todo-Backend API. HTTP only: parse, call the service, shape
the response.

Every todo carries its absolute `url` (from `SIXTY_PUBLIC_BASE_URL`, else from the request).
CORS for any origin on these routes is installed by `setup.py`. Errors are the platform's
problem documents (the spec fixes no error shape).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response, status

from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.ratelimit import rate_limit, rate_limit_responses, rate_policy
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.security import OptionalPrincipal
from sixty.todos import service
from sixty.todos.models import Todo
from sixty.todos.schemas import EXAMPLE, TodoCreate, TodoRead, TodoUpdate

router = module_router("/api/todos", "todos")

# Anonymous callers share one list: a generous bound on how fast one address can grow it.
CREATE_PER_IP = rate_policy("todos.create.ip", "300/minute")

WHOSE = (
    "Signed in (`Authorization: Bearer <token>`), the list is the caller's own; anonymous callers "
    "share the list the Todo-Backend spec describes, and neither sees the other's todos."
)


async def todo_scope(principal: OptionalPrincipal) -> service.TodoScope:
    return service.TodoScope(owner_id=None if principal is None else principal.user_id)


async def todo_url_prefix(request: Request, settings: SettingsDep) -> str:
    """What a todo's id is appended to, to make its absolute URL."""
    base = settings.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}{router.prefix}/"


ScopeDep = Annotated[service.TodoScope, Depends(todo_scope)]
UrlPrefixDep = Annotated[str, Depends(todo_url_prefix)]


def _todo(todo: Todo | Row, prefix: str) -> dict[str, Any]:
    """The todo as JSON-ready values (the `TodoRead` shape). The id goes through `str()`: asyncpg
    answers its own UUID type, which JSON encoders do not know."""
    if isinstance(todo, Todo):
        todo = {"id": todo.id, "title": todo.title, "completed": todo.completed, "order": todo.order}
    todo_id = str(todo["id"])
    return {
        "id": todo_id,
        "title": todo["title"],
        "completed": todo["completed"],
        "order": todo["order"],
        "url": prefix + todo_id,
    }


def _json(content: Any, status_code: int = 200, **headers: str) -> Response:
    return Response(orjson.dumps(content), status_code, headers, media_type="application/json")


@router.get(
    "",
    summary="List todos",
    description="The caller's whole list as a bare JSON array (the spec has no paging), by `order` "
    "(todos without one last), then by creation. " + WHOSE,
    response_model=list[TodoRead],
    responses={200: {"content": {"application/json": {"example": [EXAMPLE]}}}, **problem_responses(401)},
)
async def list_todos(reader: ReaderDep, scope: ScopeDep, prefix: UrlPrefixDep) -> Response:
    rows = await service.list_todos(reader, scope=scope)
    return _json([_todo(row, prefix) for row in rows])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a todo",
    description="Adds a todo to the caller's list: `title` is required, `completed` defaults to false, "
    "`order` is kept as given. Answers the todo with its absolute `url` (also in `Location`). "
    "A list holds at most 1000 todos (409 beyond). " + WHOSE,
    response_model=TodoRead,
    dependencies=[rate_limit(CREATE_PER_IP)],
    responses={
        201: {
            "headers": {"Location": {"description": "The new todo's URL.", "schema": {"type": "string"}}},
            "content": {"application/json": {"example": EXAMPLE}},
        },
        **problem_responses(401, 409, 413, 415, 422),
        **rate_limit_responses(),
    },
)
async def create_todo(
    data: TodoCreate, session: SessionDep, scope: ScopeDep, prefix: UrlPrefixDep
) -> Response:
    todo = await service.create_todo(session, data, scope=scope)
    return _json(_todo(todo, prefix), status.HTTP_201_CREATED, Location=f"{prefix}{todo.id}")


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Clear the list",
    description="Deletes every todo of the caller's list, and only of theirs. " + WHOSE,
    response_class=Response,
    responses={204: {"description": "The list is empty."}, **problem_responses(401)},
)
async def clear_todos(session: SessionDep, scope: ScopeDep) -> None:
    await service.clear_todos(session, scope=scope)


@router.get(
    "/{todo_id}",
    name="get_todo",
    summary="Read a todo",
    description="One todo of the caller's list; someone else's todo is 404.",
    response_model=TodoRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 422),
    },
)
async def get_todo(todo_id: uuid.UUID, reader: ReaderDep, scope: ScopeDep, prefix: UrlPrefixDep) -> Response:
    return _json(_todo(await service.read_todo(reader, todo_id, scope=scope), prefix))


@router.patch(
    "/{todo_id}",
    summary="Update a todo",
    description="Changes `title`, `completed` and `order` in any combination; omitted fields are kept, "
    "`order: null` removes the position. Answers the todo as it now is.",
    response_model=TodoRead,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **problem_responses(401, 404, 413, 415, 422),
    },
)
async def update_todo(
    todo_id: uuid.UUID, data: TodoUpdate, session: SessionDep, scope: ScopeDep, prefix: UrlPrefixDep
) -> Response:
    return _json(_todo(await service.update_todo(session, todo_id, data, scope=scope), prefix))


@router.delete(
    "/{todo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a todo",
    description="Deletes one todo of the caller's list.",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **problem_responses(401, 404, 422)},
)
async def delete_todo(todo_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> None:
    await service.delete_todo(session, todo_id, scope=scope)
