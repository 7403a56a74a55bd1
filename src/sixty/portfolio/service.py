"""B17 portfolio: the logic. No HTTP here; the caller's unit of work commits.

Each account has at most one portfolio. Every write of its owner starts with `_claim`, one
UPDATE that bumps the portfolio's `version` (and so its ETag) and takes its row lock on
PostgreSQL (SQLite writes are serialised already): two edits of one portfolio never interleave,
so positions and unique slugs are decided on a stable view. Reads go through the `Reader` with
statements built once; a draft portfolio is a 404 to everyone but its owner.

Images are files the owner stored through the files module (its public service): attaching
one checks that the caller owns it and that it is a raster image, and copies its type and size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.errors import Conflict, Forbidden, InvalidField, NotFound, invalid_fields
from sixty.core.i18n import N_
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row, SessionReader
from sixty.files import service as files_service
from sixty.portfolio import markdown
from sixty.portfolio.models import (
    Portfolio,
    PortfolioEntry,
    PortfolioProject,
    PortfolioProjectImage,
    PortfolioSkill,
    PortfolioTestimonial,
)
from sixty.portfolio.schemas import (
    EntryWrite,
    ProfileWrite,
    ProjectWrite,
    SkillWrite,
    TestimonialSort,
    TestimonialStatus,
    TestimonialWrite,
)

MAX_PROJECTS = 50
MAX_SKILLS = 100
MAX_ENTRIES = 100
# Raster images a browser shows; SVG is left out on purpose (it can carry script).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def now() -> datetime:
    return datetime.now(UTC)


def portfolio_not_found(username: str) -> NotFound:
    return NotFound(N_("Portfolio {username} was not found."), username=username)


def no_portfolio() -> NotFound:
    return NotFound(
        N_("You have no portfolio yet; create it with PUT /api/portfolio/me."), code="no_portfolio"
    )


def _too_many(kind: str, limit: int) -> Conflict:
    return Conflict(
        N_("A portfolio has at most {limit} {kind}."), code="too_many_items", limit=limit, kind=kind
    )


# --- reads ------------------------------------------------------------------------------------

PROFILE_COLUMNS = (
    Portfolio.id,
    Portfolio.user_id,
    Portfolio.username,
    Portfolio.headline,
    Portfolio.bio,
    Portfolio.bio_html,
    Portfolio.links,
    Portfolio.published,
    Portfolio.version,
    Portfolio.created_at,
    Portfolio.updated_at,
)
# Images count towards the ETag: deleting an attached file in the files module takes the image
# off a project without an edit here, and the count can only drop that way.
_IMAGE_COUNT = (
    select(func.count())
    .select_from(PortfolioProjectImage)
    .join(PortfolioProject, PortfolioProject.id == PortfolioProjectImage.project_id)
    .where(PortfolioProject.portfolio_id == Portfolio.id)
    .scalar_subquery()
    .label("image_count")
)
_BY_USERNAME = select(*PROFILE_COLUMNS, _IMAGE_COUNT).where(Portfolio.username == bindparam("username"))
_BY_USER = select(*PROFILE_COLUMNS, _IMAGE_COUNT).where(Portfolio.user_id == bindparam("user_id"))

PROJECT_COLUMNS = (
    PortfolioProject.id,
    PortfolioProject.slug,
    PortfolioProject.title,
    PortfolioProject.description,
    PortfolioProject.description_html,
    PortfolioProject.tags,
    PortfolioProject.links,
    PortfolioProject.position,
)
_PROJECTS = (
    select(*PROJECT_COLUMNS)
    .where(PortfolioProject.portfolio_id == bindparam("portfolio_id"))
    .order_by(PortfolioProject.position, PortfolioProject.id)
)
_PROJECT = select(*PROJECT_COLUMNS).where(
    PortfolioProject.id == bindparam("project_id"), PortfolioProject.portfolio_id == bindparam("portfolio_id")
)
IMAGE_COLUMNS = (
    PortfolioProjectImage.project_id,
    PortfolioProjectImage.file_id.label("id"),
    PortfolioProjectImage.content_type,
    PortfolioProjectImage.size,
)
_IMAGES = (
    select(*IMAGE_COLUMNS)
    .join(PortfolioProject, PortfolioProject.id == PortfolioProjectImage.project_id)
    .where(PortfolioProject.portfolio_id == bindparam("portfolio_id"))
    .order_by(PortfolioProjectImage.project_id, PortfolioProjectImage.position)
)
_PROJECT_IMAGES = (
    select(*IMAGE_COLUMNS)
    .where(PortfolioProjectImage.project_id == bindparam("project_id"))
    .order_by(PortfolioProjectImage.position)
)
_IMAGE_OF = (
    select(PortfolioProjectImage.file_id)
    .join(PortfolioProject, PortfolioProject.id == PortfolioProjectImage.project_id)
    .where(
        PortfolioProject.portfolio_id == bindparam("portfolio_id"),
        PortfolioProjectImage.file_id == bindparam("file_id"),
    )
    .limit(1)
)
SKILL_COLUMNS = (PortfolioSkill.id, PortfolioSkill.name, PortfolioSkill.level, PortfolioSkill.position)
_SKILLS = (
    select(*SKILL_COLUMNS)
    .where(PortfolioSkill.portfolio_id == bindparam("portfolio_id"))
    .order_by(PortfolioSkill.position, PortfolioSkill.id)
)
ENTRY_COLUMNS = (
    PortfolioEntry.id,
    PortfolioEntry.kind,
    PortfolioEntry.title,
    PortfolioEntry.organization,
    PortfolioEntry.location,
    PortfolioEntry.start_date,
    PortfolioEntry.end_date,
    PortfolioEntry.description,
    PortfolioEntry.description_html,
)
# Newest first: ongoing entries, then by end and start, latest first.
_ENTRIES = (
    select(*ENTRY_COLUMNS)
    .where(PortfolioEntry.portfolio_id == bindparam("portfolio_id"))
    .order_by(
        PortfolioEntry.end_date.is_(None).desc(),
        PortfolioEntry.end_date.desc(),
        PortfolioEntry.start_date.desc(),
        PortfolioEntry.id,
    )
)
TESTIMONIAL_COLUMNS = (
    PortfolioTestimonial.id,
    PortfolioTestimonial.author_name,
    PortfolioTestimonial.author_title,
    PortfolioTestimonial.text,
    PortfolioTestimonial.created_at,
    PortfolioTestimonial.approved_at,
)
_APPROVED = (
    select(*TESTIMONIAL_COLUMNS)
    .where(
        PortfolioTestimonial.portfolio_id == bindparam("portfolio_id"),
        PortfolioTestimonial.approved_at.is_not(None),
    )
    .order_by(PortfolioTestimonial.created_at.desc(), PortfolioTestimonial.id.desc())
)


def etag(profile: Row) -> str:
    """Changes with every edit (the version), and with a new portfolio under the same name."""
    return f'"{profile["id"].hex}.{profile["version"]}.{profile["image_count"]}"'


def visible(profile: Row, *, viewer_id: uuid.UUID | None) -> bool:
    return bool(profile["published"]) or profile["user_id"] == viewer_id


async def profile_by_username(reader: Reader, username: str, *, viewer_id: uuid.UUID | None) -> Row:
    """The portfolio's profile row if the viewer may see it (a draft: its owner only); else 404."""
    profile = await reader.one(_BY_USERNAME, username=username.lower())
    if profile is None or not visible(profile, viewer_id=viewer_id):
        raise portfolio_not_found(username)
    return profile


