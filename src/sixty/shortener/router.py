"""B10 URL shortener: `/api/links` (create, manage, statistics, QR codes) and the redirect at
`/s/{code}`. HTTP only: parse, call the service, shape the response.

The redirect is a plain Starlette route (no FastAPI dependency machinery on the hot path): a
cache lookup, the exact cap when the link has one, a click appended to a buffer, the answer.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import segno
from fastapi import Path, Query, Request, Response, status
from pydantic.config import JsonDict
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import ContentTooLarge, Forbidden, Gone, problem_responses
from sixty.core.i18n import N_, _, current_locale
from sixty.core.pagination import PageParamsDep
from sixty.core.ratelimit import check_rate_limit, client_ip, rate_limit_responses, rate_policy
from sixty.core.reader import Row, SessionReader
from sixty.core.routing import module_router
from sixty.core.security import CurrentPrincipal, OptionalPrincipal
from sixty.shortener import service
from sixty.shortener.context import Shortener
from sixty.shortener.schemas import (
    EXAMPLE,
    STATS_EXAMPLE,
    LinkBulkCreate,
    LinkCreate,
    LinkList,
    LinkPage,
    LinkRead,
    LinkSort,
    LinkStats,
    LinkUpdate,
)

router = module_router("", "shortener")

CREATE_ANONYMOUS_PER_IP = rate_policy("shortener.create.ip", "20/hour")
# Signed-in owners: generous, but a stolen token cannot fill the table (a bulk request counts each link).
CREATE_PER_USER = rate_policy("shortener.create.user", "1000/hour")
UNLOCK_PER_IP = rate_policy("shortener.unlock.ip", "10/minute")

# What a code can be (random codes and aliases alike); anything else is a 404 without a lookup.
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CodePath = Annotated[str, Path(max_length=64, description="The link's code or alias.")]
RedirectCode = Annotated[str, Path(description="The link's code or alias.")]


def _ok(example: JsonDict, *statuses: int, code: int = 200) -> dict[int | str, Any]:
    return {code: {"content": {"application/json": {"example": example}}}, **problem_responses(*statuses)}


def shortener_of(request: Request) -> Shortener:
    shortener: Shortener = request.app.state.shortener
    return shortener


def short_url(request: Request, base: str | None, code: str) -> str:
    return (base or str(request.base_url)).rstrip("/") + f"/s/{code}"


def to_read(request: Request, base: str | None, row: Row) -> LinkRead:
    return LinkRead(
        code=row["code"],
        short_url=short_url(request, base, row["code"]),
        url=row["target"],
        redirect_status=row["redirect_status"],
        expires_at=row["expires_at"],
        max_visits=row["max_visits"],
        visits=row["visits"],
        password_protected=bool(row["password_protected"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# --- the redirect ----------------------------------------------------------------------------------

MAX_FORM_BYTES = 4096
MAX_FORM_FIELDS = 5
FORM_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p>{error}
<form method="post"><label>{label} <input type="password" name="password" required autofocus
autocomplete="off"></label> <button type="submit">{button}</button></form></main></body></html>
"""


