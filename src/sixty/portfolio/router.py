"""B17 Portfolio: `/api/portfolio`. HTTP only: parse, call the service, shape the response.

`/api/portfolio/{username}` is the public page (a draft: its owner only), with ETags; the owner
edits under `/api/portfolio/me/...`. Visitors write testimonials (rate limited, shown once
approved) and send the owner messages through the contact module.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request, Response, status
from starlette.convertors import Convertor, register_url_convertor

from sixty.contact import service as contact_service
from sixty.contact.schemas import (
    MESSAGE_EXAMPLE,
    RECEIPT_EXAMPLE,
    USER_ID,
    ContactMessagePage,
    ContactReceipt,
    ContactSort,
    ContactStatus,
    ContactSubmission,
)
from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ranges import serve_bytes
from sixty.core.ratelimit import check_rate_limit, client_ip, rate_limit, rate_limit_responses, rate_policy
from sixty.core.reader import Reader, Row, SessionReader
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal, OptionalPrincipal
from sixty.core.storage import StorageDep
from sixty.files import service as files_service
from sixty.portfolio import service
from sixty.portfolio.schemas import (
    ENTRY_EXAMPLE,
    PORTFOLIO_EXAMPLE,
    PROFILE_EXAMPLE,
    PROJECT_EXAMPLE,
    SKILL_EXAMPLE,
    TESTIMONIAL_EXAMPLE,
    EntryRead,
    EntryWrite,
    PortfolioRead,
    ProfileRead,
    ProfileWrite,
    ProjectList,
    ProjectOrder,
    ProjectRead,
    ProjectWrite,
    SkillRead,
    SkillWrite,
    TestimonialModeration,
    TestimonialPage,
    TestimonialRead,
    TestimonialReceipt,
    TestimonialSort,
    TestimonialStatus,
    TestimonialWrite,
)

router = module_router("/api/portfolio", "portfolio")


class PortfolioNameConvertor(Convertor[str]):
    """Matches a portfolio name only (an account username: 3..40 characters), so `me` never
    matches and `POST /api/portfolio/me/testimonials` is a 405, not a visitor's route."""

    regex = r"[A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_]"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("portfolio_name", PortfolioNameConvertor())

TESTIMONIAL_PER_IP = rate_policy("portfolio.testimonial.ip", "3/hour")
# Bounds the queue one owner has to read, however many addresses write to it.
TESTIMONIAL_PER_PORTFOLIO = rate_policy("portfolio.testimonial.portfolio", "30/day")
CONTACT_PER_IP = rate_policy("portfolio.contact.ip", "5/10minutes")
CONTACT_PER_EMAIL = rate_policy("portfolio.contact.email", "5/hour")

CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
UsernamePath = Annotated[
    str,
    Path(
        min_length=3,
        max_length=40,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_]$",
        description="The portfolio's name (any case).",
    ),
]
IfNoneMatch = Annotated[str | None, Header(max_length=1024, description="ETags the client already has.")]
ETAG_HEADER = {"ETag": {"description": "The portfolio's version.", "schema": {"type": "string"}}}


def _ok(
    example: Any, *statuses: int, code: int = 200, headers: dict[str, Any] | None = None
) -> dict[int | str, Any]:
    answer: dict[str, Any] = {"content": {"application/json": {"example": example}}}
    if headers:
        answer["headers"] = headers
    return {code: answer, **problem_responses(*statuses)}


def _no_content(*statuses: int) -> dict[int | str, Any]:
    return {204: {"description": "Done."}, **problem_responses(*statuses)}


def _matches(header: str | None, tag: str) -> bool:
    if header is None:
        return False
    tags = [part.strip().removeprefix("W/") for part in header.split(",")]
    return tag in tags or "*" in tags


def _with_urls(request: Request, username: str, project: Row) -> Row:
    return {
        **project,
        "images": [
            {**image, "url": request.url_for("portfolio_image", username=username, file_id=image["id"]).path}
            for image in project["images"]
        ],
    }


async def _document(request: Request, reader: Reader, profile: Row) -> PortfolioRead:
    document = await service.document(reader, profile)
    document["projects"] = [_with_urls(request, profile["username"], p) for p in document["projects"]]
    return PortfolioRead.model_validate(document)