async def own_profile(reader: Reader, *, user_id: uuid.UUID) -> Row:
    profile = await reader.one(_BY_USER, user_id=user_id)
    if profile is None:
        raise no_portfolio()
    return profile


def _project(row: Row, images: list[Row]) -> Row:
    return {**row, "images": images}


def _image(row: Row) -> Row:
    return {"id": row["id"], "content_type": row["content_type"], "size": row["size"]}


async def document(reader: Reader, profile: Row) -> Row:
    """The whole portfolio: profile, projects (with images), skills, timelines, approved testimonials."""
    portfolio_id = profile["id"]
    images: dict[uuid.UUID, list[Row]] = {}
    for image in await reader.all(_IMAGES, portfolio_id=portfolio_id):
        images.setdefault(image["project_id"], []).append(_image(image))
    entries = await reader.all(_ENTRIES, portfolio_id=portfolio_id)
    return {
        **profile,
        "projects": [
            _project(row, images.get(row["id"], []))
            for row in await reader.all(_PROJECTS, portfolio_id=portfolio_id)
        ],
        "skills": await reader.all(_SKILLS, portfolio_id=portfolio_id),
        "experience": [entry for entry in entries if entry["kind"] == "experience"],
        "education": [entry for entry in entries if entry["kind"] == "education"],
        "testimonials": await reader.all(_APPROVED, portfolio_id=portfolio_id),
    }


