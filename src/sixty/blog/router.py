"""B9 + I3 Blog: the RealWorld (Conduit) API under `/api/blog`. HTTP only: parse, call the
service, shape the response. Paths, payloads, statuses and errors follow the spec
(`Authorization: Token <jwt>`; `Bearer` works too)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Query, Request, Response, status
from fastapi.security import APIKeyHeader
from starlette.convertors import StringConvertor, register_url_convertor

from sixty.auth import service as accounts
from sixty.blog import service
from sixty.blog.errors import BlogRoute, error_docs
from sixty.blog.schemas import (
    ARTICLE_EXAMPLE,
    ARTICLE_SUMMARY_EXAMPLE,
    COMMENT_EXAMPLE,
    PROFILE_EXAMPLE,
    USER_EXAMPLE,
    ArticleEnvelope,
    ArticlePage,
    CommentEnvelope,
    CommentList,
    LoginUserRequest,
    NewArticleRequest,
    NewCommentRequest,
    NewUserRequest,
    ProfileEnvelope,
    TagsRead,
    UpdateArticleRequest,
    UpdateUserRequest,
    UserEnvelope,
    normalize_tag,
)
from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import Unauthorized
from sixty.core.i18n import N_
from sixty.core.ratelimit import check_rate_limit, client_ip, rate_limit, rate_policy
from sixty.core.routing import module_router
from sixty.core.security import Principal, authenticate, token_from_header
from sixty.core.text import NO_NUL

router = module_router("/api/blog", "blog", route_class=BlogRoute)

# The blog signs in on its own routes, so it limits them as the auth module limits its own.
REGISTER = rate_policy("blog.register", "20/hour")
LOGIN = rate_policy("blog.login", "10/minute")  # per account: passwords must not be guessable
LOGIN_PER_IP = rate_policy("blog.login.ip", "60/minute")


class SlugConvertor(StringConvertor):
    """A path segment that is a slug: anything but `feed`, so `/articles/feed` is only the feed
    (and `Allow` lists only its methods). No article gets that slug (`service.RESERVED_SLUGS`)."""

    regex = "(?!feed$)[^/]+"


register_url_convertor("blog_slug", SlugConvertor())

# The spec's security scheme: an API key in `Authorization`, written `Token <jwt>`.
token_scheme = APIKeyHeader(
    name="Authorization",
    scheme_name="Token",
    auto_error=False,
    description="`Authorization: Token <token>`, the token from `POST /api/blog/users` or "
    "`/api/blog/users/login` (`Bearer <token>` and the platform's own access tokens work too).",
)
TokenDep = Annotated[str | None, Depends(token_scheme)]


async def optional_user(request: Request, _token: TokenDep) -> Principal | None:
    return await authenticate(request)


async def current_user(request: Request, _token: TokenDep) -> Principal:
    principal = await authenticate(request)
    if principal is None:
        raise Unauthorized(N_("Sign in first: send `Authorization: Token <token>`."))
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
# Routes where the token is optional say so: `{}` in `security` is "no authentication".
OPTIONAL_TOKEN: dict[str, Any] = {"security": [{}]}


async def auth_context(request: Request) -> accounts.AuthContext:
    context: accounts.AuthContext = request.app.state.auth
    return context


AuthDep = Annotated[accounts.AuthContext, Depends(auth_context)]

Slug = Annotated[str, Path(max_length=200, pattern=NO_NUL, description="The article's slug.")]
Username = Annotated[str, Path(max_length=100, pattern=NO_NUL, description="The user's username.")]
Limit = Annotated[int, Query(ge=1, le=100, description="Articles per page (1..100).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Articles to skip, newest first.")]


def _send(payload: dict[str, Any], status_code: int = 200) -> Response:
    """An answer the service shaped in RealWorld's JSON, serialised as it is (the route's
    `response_model` documents it; the tests check every answer against the spec)."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def _ok(example: Any, status_code: int = 200) -> dict[int | str, dict[str, Any]]:
    return {status_code: {"content": {"application/json": {"example": example}}}}