async def _answer_document(
    request: Request, reader: Reader, profile: Row, if_none_match: str | None
) -> PortfolioRead | Response:
    tag = service.etag(profile)
    # A draft is its owner's alone: no shared cache keeps it.
    headers = {
        "ETag": tag,
        "Cache-Control": "public, no-cache" if profile["published"] else "private, no-cache",
        "Vary": "Authorization",
    }
    if _matches(if_none_match, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    document = await _document(request, reader, profile)
    return Response(content=document.model_dump_json(), media_type="application/json", headers=headers)


# --- the owner --------------------------------------------------------------------------------


@router.get(
    "/me",
    summary="Your portfolio",
    description="Your whole portfolio, draft or published, with its `ETag` (a matching "
    "`If-None-Match` answers 304). 404 (`no_portfolio`) until you create it with `PUT /api/portfolio/me`.",
    response_model=PortfolioRead,
    responses={
        **_ok(PORTFOLIO_EXAMPLE, 401, 404, headers=ETAG_HEADER),
        304: {"description": "Not modified: the `If-None-Match` ETag is current."},
    },
)
async def get_my_portfolio(
    request: Request, reader: ReaderDep, principal: CurrentPrincipal, if_none_match: IfNoneMatch = None
) -> PortfolioRead | Response:
    profile = await service.own_profile(reader, user_id=principal.user_id)
    return await _answer_document(request, reader, profile, if_none_match)


@router.put(
    "/me",
    summary="Create or replace your profile",
    description="Creates your portfolio (201) or replaces its profile (200): `username` (its address; "
    "default: your account's username; 409 `username_taken` when another portfolio has it), "
    "`headline`, `bio` in Markdown (rendered to sanitised HTML in `bio_html`; markup that can run "
    "script is a 422), `links` (http and https only), and `published` (false: a draft, 404 to others).",
    response_model=ProfileRead,
    responses={
        **_ok(PROFILE_EXAMPLE, 401, 409, 413, 415, 422),
        201: {"content": {"application/json": {"example": PROFILE_EXAMPLE}}},
    },
)
async def save_profile(
    data: ProfileWrite, response: Response, session: SessionDep, principal: CurrentPrincipal
) -> ProfileRead:
    profile, created = await service.save_profile(
        session, data, user_id=principal.user_id, default_username=principal.username, moment=service.now()
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    response.headers["ETag"] = service.etag(profile)
    return ProfileRead.model_validate(profile)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete your portfolio",
    description="Deletes your portfolio and everything on it (the image files stay in your files).",
    response_class=Response,
    responses=_no_content(401, 404),
)
async def delete_portfolio(session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.delete_portfolio(session, user_id=principal.user_id)


PROJECT_ERRORS = (401, 404, 409, 413, 415, 422)


async def _project(
    request: Request, session: SessionDep, principal: CurrentPrincipal, project_id: uuid.UUID
) -> ProjectRead:
    reader = SessionReader(session)
    profile = await service.own_profile(reader, user_id=principal.user_id)
    project = await service.read_project(reader, project_id, portfolio_id=profile["id"])
    return ProjectRead.model_validate(_with_urls(request, profile["username"], project))


@router.post(
    "/me/projects",
    status_code=status.HTTP_201_CREATED,
    summary="Add a project",
    description="Adds a project, shown after the others. `slug` is unique in your portfolio (409 "
    "`slug_taken`); `image_ids` are images you uploaded at `/api/files` (PNG, JPEG, GIF or WebP): "
    "anyone else's file, or one that is not such an image, is a 422 naming it. At most "
    f"{service.MAX_PROJECTS} projects (409 `too_many_items`).",
    response_model=ProjectRead,
    responses=_ok(PROJECT_EXAMPLE, *PROJECT_ERRORS, code=201),
)
async def create_project(
    data: ProjectWrite, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> ProjectRead:
    _portfolio_id, project_id = await service.create_project(
        session, data, user_id=principal.user_id, moment=service.now()
    )
    return await _project(request, session, principal, project_id)


@router.put(
    "/me/projects/order",
    summary="Reorder your projects",
    description="Shows your projects in the order of `project_ids`, which lists each of them exactly "
    "once (422 otherwise). Answers the projects in their new order.",
    response_model=ProjectList,
    responses=_ok({"items": [PROJECT_EXAMPLE]}, 401, 404, 413, 415, 422),
)
async def reorder_projects(
    data: ProjectOrder, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> ProjectList:
    portfolio_id = await service.reorder_projects(
        session, data.project_ids, user_id=principal.user_id, moment=service.now()
    )
    reader = SessionReader(session)
    profile = await service.own_profile(reader, user_id=principal.user_id)
    projects = await service.list_projects(reader, portfolio_id=portfolio_id)
    return ProjectList(
        items=[ProjectRead.model_validate(_with_urls(request, profile["username"], p)) for p in projects]
    )


@router.put(
    "/me/projects/{project_id:uuid}",
    summary="Replace a project",
    description="Replaces every field of one of your projects, its images included (another "
    "portfolio's project is a 404). Same rules as adding one.",
    response_model=ProjectRead,
    responses=_ok(PROJECT_EXAMPLE, *PROJECT_ERRORS),
)
async def replace_project(
    project_id: uuid.UUID,
    data: ProjectWrite,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ProjectRead:
    await service.replace_project(session, project_id, data, user_id=principal.user_id, moment=service.now())
    return await _project(request, session, principal, project_id)


@router.delete(
    "/me/projects/{project_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a project",
    description="Deletes one of your projects (its image files stay in your files); the others close up.",
    response_class=Response,
    responses=_no_content(401, 404, 422),
)
async def delete_project(project_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.delete_project(session, project_id, user_id=principal.user_id, moment=service.now())


@router.post(
    "/me/skills",
    status_code=status.HTTP_201_CREATED,
    summary="Add a skill",
    description="A skill and its level: `beginner`, `intermediate`, `advanced` or `expert`. Names are "
    f"unique in your portfolio whatever the case (409 `skill_taken`); at most {service.MAX_SKILLS}.",
    response_model=SkillRead,
    responses=_ok(SKILL_EXAMPLE, 401, 404, 409, 413, 415, 422, code=201),
)
async def create_skill(data: SkillWrite, session: SessionDep, principal: CurrentPrincipal) -> SkillRead:
    skill = await service.create_skill(session, data, user_id=principal.user_id, moment=service.now())
    return SkillRead.model_validate(skill)


@router.put(
    "/me/skills/{skill_id:uuid}",
    summary="Replace a skill",
    description="Renames one of your skills or changes its level.",
    response_model=SkillRead,
    responses=_ok(SKILL_EXAMPLE, 401, 404, 409, 413, 415, 422),
)
async def replace_skill(
    skill_id: uuid.UUID, data: SkillWrite, session: SessionDep, principal: CurrentPrincipal
) -> SkillRead:
    skill = await service.replace_skill(
        session, skill_id, data, user_id=principal.user_id, moment=service.now()
    )
    return SkillRead.model_validate(skill)


@router.delete(
    "/me/skills/{skill_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a skill",
    description="Deletes one of your skills.",
    response_class=Response,
    responses=_no_content(401, 404, 422),
)
async def delete_skill(skill_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.delete_skill(session, skill_id, user_id=principal.user_id, moment=service.now())


@router.post(
    "/me/timeline",
    status_code=status.HTTP_201_CREATED,
    summary="Add an experience or education entry",
    description="A dated entry (`kind`: `experience` or `education`); `end_date` is not before "
    "`start_date` (422), and left out while it goes on. Dates run from 1900 to 2100. At most "
    f"{service.MAX_ENTRIES} entries.",
    response_model=EntryRead,
    responses=_ok(ENTRY_EXAMPLE, 401, 404, 409, 413, 415, 422, code=201),
)
async def create_entry(data: EntryWrite, session: SessionDep, principal: CurrentPrincipal) -> EntryRead:
    entry = await service.create_entry(session, data, user_id=principal.user_id, moment=service.now())
    return EntryRead.model_validate(entry)


@router.put(
    "/me/timeline/{entry_id:uuid}",
    summary="Replace a timeline entry",
    description="Replaces every field of one of your experience or education entries.",
    response_model=EntryRead,
    responses=_ok(ENTRY_EXAMPLE, 401, 404, 413, 415, 422),
)
async def replace_entry(
    entry_id: uuid.UUID, data: EntryWrite, session: SessionDep, principal: CurrentPrincipal
) -> EntryRead:
    entry = await service.replace_entry(
        session, entry_id, data, user_id=principal.user_id, moment=service.now()
    )
    return EntryRead.model_validate(entry)


@router.delete(
    "/me/timeline/{entry_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a timeline entry",
    description="Deletes one of your experience or education entries.",
    response_class=Response,
    responses=_no_content(401, 404, 422),
)
async def delete_entry(entry_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.delete_entry(session, entry_id, user_id=principal.user_id, moment=service.now())


@router.get(
    "/me/testimonials",
    summary="Testimonials written for you",
    description="Every testimonial visitors wrote for your portfolio, newest first; `status` keeps "
    "`pending` or `approved` ones. Cursor-paginated.",
    response_model=TestimonialPage,
    responses=_ok({"items": [TESTIMONIAL_EXAMPLE], "next_cursor": None}, 401, 404, 422),
)
async def list_testimonials(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    principal: CurrentPrincipal,
    status_filter: Annotated[
        TestimonialStatus | None, Query(alias="status", description="`pending` or `approved`.")
    ] = None,
    sort: Annotated[
        TestimonialSort, Query(description="Sort key; `-` prefix for descending.")
    ] = "-created_at",
) -> TestimonialPage:
    rows, next_cursor = await service.list_testimonials(
        reader, user_id=principal.user_id, params=page, codec=codec, status=status_filter, sort=sort
    )
    return TestimonialPage.model_validate({"items": rows, "next_cursor": next_cursor})


@router.patch(
    "/me/testimonials/{testimonial_id:uuid}",
    summary="Approve or hide a testimonial",
    description="`approved: true` shows it on your portfolio; `false` hides it again.",
    response_model=TestimonialRead,
    responses=_ok(TESTIMONIAL_EXAMPLE, 401, 404, 413, 415, 422),
)
async def moderate_testimonial(
    testimonial_id: uuid.UUID, data: TestimonialModeration, session: SessionDep, principal: CurrentPrincipal
) -> TestimonialRead:
    testimonial = await service.moderate_testimonial(
        session, testimonial_id, approved=data.approved, user_id=principal.user_id, moment=service.now()
    )
    return TestimonialRead.model_validate(testimonial)


@router.delete(
    "/me/testimonials/{testimonial_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a testimonial",
    description="Deletes a testimonial written for your portfolio.",
    response_class=Response,
    responses=_no_content(401, 404, 422),
)
async def delete_testimonial(
    testimonial_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> None:
    await service.delete_testimonial(session, testimonial_id, user_id=principal.user_id, moment=service.now())


@router.get(
    "/me/messages",
    summary="Messages written to you",
    description="The messages visitors sent through your portfolio's contact form, newest first "
    "(the contact module keeps them; the site's inbox never shows them). `status` keeps `unhandled`, "
    "`handled` or `spam` ones; without it, all but spam. Cursor-paginated.",
    response_model=ContactMessagePage,
    responses=_ok(
        {
            "items": [{**MESSAGE_EXAMPLE, "recipient_user_id": USER_ID}],
            "next_cursor": None,
        },
        401,
        422,
    ),
)
async def list_messages(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    principal: CurrentPrincipal,
    status_filter: Annotated[
        ContactStatus | None, Query(alias="status", description="unhandled, handled or spam.")
    ] = None,
    sort: Annotated[ContactSort, Query(description="Sort key; `-` prefix for descending.")] = "-created_at",
) -> ContactMessagePage:
    rows, next_cursor = await contact_service.list_messages(
        reader, params=page, codec=codec, recipient_user_id=principal.user_id, status=status_filter, sort=sort
    )
    return ContactMessagePage.model_validate({"items": rows, "next_cursor": next_cursor})


# --- visitors ---------------------------------------------------------------------------------


@router.get(
    "/{username:portfolio_name}",
    summary="Read a portfolio",
    description="The portfolio's page: profile, projects in order (with their images' URLs), skills, "
    "experience and education (newest first), approved testimonials. A draft is a 404 to all but "
    "its owner. Answers an `ETag` that changes with every edit; a matching `If-None-Match` answers "
    "304 without reading the rest.",
    response_model=PortfolioRead,
    responses={
        **_ok(PORTFOLIO_EXAMPLE, 401, 404, 422, headers=ETAG_HEADER),
        304: {"description": "Not modified: the `If-None-Match` ETag is current."},
    },
)
async def get_portfolio(
    username: UsernamePath,
    request: Request,
    reader: ReaderDep,
    principal: OptionalPrincipal,
    if_none_match: IfNoneMatch = None,
) -> PortfolioRead | Response:
    profile = await service.profile_by_username(
        reader, username, viewer_id=principal.user_id if principal else None
    )
    return await _answer_document(request, reader, profile, if_none_match)


@router.get(
    "/{username:portfolio_name}/images/{file_id:uuid}",
    name="portfolio_image",
    summary="An image of a portfolio",
    description="The bytes of an image shown on the portfolio's projects, for whoever may see the "
    "portfolio; any other file is a 404. `Range` and `If-None-Match` are honoured.",
    response_class=Response,
    responses={
        200: {
            "description": "The image.",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}, "example": "..."}},
        },
        304: {"description": "Not modified."},
        **problem_responses(401, 404, 416, 422),
    },
)
async def get_image(
    username: UsernamePath,
    file_id: uuid.UUID,
    request: Request,
    reader: ReaderDep,
    storage: StorageDep,
    principal: OptionalPrincipal,
) -> Response:
    profile = await service.profile_by_username(
        reader, username, viewer_id=principal.user_id if principal else None
    )
    file = await service.image_file(reader, profile, file_id)
    return serve_bytes(
        request,
        size=file["size"],
        etag=files_service.etag(file),
        content_type=file["content_type"],
        open_range=lambda offset, length: files_service.open_content(
            storage, file, offset=offset, length=length
        ),
        last_modified=file["created_at"],
        headers={
            "Content-Disposition": "inline",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "public, no-cache" if profile["published"] else "private, no-cache",
        },
    )


@router.post(
    "/{username:portfolio_name}/testimonials",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Write a testimonial",
    description="Anyone (signed in or not) writes a testimonial for a published portfolio; it shows "
    "once the owner approves it. Plain text. The owner cannot write one for themselves (403). "
    "Limited per client address (`portfolio.testimonial.ip`) and per portfolio "
    "(`portfolio.testimonial.portfolio`).",
    response_model=TestimonialReceipt,
    responses={
        **_ok({"id": TESTIMONIAL_EXAMPLE["id"], "status": "pending"}, 401, 403, 404, 413, 415, 422, code=202),
        **rate_limit_responses(),
    },
    dependencies=[rate_limit(TESTIMONIAL_PER_IP)],
)
async def submit_testimonial(
    username: UsernamePath,
    data: TestimonialWrite,
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
) -> TestimonialReceipt:
    await check_rate_limit(request, TESTIMONIAL_PER_PORTFOLIO, username.lower())
    testimonial = await service.submit_testimonial(
        session,
        username,
        data,
        author_user_id=principal.user_id if principal else None,
        client_ip=client_ip(request),
        moment=service.now(),
    )
    return TestimonialReceipt(id=testimonial.id, status="pending")


@router.post(
    "/{username:portfolio_name}/contact",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Write to the portfolio's owner",
    description="The contact form of the portfolio: the same body as `POST /api/contact/messages` "
    "(its `form_token` from `GET /api/contact/form`, the same spam guards). The message is stored "
    "for the owner and mailed to their account's address after it is committed, with the sender as "
    "Reply-To. A draft portfolio is a 404. Limited per client address (`portfolio.contact.ip`) and "
    "per sender email (`portfolio.contact.email`).",
    response_model=ContactReceipt,
    responses={**_ok(RECEIPT_EXAMPLE, 401, 404, 413, 415, 422, code=202), **rate_limit_responses()},
    dependencies=[rate_limit(CONTACT_PER_IP)],
)
async def contact_owner(
    username: UsernamePath,
    data: ContactSubmission,
    request: Request,
    reader: ReaderDep,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
) -> ContactReceipt:
    await check_rate_limit(request, CONTACT_PER_EMAIL, data.email)  # normalised already
    owner_id = await service.contact_owner(reader, username)
    message = await contact_service.submit_message(
        session,
        data,
        policy=contact_service.ContactPolicy.from_settings(settings),
        recipient=await contact_service.recipient_for_user(session, owner_id),
        sender=contact_service.Sender(
            user_id=principal.user_id if principal else None,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        ),
        moment=contact_service.now(),
    )
    return ContactReceipt(id=message.id, received_at=message.created_at)
