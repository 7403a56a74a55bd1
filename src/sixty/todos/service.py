"""B3 todos: the logic. No HTTP here; the caller's unit of work commits.

Whose list: a signed-in caller's todos are theirs (`owner_id`); anonymous callers share the
one list the Todo-Backend spec describes (`owner_id IS NULL`). Neither ever sees the other's
todos: someone else's todo is simply not found.

Order of a list: by `order` (todos without one last), then by creation, then by id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from sqlalchemy import ColumnElement, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.errors import Conflict, NotFound
from sixty.core.i18n import N_
from sixty.core.reader import AnySelect, Reader, Row
from sixty.todos.models import Todo
from sixty.todos.schemas import TodoCreate, TodoUpdate

# A list is served whole (the spec has no paging), so its size is bounded.
MAX_TODOS_PER_LIST = 1000
TODO_COLUMNS = (Todo.id, Todo.title, Todo.completed, Todo.order)


@dataclass(frozen=True)
class TodoScope:
    """Whose list the caller works on: a user's, or the anonymous one (`owner_id=None`)."""

    owner_id: uuid.UUID | None = None

    @property
    def anonymous(self) -> bool:
        return self.owner_id is None


def _owned(anonymous: bool) -> ColumnElement[bool]:
    """The one place owner scoping happens. Statements are built once per kind of caller;
    the owner is bound at run time (`_params`)."""
    return Todo.owner_id.is_(None) if anonymous else Todo.owner_id == bindparam("owner_id")


def _params(scope: TodoScope) -> dict[str, uuid.UUID]:
    return {} if scope.owner_id is None else {"owner_id": scope.owner_id}


@cache
def _list_statement(anonymous: bool) -> AnySelect:
    return (
        select(*TODO_COLUMNS)
        .where(_owned(anonymous))
        .order_by(Todo.order.asc().nulls_last(), Todo.created_at, Todo.id)
    )


@cache
def _read_statement(anonymous: bool) -> AnySelect:
    return select(*TODO_COLUMNS).where(Todo.id == bindparam("todo_id"), _owned(anonymous))


def _not_found(todo_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Todo {id} was not found."), id=str(todo_id))


async def list_todos(reader: Reader, *, scope: TodoScope) -> list[Row]:
    """The caller's whole list, as rows (the read path: no session, no ORM)."""
    return await reader.all(_list_statement(scope.anonymous), **_params(scope))


async def read_todo(reader: Reader, todo_id: uuid.UUID, *, scope: TodoScope) -> Row:
    row = await reader.one(_read_statement(scope.anonymous), todo_id=todo_id, **_params(scope))
    if row is None:
        raise _not_found(todo_id)
    return row


async def get_todo(session: AsyncSession, todo_id: uuid.UUID, *, scope: TodoScope) -> Todo:
    """The todo as an ORM object, to change it in the unit of work."""
    statement = select(Todo).where(Todo.id == bindparam("todo_id"), _owned(scope.anonymous))
    todo: Todo | None = (await session.scalars(statement, {"todo_id": todo_id, **_params(scope)})).first()
    if todo is None:
        raise _not_found(todo_id)
    return todo


async def count_todos(session: AsyncSession, *, scope: TodoScope) -> int:
    statement = select(func.count()).select_from(Todo).where(_owned(scope.anonymous))
    return int(await session.scalar(statement, _params(scope)) or 0)


async def create_todo(session: AsyncSession, data: TodoCreate, *, scope: TodoScope) -> Todo:
    # On SQLite writers are serialized, so the bound is exact; on PostgreSQL two concurrent
    # creates may both pass it by one: a bound on size, not an invariant.
    if await count_todos(session, scope=scope) >= MAX_TODOS_PER_LIST:
        raise Conflict(
            N_("This list already holds {limit} todos; delete some first."),
            code="todo_list_full",
            limit=MAX_TODOS_PER_LIST,
        )
    todo = Todo(owner_id=scope.owner_id, title=data.title, completed=data.completed, order=data.order)
    session.add(todo)
    await session.flush()
    return todo


async def update_todo(
    session: AsyncSession, todo_id: uuid.UUID, data: TodoUpdate, *, scope: TodoScope
) -> Todo:
    todo = await get_todo(session, todo_id, scope=scope)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(todo, field, value)
    await session.flush()
    return todo


async def delete_todo(session: AsyncSession, todo_id: uuid.UUID, *, scope: TodoScope) -> None:
    todo = await get_todo(session, todo_id, scope=scope)
    await session.delete(todo)
    await session.flush()


async def clear_todos(session: AsyncSession, *, scope: TodoScope) -> int:
    """Deletes every todo of the caller's list (only theirs); answers how many went."""
    statement = delete(Todo).where(_owned(scope.anonymous)).execution_options(synchronize_session=False)
    result = await session.execute(statement, _params(scope))
    return int(getattr(result, "rowcount", 0) or 0)
