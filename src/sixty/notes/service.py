"""B2 + I18 notes: the logic. No HTTP here; the caller's unit of work commits.

Every note belongs to an account. Every query goes through `_visible`, which keeps the
caller's own notes only, so another account's note is simply not found (404).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, String, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from sixty.core.errors import Gone, NotFound, PreconditionFailed
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row, joined
from sixty.notes.models import Note, NoteShare, NoteTag
from sixty.notes.schemas import NoteCreate, NoteReplace, NoteSort, NoteUpdate, TagMatch

SORTS = sort_keys(Note.id, created_at=Note.created_at, updated_at=Note.updated_at)
# A note's tags in one column (`a,b,c`; tags never hold commas): one query per page, whatever its size.
TAGS = select(joined(NoteTag.tag, ",")).where(NoteTag.note_id == Note.id).scalar_subquery().label("tags")
NOTE_COLUMNS = (Note.id, Note.title, Note.body, TAGS, Note.created_at, Note.updated_at, Note.version)
MAX_TAG_FILTERS = 10


@dataclass(frozen=True)
class NoteScope:
    """Whose notes a caller may see: their own."""

    owner_id: uuid.UUID

    @property
    def params(self) -> dict[str, Any]:
        return {"owner_id": self.owner_id}


def etag(note: Note | Row) -> str:
    note_id, version = (note["id"], note["version"]) if isinstance(note, dict) else (note.id, note.version)
    return f'"{note_id.hex}.{version}"'


def _visible(statement: AnySelect) -> AnySelect:
    return statement.where(Note.owner_id == bindparam("owner_id", type_=Note.owner_id.type))


_READ = _visible(select(*NOTE_COLUMNS).where(Note.id == bindparam("note_id", type_=Note.id.type)))


def search_pattern(q: str) -> str:
    """A LIKE pattern matching `q` literally anywhere (its % and _ escaped)."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _tag_names(count: int) -> list[str]:
    return [f"tag_{index}" for index in range(count)]


@cache
def _list_statement(sort: NoteSort, search: bool, tags: int, match: TagMatch, after: bool) -> AnySelect:
    """Built once per shape (which filters, how many tags), never per value."""
    statement = _visible(select(*NOTE_COLUMNS))
    if search:
        pattern: BindParameter[str] = bindparam("pattern", type_=String())
        statement = statement.where(
            Note.title.ilike(pattern, escape="\\") | Note.body.ilike(pattern, escape="\\")
        )
    if tags:
        wanted = [bindparam(name, type_=String()) for name in _tag_names(tags)]
        tagged = select(NoteTag.note_id).where(NoteTag.tag.in_(wanted))
        if match == "all":
            tagged = tagged.group_by(NoteTag.note_id).having(func.count() == tags)
        statement = statement.where(Note.id.in_(tagged))
    return keyset_page(statement, SORTS[sort], after=after)


def _check_precondition(note: Note, if_match: list[str] | None) -> None:
    """`If-Match` (RFC 9110 13.1.1): strong comparison; `*` matches any current note."""
    if if_match is None:
        return
    if "*" in if_match or etag(note) in if_match:
        return
    raise PreconditionFailed(
        N_("The note has changed since you read it (ETag {etag}); read it again and retry."),
        etag=etag(note),
    )