def password_form(request: Request, *, wrong: bool) -> Response:
    page = FORM_PAGE.format(
        lang=current_locale.get(),
        title=html.escape(_("Protected link")),
        text=html.escape(_("This link is protected by a password.")),
        error=f'<p role="alert">{html.escape(_("Wrong password."))}</p>' if wrong else "",
        label=html.escape(_("Password")),
        button=html.escape(_("Continue")),
    )
    return Response(
        page,
        status_code=status.HTTP_403_FORBIDDEN if wrong else status.HTTP_200_OK,
        media_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def posted_password(request: Request) -> str | None:
    """The form's `password`, read with a small limit of its own (the fast path runs before the app's
    body limit)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ContentTooLarge(N_("The form is larger than {limit} bytes."), limit=MAX_FORM_BYTES)
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return None
    values = fields.get("password")
    return values[0] if values else None


async def follow(request: Request) -> Response:
    code: str = request.path_params["code"]
    shortener = shortener_of(request)
    link = await shortener.resolver.find(code) if CODE.fullmatch(code) else None
    if link is None:
        raise service.link_not_found(code)
    if link.expires_at is not None and link.expires_at <= service.now():
        raise Gone(N_("The link {link} has expired."), code="link_expired", link=code)
    method = request.method
    redirect_status = link.status
    if link.password_hash is not None:
        if method != "POST":
            return password_form(request, wrong=False)
        await check_rate_limit(request, UNLOCK_PER_IP, f"{client_ip(request)} {code}")
        password = await posted_password(request)
        if not password or not await service.verify_password(shortener.policy, link.password_hash, password):
            if wants_html(request):
                return password_form(request, wrong=True)
            raise Forbidden(N_("Wrong password."), code="wrong_password")
        redirect_status = status.HTTP_303_SEE_OTHER  # the browser GETs the target; never re-POSTs
    if link.max_visits is not None and method != "HEAD" and not await shortener.resolver.count_visit(link):
        shortener.cache.evict(code)
        raise Gone(N_("The link {link} has reached its visit limit."), code="link_exhausted", link=code)
    if method != "HEAD":
        headers = request.headers
        shortener.clicks.record(
            link.id_int,
            headers.get("referer"),
            headers.get("user-agent"),
            request.client.host if request.client else None,
        )
    # A permanent redirect of a link that never changes state may be cached; anything else may not.
    lasting = redirect_status == 301 and link.expires_at is None and link.max_visits is None
    return Response(
        status_code=redirect_status,
        headers={"Location": link.target, "Cache-Control": "public, max-age=3600" if lasting else "no-store"},
    )


# Served before the documented routes below (FastAPI keeps the order routes are added in); in the
# app, `RedirectFastPath` answers these paths before the router is reached.
router.routes.append(Route("/s/{code}", follow, methods=["GET", "HEAD", "POST"], include_in_schema=False))
FAST_METHODS = frozenset({"GET", "HEAD", "POST"})


class RedirectFastPath:
    """Pure ASGI: `GET|HEAD|POST /s/{code}` straight to `follow`, errors through the app's own
    exception handlers (so they are the same problem documents); anything else passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in FAST_METHODS
            or not scope["path"].startswith("/s/")
        ):
            await self.app(scope, receive, send)
            return
        code = scope["path"][3:]
        if not code or "/" in code:
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"code": code}
        scope["route"] = FOLLOW_ROUTE  # what metrics and logs name the request by
        request = Request(scope, receive, send)
        try:
            response = await follow(request)
        except Exception as error:
            handler = _handler_for(request, error)
            if handler is None:
                raise
            response = await handler(request, error)
        await response(scope, receive, send)


def _handler_for(
    request: Request, error: Exception
) -> Callable[[Request, Exception], Awaitable[Response]] | None:
    handlers = request.app.exception_handlers
    for cls in type(error).__mro__:
        if cls in handlers:
            handler: Callable[[Request, Exception], Awaitable[Response]] = handlers[cls]
            return handler
    return None


REDIRECT_RESPONSES: dict[int | str, Any] = {
    302: {"description": "The link's target in `Location` (301, 302 or 307, as the link says)."},
    200: {
        "description": "The password form (password-protected links).",
        "content": {"text/html": {"example": "<!doctype html>..."}},
    },
    **problem_responses(404, 410, 422),
}


@router.get(
    "/s/{code}",
    summary="Follow a short link",
    description="Redirects to the link's target with its status (301, 302 or 307). An unknown code is a "
    "404; a link past its `expires_at` or its `max_visits` is a 410 (visits are counted exactly, at "
    "redirect time). A password-protected link answers a small HTML form instead; its password is POSTed "
    "to the same path. Each redirect is recorded for the link's statistics (bots apart), off the "
    "request's path. HEAD answers the same without counting.",
    status_code=302,
    responses=REDIRECT_RESPONSES,
    response_class=Response,
)
async def follow_documented(code: RedirectCode) -> None:  # the Starlette route above serves it
    ...