async def read_project(reader: Reader, project_id: uuid.UUID, *, portfolio_id: uuid.UUID) -> Row:
    row = await reader.one(_PROJECT, project_id=project_id, portfolio_id=portfolio_id)
    if row is None:
        raise project_not_found(project_id)
    images = [_image(image) for image in await reader.all(_PROJECT_IMAGES, project_id=project_id)]
    return _project(row, images)


async def list_projects(reader: Reader, *, portfolio_id: uuid.UUID) -> list[Row]:
    images: dict[uuid.UUID, list[Row]] = {}
    for image in await reader.all(_IMAGES, portfolio_id=portfolio_id):
        images.setdefault(image["project_id"], []).append(_image(image))
    return [
        _project(row, images.get(row["id"], []))
        for row in await reader.all(_PROJECTS, portfolio_id=portfolio_id)
    ]


async def image_file(reader: Reader, profile: Row, file_id: uuid.UUID) -> Row:
    """The stored file of an image shown on this portfolio (404 for any other file)."""
    if await reader.one(_IMAGE_OF, portfolio_id=profile["id"], file_id=file_id) is None:
        raise files_service.not_found(file_id)
    return await files_service.file_for(reader, file_id, owner_id=profile["user_id"])


# --- the owner's writes -----------------------------------------------------------------------


async def _claim(session: AsyncSession, *, user_id: uuid.UUID, moment: datetime) -> uuid.UUID:
    """Bump the owner's portfolio's version (its ETag) and lock it for this transaction; its id.
    404 when the owner has none yet."""
    portfolio_id = await session.scalar(
        update(Portfolio)
        .where(Portfolio.user_id == user_id)
        .values(version=Portfolio.version + 1, updated_at=moment)
        .returning(Portfolio.id)
        .execution_options(synchronize_session=False)
    )
    if portfolio_id is None:
        raise no_portfolio()
    return portfolio_id


def username_taken(username: str) -> Conflict:
    return Conflict(N_("The portfolio name {username} is taken."), code="username_taken", username=username)


