"""B12 resumes: the logic. No HTTP here; the caller's unit of work commits.

A candidate uploads a PDF or DOCX resume for a position. The bytes are stored through the files
module (`files.service.write_stream`: streamed, sniffed against PDF and DOCX, size-limited,
deduplicated) in the `resumes` namespace, and copied on the way to a spool file (memory, then
disk) that text extraction reads in a thread (text.py). Only when the text was read are rows
written: the file, the resume (one per candidate and position: uploading again counts its
`version` up in one atomic upsert), the version with its parsed fields, and its skills.

Who sees what: a candidate sees their own resumes; a caller holding `resumes:read` (employers)
sees every resume. Anyone else gets 404. Only the candidate deletes: all versions go, and each
version's bytes when no other file shares them.

Search (`q`): the words of the query, all of which must appear in the current version's text.
PostgreSQL matches them with `to_tsvector('simple', search_text) @@ plainto_tsquery('simple', ..)`
(a GIN expression index serves it); SQLite with `LIKE '% word%'` on the same normalized text.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import IO, Any, Literal

from sqlalchemy import Boolean, ColumnElement, String, and_, bindparam, delete, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from sixty.core.config import Settings
from sixty.core.errors import Forbidden, InvalidField, NotFound, Unprocessable, invalid_fields
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row, SessionReader
from sixty.core.storage import Storage, discard_unless_committed
from sixty.files import service as files
from sixty.files.models import Blob, Resume, ResumePosition, ResumeSkill, ResumeVersion, StoredFile
from sixty.files.resumes import text

NAMESPACE = "resumes"
READ_PERMISSION = "resumes:read"
MANAGE_PERMISSION = "resumes:manage"
MAX_TERMS = 8  # words of `q` that count
SPOOL_IN_MEMORY = 1024 * 1024

ResumeSort = Literal["updated_at", "-updated_at", "created_at", "-created_at"]


@dataclass(frozen=True)
class ResumeRules:
    policy: files.UploadPolicy
    limits: text.Limits
    timeout: float
    skills: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> ResumeRules:
        return cls(
            policy=files.UploadPolicy(max_bytes=settings.resumes_max_bytes, allowed_types=text.TYPES),
            limits=text.Limits(
                max_pages=settings.resumes_max_pages,
                max_chars=settings.resumes_max_chars,
                max_entries=settings.resumes_docx_max_entries,
                max_unzipped_bytes=settings.resumes_docx_max_unzipped_bytes,
            ),
            timeout=settings.resumes_extract_timeout,
            skills=tuple(settings.resumes_skills),
        )


def not_found(resume_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Resume {id} was not found."), id=str(resume_id))


def unknown_position() -> Unprocessable:
    return invalid_fields(
        [InvalidField(("query", "position_id"), "unknown_position", N_("There is no such position."))]
    )


# --- search ----------------------------------------------------------------------------------------


class MatchesAll(ColumnElement[bool]):
    """True when every bound word appears in `column` (normalized text, see text.search_text)."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: Any, words: list[Any]) -> None:
        self.column = column
        self.words = words