FOLLOW_ROUTE = next(route for route in router.routes if getattr(route, "endpoint", None) is follow_documented)


@router.post(
    "/s/{code}",
    summary="Unlock a password-protected link",
    description="The form's POST (`application/x-www-form-urlencoded`, field `password`): with the right "
    "password, a 303 to the target (counted as a visit). A wrong or missing password is a 403 (the form "
    "again, for a browser). Limited per client address and link (`shortener.unlock.ip`). A link "
    "without a password answers a POST as it answers a GET.",
    status_code=303,
    responses={
        303: {"description": "The link's target in `Location`."},
        302: {"description": "A link without a password redirects a POST as a GET (301, 302 or 307)."},
        **problem_responses(403, 404, 410, 413, 415, 422),
        **rate_limit_responses(),
    },
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": {"password": {"type": "string"}}}
                }
            }
        }
    },
)
async def unlock_documented(code: RedirectCode) -> None:  # the Starlette route above serves it
    ...


# --- managing links --------------------------------------------------------------------------------


@router.post(
    "/api/links",
    status_code=status.HTTP_201_CREATED,
    summary="Shorten a URL",
    description="Creates a short link to `url` (http or https; a host that resolves to a loopback, "
    "private or link-local address is refused). Without `alias` the code is random (unambiguous "
    "letters and digits); an alias must be 3..64 letters, digits, `-` or `_`, not a reserved word, and "
    "free (409 otherwise). Optional: `redirect_status` (301, 302, 307), `expires_at`, `max_visits`, "
    "`password`. Anyone may create links; anonymous callers are limited per address "
    "(`shortener.create.ip`) and cannot manage their links afterwards, signed-in callers per account "
    "(`shortener.create.user`).",
    response_model=LinkRead,
    responses={**_ok(EXAMPLE, 401, 409, 413, 415, 422, code=201), **rate_limit_responses()},
)
async def create_link(
    data: LinkCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
) -> LinkRead:
    if principal is None:
        await check_rate_limit(request, CREATE_ANONYMOUS_PER_IP, client_ip(request))
    else:
        await check_rate_limit(request, CREATE_PER_USER, str(principal.user_id))
    shortener = shortener_of(request)
    link = await service.create_link(
        session, data, owner_id=principal.user_id if principal else None, policy=shortener.policy
    )
    shortener.cache.evict(link.code)  # a code probed before it existed
    [row] = await service.read_links(SessionReader(session), [link.code])
    read = to_read(request, settings.public_base_url, row)
    response.headers["Location"] = read.short_url
    return read