async def save_profile(
    session: AsyncSession, data: ProfileWrite, *, user_id: uuid.UUID, default_username: str, moment: datetime
) -> tuple[Row, bool]:
    """Create the owner's portfolio or replace its profile; answers the profile and whether it is new.
    409 when the name belongs to another portfolio."""
    username = (data.username or default_username).lower()
    taken = await session.scalar(
        select(Portfolio.user_id).where(Portfolio.username == username, Portfolio.user_id != user_id)
    )
    if taken is not None:
        raise username_taken(username)
    values: dict[str, Any] = {
        "username": username,
        "headline": data.headline,
        "bio": data.bio,
        "bio_html": markdown.render(data.bio),
        "links": [link.model_dump() for link in data.links],
        "published": data.published,
    }
    existing = await session.scalar(select(Portfolio.id).where(Portfolio.user_id == user_id))
    try:
        if existing is None:
            session.add(Portfolio(user_id=user_id, created_at=moment, updated_at=moment, **values))
            await session.flush()
        else:
            await session.execute(
                update(Portfolio)
                .where(Portfolio.id == existing)
                .values(version=Portfolio.version + 1, updated_at=moment, **values)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:  # a concurrent request took the name, or created this owner's portfolio
        raise username_taken(username) from None
    return await own_profile(SessionReader(session), user_id=user_id), existing is None


async def delete_portfolio(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    result = await session.execute(delete(Portfolio).where(Portfolio.user_id == user_id))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise no_portfolio()


def project_not_found(project_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Project {id} was not found."), id=str(project_id))


@dataclass(frozen=True)
class _Image:
    file_id: uuid.UUID
    content_type: str
    size: int


async def _images(session: AsyncSession, ids: list[uuid.UUID], *, user_id: uuid.UUID) -> list[_Image]:
    """The files behind `ids`, each the caller's own (through the files module) and an image; a 422
    naming every one that is not."""
    reader = SessionReader(session)
    images: list[_Image] = []
    bad: list[InvalidField] = []
    for index, file_id in enumerate(ids):
        where = ("body", "image_ids", index)
        try:
            file = await files_service.file_for(reader, file_id, owner_id=user_id)
        except NotFound:
            bad.append(
                InvalidField(where, "unknown_file", N_("You have no file {id}."), {"id": str(file_id)})
            )
            continue
        if file["content_type"] not in IMAGE_TYPES:
            bad.append(
                InvalidField(
                    where,
                    "not_an_image",
                    N_("File {id} is {content_type}, not a PNG, JPEG, GIF or WebP image."),
                    {"id": str(file_id), "content_type": file["content_type"]},
                )
            )
            continue
        images.append(_Image(file_id, file["content_type"], file["size"]))
    if bad:
        raise invalid_fields(bad)
    return images


def slug_taken(slug: str) -> Conflict:
    return Conflict(N_("You already have a project {slug}."), code="slug_taken", slug=slug)


async def _check_slug(
    session: AsyncSession, portfolio_id: uuid.UUID, slug: str, *, project_id: uuid.UUID | None = None
) -> None:
    statement = select(PortfolioProject.id).where(
        PortfolioProject.portfolio_id == portfolio_id, PortfolioProject.slug == slug
    )
    if project_id is not None:
        statement = statement.where(PortfolioProject.id != project_id)
    if await session.scalar(statement) is not None:
        raise slug_taken(slug)


def _project_values(data: ProjectWrite) -> dict[str, Any]:
    return {
        "slug": data.slug,
        "title": data.title,
        "description": data.description,
        "description_html": markdown.render(data.description),
        "tags": list(data.tags),
        "links": [link.model_dump() for link in data.links],
    }


def _attach(session: AsyncSession, project_id: uuid.UUID, images: list[_Image]) -> None:
    session.add_all(
        PortfolioProjectImage(
            project_id=project_id,
            file_id=image.file_id,
            position=position,
            content_type=image.content_type,
            size=image.size,
        )
        for position, image in enumerate(images, start=1)
    )


async def create_project(
    session: AsyncSession, data: ProjectWrite, *, user_id: uuid.UUID, moment: datetime
) -> tuple[uuid.UUID, uuid.UUID]:
    """A new project, shown last; answers (portfolio id, project id)."""
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    count, last = (
        await session.execute(
            select(func.count(), func.max(PortfolioProject.position)).where(
                PortfolioProject.portfolio_id == portfolio_id
            )
        )
    ).one()
    if count >= MAX_PROJECTS:
        raise _too_many("projects", MAX_PROJECTS)
    await _check_slug(session, portfolio_id, data.slug)
    images = await _images(session, data.image_ids, user_id=user_id)
    project = PortfolioProject(
        portfolio_id=portfolio_id,
        position=(last or 0) + 1,
        created_at=moment,
        updated_at=moment,
        **_project_values(data),
    )
    session.add(project)
    await session.flush()
    _attach(session, project.id, images)
    await session.flush()
    return portfolio_id, project.id


async def _own_project(
    session: AsyncSession, portfolio_id: uuid.UUID, project_id: uuid.UUID
) -> PortfolioProject:
    project = await session.get(PortfolioProject, project_id)
    if project is None or project.portfolio_id != portfolio_id:
        raise project_not_found(project_id)
    return project


async def replace_project(
    session: AsyncSession, project_id: uuid.UUID, data: ProjectWrite, *, user_id: uuid.UUID, moment: datetime
) -> uuid.UUID:
    """Replace every field of the project (its images too); another portfolio's project is a 404."""
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    project = await _own_project(session, portfolio_id, project_id)
    await _check_slug(session, portfolio_id, data.slug, project_id=project_id)
    images = await _images(session, data.image_ids, user_id=user_id)
    for name, value in _project_values(data).items():
        setattr(project, name, value)
    project.updated_at = moment
    await session.execute(delete(PortfolioProjectImage).where(PortfolioProjectImage.project_id == project_id))
    _attach(session, project_id, images)
    await session.flush()
    return portfolio_id


async def _renumber(
    session: AsyncSession, model: type[PortfolioProject] | type[PortfolioSkill], portfolio_id: uuid.UUID
) -> None:
    ids = (
        await session.scalars(
            select(model.id).where(model.portfolio_id == portfolio_id).order_by(model.position, model.id)
        )
    ).all()
    await _set_positions(session, model, list(ids))


async def _set_positions(
    session: AsyncSession, model: type[PortfolioProject] | type[PortfolioSkill], ids: list[uuid.UUID]
) -> None:
    for position, item_id in enumerate(ids, start=1):
        await session.execute(
            update(model)
            .where(model.id == item_id)
            .values(position=position)
            .execution_options(synchronize_session=False)
        )


async def delete_project(
    session: AsyncSession, project_id: uuid.UUID, *, user_id: uuid.UUID, moment: datetime
) -> None:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    project = await _own_project(session, portfolio_id, project_id)
    await session.delete(project)
    await session.flush()
    await _renumber(session, PortfolioProject, portfolio_id)


async def reorder_projects(
    session: AsyncSession, project_ids: list[uuid.UUID], *, user_id: uuid.UUID, moment: datetime
) -> uuid.UUID:
    """Show the projects in this order; every project must be listed exactly once (422 otherwise)."""
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    current = set(
        (
            await session.scalars(
                select(PortfolioProject.id).where(PortfolioProject.portfolio_id == portfolio_id)
            )
        ).all()
    )
    if len(set(project_ids)) != len(project_ids) or set(project_ids) != current:
        raise invalid_fields(
            [
                InvalidField(
                    ("body", "project_ids"),
                    "not_a_permutation",
                    N_("List each of your {count} projects exactly once."),
                    {"count": len(current)},
                )
            ]
        )
    await _set_positions(session, PortfolioProject, project_ids)
    return portfolio_id


# --- skills -----------------------------------------------------------------------------------


def skill_not_found(skill_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Skill {id} was not found."), id=str(skill_id))


def skill_taken(name: str) -> Conflict:
    return Conflict(N_("You already list the skill {name}."), code="skill_taken", name=name)


async def _check_skill_name(
    session: AsyncSession, portfolio_id: uuid.UUID, key: str, name: str, *, skill_id: uuid.UUID | None = None
) -> None:
    statement = select(PortfolioSkill.id).where(
        PortfolioSkill.portfolio_id == portfolio_id, PortfolioSkill.name_key == key
    )
    if skill_id is not None:
        statement = statement.where(PortfolioSkill.id != skill_id)
    if await session.scalar(statement) is not None:
        raise skill_taken(name)


async def create_skill(
    session: AsyncSession, data: SkillWrite, *, user_id: uuid.UUID, moment: datetime
) -> PortfolioSkill:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    count, last = (
        await session.execute(
            select(func.count(), func.max(PortfolioSkill.position)).where(
                PortfolioSkill.portfolio_id == portfolio_id
            )
        )
    ).one()
    if count >= MAX_SKILLS:
        raise _too_many("skills", MAX_SKILLS)
    key = data.name.casefold()
    await _check_skill_name(session, portfolio_id, key, data.name)
    skill = PortfolioSkill(
        portfolio_id=portfolio_id, name=data.name, name_key=key, level=data.level, position=(last or 0) + 1
    )
    session.add(skill)
    await session.flush()
    return skill


async def _own_skill(session: AsyncSession, portfolio_id: uuid.UUID, skill_id: uuid.UUID) -> PortfolioSkill:
    skill = await session.get(PortfolioSkill, skill_id)
    if skill is None or skill.portfolio_id != portfolio_id:
        raise skill_not_found(skill_id)
    return skill


async def replace_skill(
    session: AsyncSession, skill_id: uuid.UUID, data: SkillWrite, *, user_id: uuid.UUID, moment: datetime
) -> PortfolioSkill:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    skill = await _own_skill(session, portfolio_id, skill_id)
    key = data.name.casefold()
    await _check_skill_name(session, portfolio_id, key, data.name, skill_id=skill_id)
    skill.name, skill.name_key, skill.level = data.name, key, data.level
    await session.flush()
    return skill


async def delete_skill(
    session: AsyncSession, skill_id: uuid.UUID, *, user_id: uuid.UUID, moment: datetime
) -> None:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    await session.delete(await _own_skill(session, portfolio_id, skill_id))
    await session.flush()
    await _renumber(session, PortfolioSkill, portfolio_id)


# --- experience and education -----------------------------------------------------------------


def entry_not_found(entry_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Timeline entry {id} was not found."), id=str(entry_id))


def _entry_values(data: EntryWrite) -> dict[str, Any]:
    return {
        **data.model_dump(),
        "description_html": markdown.render(data.description),
    }


async def create_entry(
    session: AsyncSession, data: EntryWrite, *, user_id: uuid.UUID, moment: datetime
) -> PortfolioEntry:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    count = await session.scalar(
        select(func.count()).select_from(PortfolioEntry).where(PortfolioEntry.portfolio_id == portfolio_id)
    )
    if (count or 0) >= MAX_ENTRIES:
        raise _too_many("timeline entries", MAX_ENTRIES)
    entry = PortfolioEntry(portfolio_id=portfolio_id, **_entry_values(data))
    session.add(entry)
    await session.flush()
    return entry


async def _own_entry(session: AsyncSession, portfolio_id: uuid.UUID, entry_id: uuid.UUID) -> PortfolioEntry:
    entry = await session.get(PortfolioEntry, entry_id)
    if entry is None or entry.portfolio_id != portfolio_id:
        raise entry_not_found(entry_id)
    return entry


async def replace_entry(
    session: AsyncSession, entry_id: uuid.UUID, data: EntryWrite, *, user_id: uuid.UUID, moment: datetime
) -> PortfolioEntry:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    entry = await _own_entry(session, portfolio_id, entry_id)
    for name, value in _entry_values(data).items():
        setattr(entry, name, value)
    await session.flush()
    return entry


async def delete_entry(
    session: AsyncSession, entry_id: uuid.UUID, *, user_id: uuid.UUID, moment: datetime
) -> None:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    await session.delete(await _own_entry(session, portfolio_id, entry_id))
    await session.flush()


# --- testimonials -----------------------------------------------------------------------------


def testimonial_not_found(testimonial_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Testimonial {id} was not found."), id=str(testimonial_id))


async def submit_testimonial(
    session: AsyncSession,
    username: str,
    data: TestimonialWrite,
    *,
    author_user_id: uuid.UUID | None,
    client_ip: str | None,
    moment: datetime,
) -> PortfolioTestimonial:
    """A visitor's testimonial, pending until the owner approves it; 404 for a draft portfolio,
    403 for the owner's own."""
    portfolio = (
        await session.execute(
            select(Portfolio.id, Portfolio.user_id, Portfolio.published).where(
                Portfolio.username == username.lower()
            )
        )
    ).first()
    if portfolio is None or not portfolio.published:
        raise portfolio_not_found(username)
    if author_user_id is not None and portfolio.user_id == author_user_id:
        raise Forbidden(N_("You cannot write a testimonial for your own portfolio."), code="own_portfolio")
    testimonial = PortfolioTestimonial(
        portfolio_id=portfolio.id,
        author_name=data.author_name,
        author_title=data.author_title,
        text=data.text,
        author_user_id=author_user_id,
        client_ip=client_ip,
        created_at=moment,
    )
    session.add(testimonial)
    await session.flush()
    return testimonial


TESTIMONIAL_SORTS = sort_keys(PortfolioTestimonial.id, created_at=PortfolioTestimonial.created_at)
_MINE = (
    select(*TESTIMONIAL_COLUMNS)
    .join(Portfolio, Portfolio.id == PortfolioTestimonial.portfolio_id)
    .where(Portfolio.user_id == bindparam("user_id"))
)
_TESTIMONIAL_PAGES: dict[tuple[TestimonialStatus | None, TestimonialSort, bool], AnySelect] = {}


def _testimonials_statement(
    status: TestimonialStatus | None, sort: TestimonialSort, after: bool
) -> AnySelect:
    key = (status, sort, after)
    if key not in _TESTIMONIAL_PAGES:
        statement = _MINE
        if status == "pending":
            statement = statement.where(PortfolioTestimonial.approved_at.is_(None))
        elif status == "approved":
            statement = statement.where(PortfolioTestimonial.approved_at.is_not(None))
        _TESTIMONIAL_PAGES[key] = keyset_page(statement, TESTIMONIAL_SORTS[sort], after=after)
    return _TESTIMONIAL_PAGES[key]


async def list_testimonials(
    reader: Reader,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    status: TestimonialStatus | None = None,
    sort: TestimonialSort = "-created_at",
) -> tuple[list[Row], str | None]:
    """The testimonials written for the owner's portfolio, pending and approved."""
    await own_profile(reader, user_id=user_id)
    return await paginate(
        reader,
        lambda after: _testimonials_statement(status, sort, after),
        sort=TESTIMONIAL_SORTS[sort],
        params=params,
        codec=codec,
        user_id=user_id,
    )


async def _own_testimonial(
    session: AsyncSession, portfolio_id: uuid.UUID, testimonial_id: uuid.UUID
) -> PortfolioTestimonial:
    testimonial = await session.get(PortfolioTestimonial, testimonial_id)
    if testimonial is None or testimonial.portfolio_id != portfolio_id:
        raise testimonial_not_found(testimonial_id)
    return testimonial


async def moderate_testimonial(
    session: AsyncSession, testimonial_id: uuid.UUID, *, approved: bool, user_id: uuid.UUID, moment: datetime
) -> PortfolioTestimonial:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    testimonial = await _own_testimonial(session, portfolio_id, testimonial_id)
    if approved != (testimonial.approved_at is not None):
        testimonial.approved_at = moment if approved else None
    await session.flush()
    return testimonial


async def delete_testimonial(
    session: AsyncSession, testimonial_id: uuid.UUID, *, user_id: uuid.UUID, moment: datetime
) -> None:
    portfolio_id = await _claim(session, user_id=user_id, moment=moment)
    await session.delete(await _own_testimonial(session, portfolio_id, testimonial_id))
    await session.flush()


async def contact_owner(reader: Reader, username: str) -> uuid.UUID:
    """The account a message through this portfolio's contact form goes to (404 for a draft)."""
    profile = await profile_by_username(reader, username, viewer_id=None)
    owner: uuid.UUID = profile["user_id"]
    return owner