def _client(request: Request) -> accounts.Client:
    return accounts.Client(
        user_agent=request.headers.get("user-agent"), ip=request.client.host if request.client else None
    )


def _user(account: service.Account, token: str, status_code: int = 200) -> Response:
    user = {
        "email": account.email,
        "token": token,
        "username": account.username,
        "bio": account.bio,
        "image": account.image,
    }
    return _send({"user": user}, status_code)


# --- users ----------------------------------------------------------------------------------


@router.post(
    "/users/login",
    summary="Existing user login",
    description="Signs in with email and password and answers the user with a token (lifetime "
    "`SIXTY_BLOG_TOKEN_TTL`, a day by default). Any account of the platform can sign in here.",
    response_model=UserEnvelope,
    responses={**_ok({"user": USER_EXAMPLE}), **error_docs(401, 403, 413, 415, 422, 429, 503)},
)
async def login(
    data: LoginUserRequest,
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    auth: AuthDep,
    settings: SettingsDep,
) -> Response:
    await check_rate_limit(request, LOGIN_PER_IP, client_ip(request))
    # One budget per account, however the address is spelled (case, full-width letters).
    await check_rate_limit(request, LOGIN, unicodedata.normalize("NFKC", data.user.email).strip().lower())
    account, token = await service.login(
        session,
        data.user.email,
        data.user.password,
        auth=auth,
        client=_client(request),
        token_ttl=settings.blog_token_ttl,
        reader=reader,
    )
    return _user(account, token)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Register a new user",
    description="Creates a platform account (it signs in at `/api/auth` too) and answers it with a token. "
    "A taken username or email is a 422.",
    response_model=UserEnvelope,
    responses={**_ok({"user": USER_EXAMPLE}, 201), **error_docs(403, 413, 415, 422, 429, 503)},
    dependencies=[rate_limit(REGISTER)],
)
async def register(
    data: NewUserRequest, request: Request, session: SessionDep, auth: AuthDep, settings: SettingsDep
) -> Response:
    account, token = await service.register(
        session, data.user, auth=auth, client=_client(request), token_ttl=settings.blog_token_ttl
    )
    return _user(account, token, status.HTTP_201_CREATED)


def _token(request: Request) -> str:
    return token_from_header(request.headers.get("authorization")) or ""


@router.get(
    "/user",
    summary="Get current user",
    description="The signed-in user, with the token the request was made with.",
    response_model=UserEnvelope,
    responses={**_ok({"user": USER_EXAMPLE}), **error_docs(401)},
)
async def current(request: Request, reader: ReaderDep, principal: CurrentUser) -> Response:
    return _user(await service.current_account(reader, principal), _token(request))


@router.put(
    "/user",
    summary="Update current user",
    description="Changes the fields sent (at least one). A new password ends your other sessions; "
    "a new email is unverified until confirmed through `/api/auth`.",
    response_model=UserEnvelope,
    responses={**_ok({"user": USER_EXAMPLE}), **error_docs(401, 413, 415, 422)},
)
async def update_current(
    data: UpdateUserRequest, request: Request, session: SessionDep, auth: AuthDep, principal: CurrentUser
) -> Response:
    account = await service.update_account(session, principal, data.user, auth=auth)
    return _user(account, _token(request))


# --- profiles -------------------------------------------------------------------------------


@router.get(
    "/profiles/{username}",
    openapi_extra=OPTIONAL_TOKEN,
    summary="Get a profile",
    description="A user's profile; `following` says whether you follow them (false when anonymous).",
    response_model=ProfileEnvelope,
    responses={**_ok({"profile": PROFILE_EXAMPLE}), **error_docs(401, 404, 422)},
)
async def get_profile(username: Username, reader: ReaderDep, viewer: OptionalUser) -> Response:
    profile = await service.read_profile(reader, username, viewer=viewer)
    return _send({"profile": profile})


FOLLOWING_EXAMPLE = {"profile": {**PROFILE_EXAMPLE, "following": True}}