@router.post(
    "/api/links/bulk",
    status_code=status.HTTP_201_CREATED,
    summary="Shorten many URLs",
    description="Creates 1..100 links at once, all or none: every bad item is reported in one 422 "
    "(`loc` names its index), a taken or repeated alias is a 409. Signed-in callers only; each link "
    "counts against `shortener.create.user`.",
    response_model=LinkList,
    responses={**_ok({"items": [EXAMPLE]}, 401, 409, 413, 415, 422, code=201), **rate_limit_responses()},
)
async def create_links(
    data: LinkBulkCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> LinkList:
    await check_rate_limit(request, CREATE_PER_USER, str(principal.user_id), cost=len(data.links))
    shortener = shortener_of(request)
    links = await service.create_links(
        session, data.links, owner_id=principal.user_id, policy=shortener.policy
    )
    for link in links:
        shortener.cache.evict(link.code)
    rows = await service.read_links(SessionReader(session), [link.code for link in links])
    return LinkList(items=[to_read(request, settings.public_base_url, row) for row in rows])


@router.get(
    "/api/links",
    summary="List your links",
    description="Your links, newest first (`sort=created_at` for oldest first). Cursor-paginated.",
    response_model=LinkPage,
    responses=_ok({"items": [EXAMPLE], "next_cursor": None}, 401, 422),
)
async def list_links(
    request: Request,
    reader: ReaderDep,
    page: PageParamsDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    sort: Annotated[LinkSort, Query(description="created_at or -created_at.")] = "-created_at",
) -> LinkPage:
    rows, next_cursor = await service.list_links(
        reader, owner_id=principal.user_id, params=page, codec=request.app.state.cursor_codec, sort=sort
    )
    return LinkPage(
        items=[to_read(request, settings.public_base_url, row) for row in rows], next_cursor=next_cursor
    )


@router.get(
    "/api/links/{code}",
    summary="Get one of your links",
    description="One link of yours by its code; anyone else's is a 404.",
    response_model=LinkRead,
    responses=_ok(EXAMPLE, 401, 404, 422),
)
async def get_link(
    code: CodePath, request: Request, reader: ReaderDep, settings: SettingsDep, principal: CurrentPrincipal
) -> LinkRead:
    row = await service.read_owned(reader, code, owner_id=principal.user_id)
    return to_read(request, settings.public_base_url, row)


@router.patch(
    "/api/links/{code}",
    summary="Change one of your links",
    description="Changes the target (checked as on creation), the redirect status, the expiry, the "
    "visit cap or the password; null clears `expires_at`, `max_visits` or `password`. The code stays.",
    response_model=LinkRead,
    responses=_ok(EXAMPLE, 401, 404, 413, 415, 422),
)
async def update_link(
    code: CodePath,
    data: LinkUpdate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> LinkRead:
    shortener = shortener_of(request)
    await service.update_link(session, code, data, owner_id=principal.user_id, policy=shortener.policy)
    shortener.cache.evict(code)
    [row] = await service.read_links(SessionReader(session), [code])
    return to_read(request, settings.public_base_url, row)


@router.delete(
    "/api/links/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete one of your links",
    description="Deletes the link and its statistics; its code answers 404 from then on.",
    responses=problem_responses(401, 404, 422),
)
async def delete_link(
    code: CodePath, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    await service.delete_link(session, code, owner_id=principal.user_id)
    shortener_of(request).cache.evict(code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/links/{code}/stats",
    summary="Click statistics of one of your links",
    description="Clicks by people and by bots (told by their user agent), people's clicks per day (UTC), "
    "by referrer host, by country (when a GeoIP database is configured) and by browser family. Clicks "
    "are written in batches: the last seconds' may not show yet.",
    response_model=LinkStats,
    responses=_ok(STATS_EXAMPLE, 401, 404, 422),
)
async def link_stats(
    code: CodePath, request: Request, reader: ReaderDep, principal: CurrentPrincipal
) -> LinkStats:
    shortener = shortener_of(request)
    stats = await service.link_stats(
        reader, code, owner_id=principal.user_id, with_countries=shortener.clicks.countries.enabled
    )
    return LinkStats.model_validate(stats)


QR_MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


@router.get(
    "/api/links/{code}/qr",
    summary="QR code of a short link",
    description="The short URL as a QR code, PNG or SVG (`format`), `scale` pixels (or SVG units) per "
    "module with a quiet zone of 4 modules. Anyone who has a link's code may get its QR code.",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {"example": "(PNG bytes)"}, "image/svg+xml": {"example": "<svg ...>"}},
            "description": "The QR code.",
        },
        **problem_responses(404, 422),
    },
)
async def link_qr(
    code: CodePath,
    request: Request,
    reader: ReaderDep,
    settings: SettingsDep,
    format: Annotated[Literal["png", "svg"], Query(description="png or svg.")] = "png",
    scale: Annotated[int, Query(ge=1, le=40, description="Pixels per module.")] = 8,
) -> Response:
    if not await service.link_exists(reader, code):
        raise service.link_not_found(code)
    qr = segno.make(short_url(request, settings.public_base_url, code), error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind=format, scale=scale, border=4)
    return Response(
        buffer.getvalue(), media_type=QR_MEDIA[format], headers={"Cache-Control": "public, max-age=86400"}
    )