@compiles(MatchesAll, "postgresql")
def _match_postgresql(element: MatchesAll, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    query = " && ".join(
        f"plainto_tsquery('simple', {compiler.process(word, **kw)})" for word in element.words
    )
    return f"to_tsvector('simple', {column}) @@ ({query})"


@compiles(MatchesAll)
def _match_default(element: MatchesAll, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    # The text is words between single spaces: a word starts the text or follows a space.
    return " AND ".join(
        f"(' ' || {column}) LIKE ('% ' || {compiler.process(word, **kw)} || '%')" for word in element.words
    )


def query_words(q: str) -> list[str]:
    return text.WORD.findall(q.lower())[:MAX_TERMS]


# --- positions -------------------------------------------------------------------------------------

POSITION_COLUMNS = (
    ResumePosition.id,
    ResumePosition.title,
    ResumePosition.description,
    ResumePosition.created_at,
    ResumePosition.updated_at,
)
_POSITION = select(*POSITION_COLUMNS).where(
    ResumePosition.id == bindparam("position_id", type_=ResumePosition.id.type)
)
POSITION_SORTS = sort_keys(ResumePosition.id, created_at=ResumePosition.created_at)


async def create_position(
    session: AsyncSession, *, title: str, description: str | None, created_by: uuid.UUID
) -> Row:
    now = utcnow()
    position = ResumePosition(
        id=uuid.uuid4(),
        title=title,
        description=description,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(position)
    await session.flush()
    row = await SessionReader(session).one(_POSITION, position_id=position.id)
    assert row is not None  # noqa: S101 - just written
    return row


@cache
def _positions_statement(after: bool) -> AnySelect:
    return keyset_page(select(*POSITION_COLUMNS), POSITION_SORTS["-created_at"], after=after)


async def list_positions(
    reader: Reader, *, params: PageParams, codec: CursorCodec
) -> tuple[list[Row], str | None]:
    return await paginate(
        reader, _positions_statement, sort=POSITION_SORTS["-created_at"], params=params, codec=codec
    )


async def position_for(reader: Reader, position_id: uuid.UUID) -> Row:
    row = await reader.one(_POSITION, position_id=position_id)
    if row is None:
        raise NotFound(N_("Position {id} was not found."), id=str(position_id))
    return row


# --- reading resumes -------------------------------------------------------------------------------

VERSION_COLUMNS = (
    ResumeVersion.id.label("version_id"),
    ResumeVersion.number,
    ResumeVersion.name,
    ResumeVersion.email,
    ResumeVersion.phone,
    ResumeVersion.skills,
    ResumeVersion.pages,
    ResumeVersion.characters,
    ResumeVersion.created_at.label("version_created_at"),
    StoredFile.id.label("file_id"),
    StoredFile.name.label("file_name"),
    StoredFile.content_type,
    StoredFile.size,
    StoredFile.sha256,
    Blob.key,
)
_RESUMES = (
    select(
        Resume.id,
        Resume.candidate_id,
        Resume.position_id,
        ResumePosition.title.label("position_title"),
        Resume.version,
        Resume.created_at,
        Resume.updated_at,
        *VERSION_COLUMNS,
    )
    .join(ResumePosition, ResumePosition.id == Resume.position_id)
    .join(ResumeVersion, and_(ResumeVersion.resume_id == Resume.id, ResumeVersion.number == Resume.version))
    .join(StoredFile, StoredFile.id == ResumeVersion.file_id)
    .join(Blob, Blob.id == StoredFile.blob_id)
)
# Visible to the candidate, or to everyone when `:see_all` (the caller holds resumes:read).
_VISIBLE = or_(
    Resume.candidate_id == bindparam("viewer", type_=Resume.candidate_id.type),
    bindparam("see_all", type_=Boolean()),
)
_RESUME_ID = bindparam("resume_id", type_=Resume.id.type)
_READ = _RESUMES.where(Resume.id == _RESUME_ID, _VISIBLE)
_CAN_SEE = select(Resume.id, Resume.candidate_id).where(Resume.id == _RESUME_ID, _VISIBLE)
_VERSIONS = (
    select(Resume.id, *VERSION_COLUMNS)
    .join(ResumeVersion, ResumeVersion.resume_id == Resume.id)
    .join(StoredFile, StoredFile.id == ResumeVersion.file_id)
    .join(Blob, Blob.id == StoredFile.blob_id)
    .where(Resume.id == _RESUME_ID)
)
_VERSION = _VERSIONS.where(ResumeVersion.number == bindparam("number", type_=ResumeVersion.number.type))
SORTS = sort_keys(Resume.id, updated_at=Resume.updated_at, created_at=Resume.created_at)
VERSION_SORTS = sort_keys(ResumeVersion.id, number=ResumeVersion.number)


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    see_all: bool  # holds resumes:read


async def resume_for(reader: Reader, resume_id: uuid.UUID, *, viewer: Viewer) -> Row:
    row = await reader.one(_READ, resume_id=resume_id, viewer=viewer.user_id, see_all=viewer.see_all)
    if row is None:
        raise not_found(resume_id)
    return row


@cache
def _list_statement(
    sort: ResumeSort, after: bool, *, mine: bool, position: bool, skill: bool, words: int
) -> AnySelect:
    statement = _RESUMES
    if mine:
        statement = statement.where(
            Resume.candidate_id == bindparam("viewer", type_=Resume.candidate_id.type)
        )
    if position:
        statement = statement.where(
            Resume.position_id == bindparam("position_id", type_=Resume.position_id.type)
        )
    if skill:
        statement = statement.where(
            exists().where(
                ResumeSkill.version_id == ResumeVersion.id,
                ResumeSkill.skill == bindparam("skill", type_=ResumeSkill.skill.type),
            )
        )
    if words:
        statement = statement.where(
            MatchesAll(
                ResumeVersion.search_text,
                [bindparam(f"word_{index}", type_=String()) for index in range(words)],
            )
        )
    return keyset_page(statement, SORTS[sort], after=after)


async def list_resumes(
    reader: Reader,
    *,
    params: PageParams,
    codec: CursorCodec,
    candidate_id: uuid.UUID | None = None,
    position_id: uuid.UUID | None = None,
    skill: str | None = None,
    q: str | None = None,
    sort: ResumeSort = "-updated_at",
) -> tuple[list[Row], str | None]:
    """Resumes, newest first: a candidate's own (`candidate_id`), or all of them (employers),
    filtered by position, skill (from the vocabulary) and the words of `q`."""
    words = query_words(q or "")
    shape = {
        "mine": candidate_id is not None,
        "position": position_id is not None,
        "skill": skill is not None,
        "words": len(words),
    }
    values: dict[str, Any] = {f"word_{index}": word for index, word in enumerate(words)}
    return await paginate(
        reader,
        lambda after: _list_statement(sort, after, **shape),
        sort=SORTS[sort],
        params=params,
        codec=codec,
        viewer=candidate_id,
        position_id=position_id,
        skill=skill.strip().lower() if skill else None,
        **values,
    )


@cache
def _versions_statement(after: bool) -> AnySelect:
    return keyset_page(_VERSIONS, VERSION_SORTS["-number"], after=after)


async def list_versions(
    reader: Reader, resume_id: uuid.UUID, *, viewer: Viewer, params: PageParams, codec: CursorCodec
) -> tuple[list[Row], str | None]:
    """Every version of a resume, newest first."""
    if await reader.one(_CAN_SEE, resume_id=resume_id, viewer=viewer.user_id, see_all=viewer.see_all) is None:
        raise not_found(resume_id)
    return await paginate(
        reader,
        _versions_statement,
        sort=VERSION_SORTS["-number"],
        params=params,
        codec=codec,
        resume_id=resume_id,
    )


async def version_for(reader: Reader, resume_id: uuid.UUID, number: int, *, viewer: Viewer) -> Row:
    if await reader.one(_CAN_SEE, resume_id=resume_id, viewer=viewer.user_id, see_all=viewer.see_all) is None:
        raise not_found(resume_id)
    row = await reader.one(_VERSION, resume_id=resume_id, number=number)
    if row is None:
        raise NotFound(N_("Resume {id} has no version {number}."), id=str(resume_id), number=number)
    return row


# --- uploading -------------------------------------------------------------------------------------


async def _spooled(chunks: AsyncIterable[bytes], spool: IO[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        spool.write(chunk)
        yield chunk


async def _extract(
    spool: IO[bytes], content_type: str, rules: ResumeRules
) -> tuple[text.Extracted, text.Fields]:
    def work() -> tuple[text.Extracted, text.Fields]:
        extracted = text.extract(spool, content_type, rules.limits)
        return extracted, text.fields(extracted.text, rules.skills)

    try:
        return await asyncio.wait_for(asyncio.to_thread(work), rules.timeout)
    except TimeoutError:
        raise Unprocessable(
            N_("Reading the document's text took too long."), code="extraction_timeout"
        ) from None
    except text.ExtractionError as error:
        raise Unprocessable(error.message, code=error.code) from None


async def _next_version(
    session: AsyncSession, *, candidate_id: uuid.UUID, position_id: uuid.UUID
) -> tuple[uuid.UUID, int]:
    """The resume of this candidate for this position, created at version 1 or counted one
    version up, in one statement that concurrent uploads cannot race."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    statement = (
        insert(Resume)
        .values(
            id=uuid.uuid4(),
            candidate_id=candidate_id,
            position_id=position_id,
            version=1,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[Resume.candidate_id, Resume.position_id],
            set_={"version": Resume.version + 1, "updated_at": now},
        )
        .returning(Resume.id, Resume.version)
    )
    row = (await session.execute(statement)).one()
    return row.id, row.version


async def upload(
    session: AsyncSession,
    reader: Reader,
    storage: Storage,
    chunks: AsyncIterable[bytes],
    *,
    candidate_id: uuid.UUID,
    position_id: uuid.UUID,
    name: str,
    rules: ResumeRules,
) -> Row:
    """Store a resume (a new version when the candidate has one for this position) and answer
    it as `resume_for` does. Refusals, with nothing kept: FileTooLarge (413), UnsupportedFileType
    (415: not a PDF or DOCX by content), EmptyFile (422), an unknown position (422), and a
    document whose text cannot be read: damaged, encrypted, a zip bomb, no text (422)."""
    if await reader.one(_POSITION, position_id=position_id) is None:
        raise unknown_position()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        stored = await files.write_stream(storage, _spooled(chunks, spool), policy=rules.policy)
        # Not yet a file: the bytes go again if anything below refuses the upload.
        discard_unless_committed(session, storage, stored.key)
        extracted, found = await _extract(spool, stored.content_type, rules)
    file = await files.add_file(
        session, storage, stored, owner_id=candidate_id, name=name, namespace=NAMESPACE
    )
    resume_id, number = await _next_version(session, candidate_id=candidate_id, position_id=position_id)
    version = ResumeVersion(
        id=uuid.uuid4(),
        resume_id=resume_id,
        number=number,
        file_id=file["id"],
        name=found.name,
        email=found.email,
        phone=found.phone,
        skills=found.skills,
        pages=extracted.pages,
        characters=len(extracted.text),
        search_text=text.search_text(extracted.text),
        created_at=utcnow(),
    )
    session.add(version)
    await session.flush()  # the version first: the skills reference it (no ORM relationship orders them)
    session.add_all(ResumeSkill(version_id=version.id, skill=skill) for skill in found.skills)
    await session.flush()
    return await resume_for(SessionReader(session), resume_id, viewer=Viewer(candidate_id, see_all=False))


# --- deleting --------------------------------------------------------------------------------------


async def delete_resume(session: AsyncSession, resume_id: uuid.UUID, *, viewer: Viewer) -> None:
    """The candidate deletes their resume, every version of it; the bytes go after commit where
    no other file shares them. An employer who can see it may not (403); anyone else: 404."""
    row = await SessionReader(session).one(
        _CAN_SEE, resume_id=resume_id, viewer=viewer.user_id, see_all=viewer.see_all
    )
    if row is None:
        raise not_found(resume_id)
    if row["candidate_id"] != viewer.user_id:
        raise Forbidden(N_("Only the candidate can delete their resume."), code="not_the_candidate")
    file_ids = (
        await session.scalars(select(ResumeVersion.file_id).where(ResumeVersion.resume_id == resume_id))
    ).all()
    await session.execute(delete(Resume).where(Resume.id == resume_id))
    for file_id in file_ids:
        await files.delete_file(session, file_id, owner_id=viewer.user_id, namespace=NAMESPACE)