@router.post(
    "/profiles/{username}/follow",
    summary="Follow a user",
    description="Idempotent. Following yourself is a 422.",
    response_model=ProfileEnvelope,
    responses={**_ok(FOLLOWING_EXAMPLE), **error_docs(401, 404, 422)},
)
async def follow(username: Username, session: SessionDep, principal: CurrentUser) -> Response:
    profile = await service.follow(session, username, follower=principal)
    return _send({"profile": profile})


@router.delete(
    "/profiles/{username}/follow",
    summary="Unfollow a user",
    description="Idempotent.",
    response_model=ProfileEnvelope,
    responses={**_ok({"profile": PROFILE_EXAMPLE}), **error_docs(401, 404, 422)},
)
async def unfollow(username: Username, session: SessionDep, principal: CurrentUser) -> Response:
    profile = await service.unfollow(session, username, follower=principal)
    return _send({"profile": profile})


# --- articles -------------------------------------------------------------------------------

PAGE_EXAMPLE = {"articles": [ARTICLE_SUMMARY_EXAMPLE], "articlesCount": 1}


def _page(articles: list[dict[str, Any]], count: int) -> Response:
    return _send({"articles": articles, "articlesCount": count})


@router.get(
    "/articles/feed",
    summary="Get recent articles from users you follow",
    description="Newest first; `limit` (default 20) and `offset` page through them. Items have no `body`.",
    response_model=ArticlePage,
    responses={**_ok(PAGE_EXAMPLE), **error_docs(401, 422)},
)
async def feed(reader: ReaderDep, principal: CurrentUser, limit: Limit = 20, offset: Offset = 0) -> Response:
    filters = service.ArticleFilter(feed=True)
    articles, count = await service.list_articles(
        reader, filters, viewer=principal, limit=limit, offset=offset
    )
    return _page(articles, count)


@router.get(
    "/articles",
    openapi_extra=OPTIONAL_TOKEN,
    summary="Get recent articles globally",
    description="Newest first, filtered by `tag`, `author` (username) and `favorited` (username): an "
    "unknown one matches nothing. `articlesCount` counts every match; items have no `body`.",
    response_model=ArticlePage,
    responses={**_ok(PAGE_EXAMPLE), **error_docs(401, 422)},
)
async def list_articles(
    reader: ReaderDep,
    viewer: OptionalUser,
    tag: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=NO_NUL, description="A tag.")
    ] = None,
    author: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=NO_NUL, description="The author's username.")
    ] = None,
    favorited: Annotated[
        str | None,
        Query(min_length=1, max_length=100, pattern=NO_NUL, description="Favorited by this username."),
    ] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Response:
    filters = service.ArticleFilter(
        tag=None if tag is None else normalize_tag(tag), author=author, favorited=favorited
    )
    articles, count = await service.list_articles(reader, filters, viewer=viewer, limit=limit, offset=offset)
    return _page(articles, count)


@router.post(
    "/articles",
    status_code=status.HTTP_201_CREATED,
    summary="Create an article",
    description="The slug is made from the title (letters of every script kept); when taken, a short "
    "random suffix is added. Tags are stored in lower case and answered sorted. The body is Markdown, "
    "stored and answered as sent (never rendered here).",
    response_model=ArticleEnvelope,
    responses={**_ok({"article": ARTICLE_EXAMPLE}, 201), **error_docs(401, 413, 415, 422)},
)
async def create_article(data: NewArticleRequest, session: SessionDep, principal: CurrentUser) -> Response:
    article = await service.create_article(session, data.article, author=principal)
    return _send({"article": article}, status.HTTP_201_CREATED)


@router.get(
    "/articles/{slug:blog_slug}",
    openapi_extra=OPTIONAL_TOKEN,
    summary="Get an article",
    description="One article, with its body.",
    response_model=ArticleEnvelope,
    responses={**_ok({"article": ARTICLE_EXAMPLE}), **error_docs(401, 404, 422)},
)
async def get_article(slug: Slug, reader: ReaderDep, viewer: OptionalUser) -> Response:
    article = await service.read_article(reader, slug, viewer=viewer)
    return _send({"article": article})