def _not_found(note_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Note {id} was not found."), id=str(note_id))


async def read_note(reader: Reader, note_id: uuid.UUID, *, scope: NoteScope) -> Row:
    """The note as a row, for GET (the read path: no session, no ORM)."""
    row = await reader.one(_READ, note_id=note_id, **scope.params)
    if row is None:
        raise _not_found(note_id)
    return row


async def get_note(session: AsyncSession, note_id: uuid.UUID, *, scope: NoteScope) -> Note:
    """The note as an ORM object, to change it in the unit of work."""
    note: Note | None = (
        await session.scalars(select(Note).where(Note.id == note_id, Note.owner_id == scope.owner_id))
    ).first()
    if note is None:
        raise _not_found(note_id)
    return note


async def list_notes(
    reader: Reader,
    *,
    scope: NoteScope,
    params: PageParams,
    codec: CursorCodec,
    q: str | None = None,
    tags: list[str] | None = None,
    match: TagMatch = "any",
    sort: NoteSort = "-created_at",
) -> tuple[list[Row], str | None]:
    tags = sorted(set(tags or []))[:MAX_TAG_FILTERS]
    filters: dict[str, Any] = {**scope.params, **dict(zip(_tag_names(len(tags)), tags, strict=True))}
    if q:
        filters["pattern"] = search_pattern(q)
    return await paginate(
        reader,
        lambda after: _list_statement(sort, bool(q), len(tags), match, after),
        sort=SORTS[sort],
        params=params,
        codec=codec,
        **filters,
    )


_TAG_COUNTS = (
    select(NoteTag.tag, func.count().label("count"))
    .join(Note, Note.id == NoteTag.note_id)
    .where(Note.owner_id == bindparam("owner_id", type_=Note.owner_id.type))
    .group_by(NoteTag.tag)
    .order_by(func.count().desc(), NoteTag.tag)
    .limit(1000)
)


async def tag_counts(reader: Reader, *, scope: NoteScope) -> list[Row]:
    """Your tags, most used first."""
    return await reader.all(_TAG_COUNTS, **scope.params)


async def _set_tags(session: AsyncSession, note: Note, tags: list[str]) -> None:
    await session.execute(delete(NoteTag).where(NoteTag.note_id == note.id))
    session.add_all(NoteTag(note_id=note.id, tag=tag) for tag in tags)


async def _tags_of(session: AsyncSession, note_id: uuid.UUID) -> list[str]:
    return sorted((await session.scalars(select(NoteTag.tag).where(NoteTag.note_id == note_id))).all())


def as_row(note: Note, tags: list[str]) -> Row:
    """A changed note in the shape the read path answers."""
    return {
        "id": note.id,
        "title": note.title,
        "body": note.body,
        "tags": tags,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "version": note.version,
    }


async def create_note(session: AsyncSession, data: NoteCreate, *, scope: NoteScope) -> Row:
    note = Note(title=data.title, body=data.body, owner_id=scope.owner_id)
    session.add(note)
    await session.flush()
    await _set_tags(session, note, data.tags)
    await session.flush()
    return as_row(note, data.tags)


async def update_note(
    session: AsyncSession,
    note_id: uuid.UUID,
    data: NoteReplace | NoteUpdate,
    *,
    scope: NoteScope,
    if_match: list[str] | None = None,
) -> Row:
    note = await get_note(session, note_id, scope=scope)
    _check_precondition(note, if_match)
    # Read the tags before changing the note: a query would autoflush the change outside the guard.
    current = await _tags_of(session, note.id)
    changes = data.model_dump(exclude_unset=isinstance(data, NoteUpdate))
    tags = changes.pop("tags", None)
    for field, value in changes.items():
        setattr(note, field, value)
    async with _guarded():
        if tags is not None and tags != current:
            await _set_tags(session, note, tags)
            current = tags
            note.updated_at = utcnow()  # the note row changes too, so its version (the ETag) moves on
        await session.flush()
    return as_row(note, current)


async def delete_note(
    session: AsyncSession, note_id: uuid.UUID, *, scope: NoteScope, if_match: list[str] | None = None
) -> None:
    note = await get_note(session, note_id, scope=scope)
    _check_precondition(note, if_match)
    async with _guarded():
        await session.delete(note)
        await session.flush()


@asynccontextmanager
async def _guarded() -> AsyncIterator[None]:
    """Writes to a note read earlier: a concurrent change in between is a 412, not a 500."""
    try:
        yield
    except StaleDataError:  # another request changed it between our read and our write
        raise PreconditionFailed(
            N_("The note was changed by another request; read it again and retry.")
        ) from None


# --- read-only links ------------------------------------------------------------------------


def share_digest(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), f"note-share:{token}".encode(), hashlib.sha256).hexdigest()


async def share_note(
    session: AsyncSession,
    note_id: uuid.UUID,
    *,
    scope: NoteScope,
    secret_key: str,
    expires_in: timedelta | None = None,
) -> tuple[str, datetime | None]:
    """A new read-only link token for the note (any earlier link stops working)."""
    note = await get_note(session, note_id, scope=scope)
    token = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    await session.execute(delete(NoteShare).where(NoteShare.note_id == note.id))
    session.add(NoteShare(note_id=note.id, token_hash=share_digest(secret_key, token), expires_at=expires_at))
    await session.flush()
    return token, expires_at


async def unshare_note(session: AsyncSession, note_id: uuid.UUID, *, scope: NoteScope) -> None:
    note = await get_note(session, note_id, scope=scope)
    await session.execute(delete(NoteShare).where(NoteShare.note_id == note.id))


_SHARED = (
    select(*NOTE_COLUMNS, NoteShare.expires_at.label("share_expires_at"))
    .join(NoteShare, NoteShare.note_id == Note.id)
    .where(NoteShare.token_hash == bindparam("token_hash", type_=String()))
)


async def read_shared(reader: Reader, token: str, *, secret_key: str) -> Row:
    """The note behind a read-only link: 404 for an unknown or revoked link, 410 once expired."""
    row = await reader.one(_SHARED, token_hash=share_digest(secret_key, token))
    if row is None:
        raise NotFound(N_("This link is not valid or has been revoked."), code="invalid_link")
    expires_at = row.pop("share_expires_at")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Gone(N_("This link has expired."), code="link_expired")
    return row