@router.put(
    "/articles/{slug:blog_slug}",
    summary="Update an article",
    description="Changes the fields sent; a new title gives a new slug. Only the author may (403).",
    response_model=ArticleEnvelope,
    responses={**_ok({"article": ARTICLE_EXAMPLE}), **error_docs(401, 403, 404, 413, 415, 422)},
)
async def update_article(
    slug: Slug, data: UpdateArticleRequest, session: SessionDep, principal: CurrentUser
) -> Response:
    article = await service.update_article(session, slug, data.article, author=principal)
    return _send({"article": article})


@router.delete(
    "/articles/{slug:blog_slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an article",
    description="With its comments and favorites. Only the author may (403).",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **error_docs(401, 403, 404, 422)},
)
async def delete_article(slug: Slug, session: SessionDep, principal: CurrentUser) -> Response:
    await service.delete_article(session, slug, author=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


FAVORITED_EXAMPLE = {"article": {**ARTICLE_EXAMPLE, "favorited": True, "favoritesCount": 1}}


@router.post(
    "/articles/{slug:blog_slug}/favorite",
    summary="Favorite an article",
    description="Idempotent: favoriting twice counts once.",
    response_model=ArticleEnvelope,
    responses={**_ok(FAVORITED_EXAMPLE), **error_docs(401, 404, 422)},
)
async def favorite(slug: Slug, session: SessionDep, principal: CurrentUser) -> Response:
    article = await service.favorite(session, slug, user=principal)
    return _send({"article": article})


@router.delete(
    "/articles/{slug:blog_slug}/favorite",
    summary="Unfavorite an article",
    description="Idempotent.",
    response_model=ArticleEnvelope,
    responses={**_ok({"article": ARTICLE_EXAMPLE}), **error_docs(401, 404, 422)},
)
async def unfavorite(slug: Slug, session: SessionDep, principal: CurrentUser) -> Response:
    article = await service.unfavorite(session, slug, user=principal)
    return _send({"article": article})


# --- comments -------------------------------------------------------------------------------


@router.get(
    "/articles/{slug:blog_slug}/comments",
    openapi_extra=OPTIONAL_TOKEN,
    summary="Get comments for an article",
    description="Every comment of the article, newest first.",
    response_model=CommentList,
    responses={**_ok({"comments": [COMMENT_EXAMPLE]}), **error_docs(401, 404, 422)},
)
async def list_comments(slug: Slug, reader: ReaderDep, viewer: OptionalUser) -> Response:
    comments = await service.list_comments(reader, slug, viewer=viewer)
    return _send({"comments": comments})


@router.post(
    "/articles/{slug:blog_slug}/comments",
    summary="Create a comment for an article",
    description="Answers 200 with the comment, as the spec says.",
    response_model=CommentEnvelope,
    responses={**_ok({"comment": COMMENT_EXAMPLE}), **error_docs(401, 404, 413, 415, 422)},
)
async def add_comment(
    slug: Slug, data: NewCommentRequest, session: SessionDep, principal: CurrentUser
) -> Response:
    comment = await service.add_comment(session, slug, data.comment.body, author=principal)
    return _send({"comment": comment})


@router.delete(
    "/articles/{slug:blog_slug}/comments/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a comment for an article",
    description="Only the comment's author may (403).",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **error_docs(401, 403, 404, 422)},
)
async def delete_comment(
    slug: Slug,
    id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The comment's id.")],
    session: SessionDep,
    principal: CurrentUser,
) -> Response:
    await service.delete_comment(session, slug, id, author=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- tags -----------------------------------------------------------------------------------


@router.get(
    "/tags",
    summary="Get tags",
    description="Every tag in use, by name.",
    response_model=TagsRead,
    responses={**_ok({"tags": ["dragons", "training"]}), **error_docs()},
)
async def tags(reader: ReaderDep) -> Response:
    return _send({"tags": await service.list_tags(reader)})
