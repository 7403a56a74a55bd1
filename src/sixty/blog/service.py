"""The blog's logic. No HTTP here; the caller's unit of work commits.

Reads are SQLAlchemy Core statements built once per shape and run through a `Reader`: for a
GET the request's reader, after a write the request's own session (`SessionReader`), so a
write answers what it wrote with the same statement a GET would use. An article list is one
query whatever its size: the count joined to the page with its authors, tags and favorites.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    SQLColumnExpression,
    String,
    Subquery,
    Uuid,
    bindparam,
    delete,
    exists,
    false,
    func,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from sixty.auth import service as accounts
from sixty.auth.schemas import ProfileUpdate, Registration
from sixty.blog.models import (
    AUTH_USER,
    Article,
    ArticleCount,
    ArticleTag,
    BlogProfile,
    Comment,
    Favorite,
    Follow,
    Tag,
)
from sixty.blog.schemas import NewArticle, NewUser, UpdateArticle, UpdateUser
from sixty.core.errors import Forbidden, NotFound, Unprocessable
from sixty.core.i18n import N_
from sixty.core.models import utcnow
from sixty.core.reader import AnySelect, Reader, Row, SessionReader, iso_millis
from sixty.core.security import Principal

SLUG_MAX = 80
SLUG_ATTEMPTS = 8
# Tags are normalised with their blanks collapsed to single spaces, so no tag holds a newline
# (`joined_lines` joins an article's tags with it).
TAG_SEPARATOR = "\n"


# --- statements -----------------------------------------------------------------------------


class joined_lines(FunctionElement[str]):  # noqa: N801 - an SQL function, named like one
    """An aggregate: the values joined by newlines (order unspecified). SQLAlchemy's
    `aggregate_strings` renders its separator at execution time, which a statement compiled
    once for the reader cannot have; this one is a constant of the SQL text."""

    type = String()
    inherit_cache = True
    name = "joined_lines"


@compiles(joined_lines)
def _joined_lines_sqlite(element: joined_lines, compiler: SQLCompiler, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, char(10))"


@compiles(joined_lines, "postgresql")
def _joined_lines_postgresql(element: joined_lines, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, chr(10))"


VIEWER = bindparam("viewer_id", type_=Uuid())


def _author_key(username: str) -> str:
    """Usernames are unique whatever their case: accounts are looked up by the lower-case key."""
    return username.lower()


def _following(author_id: SQLColumnExpression[Any], signed_in: bool) -> ColumnElement[bool]:
    if not signed_in:
        return false()
    return exists().where(Follow.follower_id == VIEWER, Follow.followee_id == author_id)


@cache
def _profile_statement(signed_in: bool) -> AnySelect:
    return (
        select(
            AUTH_USER.c.id,
            AUTH_USER.c.username,
            BlogProfile.bio,
            BlogProfile.image,
            _following(AUTH_USER.c.id, signed_in).label("following"),
        )
        .select_from(AUTH_USER)
        .outerjoin(BlogProfile, BlogProfile.user_id == AUTH_USER.c.id)
        .where(AUTH_USER.c.username_key == bindparam("username_key"))
    )


_BIO = select(BlogProfile.bio, BlogProfile.image).where(BlogProfile.user_id == bindparam("user_id"))


def _article_columns(signed_in: bool, *, with_body: bool) -> list[SQLColumnExpression[Any]]:
    favorites_count = (
        select(func.count()).select_from(Favorite).where(Favorite.article_id == Article.id).scalar_subquery()
    )
    favorited: ColumnElement[bool] = (
        exists().where(Favorite.article_id == Article.id, Favorite.user_id == VIEWER)
        if signed_in
        else false()
    )
    tags = (
        select(joined_lines(Tag.name))
        .select_from(ArticleTag)
        .join(Tag, Tag.id == ArticleTag.tag_id)
        .where(ArticleTag.article_id == Article.id)
        .scalar_subquery()
    )
    columns: list[SQLColumnExpression[Any]] = [
        Article.id,
        Article.slug,
        Article.title,
        Article.description,
        iso_millis(Article.created_at).label("created_at"),
        iso_millis(Article.updated_at).label("updated_at"),
        tags.label("tags"),
        favorited.label("favorited"),
        favorites_count.label("favorites_count"),
        AUTH_USER.c.username.label("author_username"),
        BlogProfile.bio.label("author_bio"),
        BlogProfile.image.label("author_image"),
        _following(Article.author_id, signed_in).label("author_following"),
    ]
    if with_body:
        columns.append(Article.body)
    return columns


def _with_authors(statement: AnySelect) -> AnySelect:
    return (
        statement.select_from(Article)
        .join(AUTH_USER, AUTH_USER.c.id == Article.author_id)
        .outerjoin(BlogProfile, BlogProfile.user_id == Article.author_id)
    )


@cache
def _article_statement(signed_in: bool) -> AnySelect:
    statement = select(*_article_columns(signed_in, with_body=True))
    return _with_authors(statement).where(Article.slug == bindparam("slug"))


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles a list holds: the filters of `GET /articles`, or the feed of a follower."""

    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    feed: bool = False

    @property
    def shape(self) -> tuple[bool, bool, bool, bool]:
        return (self.tag is not None, self.author is not None, self.favorited is not None, self.feed)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.tag is not None:
            params["tag"] = self.tag
        if self.author is not None:
            params["author_key"] = _author_key(self.author)
        if self.favorited is not None:
            params["favorited_key"] = _author_key(self.favorited)
        return params


def _filters(tag: bool, author: bool, favorited: bool, feed: bool) -> list[ColumnElement[bool]]:
    """An unknown tag, author or favoriter matches nothing (an empty list, not a 404)."""
    where: list[ColumnElement[bool]] = []
    if tag:
        where.append(
            Article.id.in_(
                select(ArticleTag.article_id)
                .join(Tag, Tag.id == ArticleTag.tag_id)
                .where(Tag.name == bindparam("tag"))
            )
        )
    if author:
        author_id = select(AUTH_USER.c.id).where(AUTH_USER.c.username_key == bindparam("author_key"))
        where.append(Article.author_id == author_id.scalar_subquery())
    if favorited:
        where.append(
            Article.id.in_(
                select(Favorite.article_id)
                .join(AUTH_USER, AUTH_USER.c.id == Favorite.user_id)
                .where(AUTH_USER.c.username_key == bindparam("favorited_key"))
            )
        )
    if feed:
        where.append(Article.author_id.in_(select(Follow.followee_id).where(Follow.follower_id == VIEWER)))
    return where


NEWEST_FIRST = (Article.created_at.desc(), Article.id.desc())  # served by ix_blog_article_created_at_id


TAG_ONLY = (True, False, False, False)  # the usual filter
FEED = (False, False, False, True)
FIRST_PAGE_SIZES = 100  # the API's largest page: a statement each, at most


def _page(
    shape: tuple[bool, bool, bool, bool], first_page_size: int | None = None, *, lateral: bool = False
) -> Subquery:
    """The ids of the page's articles, newest first. The first page has its size written into
    the statement: PostgreSQL plans a statement whose LIMIT and OFFSET are parameters again on
    every execution (its generic plan, blind to the page size, is several times slower), while
    one with a fixed size is planned once per connection (0.84 -> 0.41 ms for the front page)."""
    fixed_size = None if first_page_size is None else literal_column(str(int(first_page_size)), Integer())
    if shape == TAG_ONLY:  # straight off ix_blog_article_tag_tag_id_created_at, however many the tag has
        tag_id = select(Tag.id).where(Tag.name == bindparam("tag")).scalar_subquery()
        page = (
            select(ArticleTag.article_id.label("id"))
            .where(ArticleTag.tag_id == tag_id)
            .order_by(ArticleTag.article_created_at.desc(), ArticleTag.article_id.desc())
        )
    elif shape == FEED and lateral:
        # Each followed author's newest articles (as many as the pages so far hold), off the
        # author index alone, then the newest of those: walking every article newest first until
        # enough are by followed authors read 970 rows for a reader following 50 of 1,000.
        depth = fixed_size if fixed_size is not None else bindparam("depth", type_=Integer())
        newest = (
            select(Article.id, Article.created_at)
            .where(Article.author_id == Follow.followee_id)
            .order_by(*NEWEST_FIRST)
            .limit(depth)
            .lateral("newest")
        )
        page = (
            select(newest.c.id)
            .select_from(Follow)
            .join(newest, true())
            .where(Follow.follower_id == VIEWER)
            .order_by(newest.c.created_at.desc(), newest.c.id.desc())
        )
    else:
        page = select(Article.id).where(*_filters(*shape)).order_by(*NEWEST_FIRST)
    if fixed_size is not None:
        return page.limit(fixed_size).subquery("page")
    return (
        page.limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
        .subquery("page")
    )


@cache  # bounded: 16 shapes, signed in or not, first pages of 1..FIRST_PAGE_SIZES, feeds LATERAL
def _list_statement(
    shape: tuple[bool, bool, bool, bool],
    signed_in: bool,
    first_page_size: int | None = None,
    *,
    lateral: bool = False,
) -> AnySelect:
    """How many articles match, and the page: one round trip. The count is a one-row subquery
    the page is joined to (a row with no article when the page is empty), and the page's ids
    come first (filtered, sorted, cut), then their authors, tags and favorites: the joins and
    subqueries run for the page's rows only, never for every match."""
    total = _count_statement(shape).subquery("total")
    page = _page(shape, first_page_size, lateral=lateral)
    articles = (
        page.join(Article, Article.id == page.c.id)
        .join(AUTH_USER, AUTH_USER.c.id == Article.author_id)
        .outerjoin(BlogProfile, BlogProfile.user_id == Article.author_id)
    )
    return (
        select(total.c.count.label("total"), *_article_columns(signed_in, with_body=False))
        .select_from(total)
        .outerjoin(articles, true())
        .order_by(*NEWEST_FIRST)
    )


ALL_ARTICLES = (False, False, False, False)


def _count_statement(shape: tuple[bool, bool, bool, bool]) -> AnySelect:
    """How many articles the list holds. All articles, or one tag's, are counted by the database
    as they change (`ArticleCount`): a sum of a few rows, however many articles there are. The
    other filters (an author's, a reader's favorites, a feed) count their matches."""
    if shape in (ALL_ARTICLES, TAG_ONLY):
        counted = (
            ArticleCount.tag_id.is_(None)
            if shape == ALL_ARTICLES
            else ArticleCount.tag_id == select(Tag.id).where(Tag.name == bindparam("tag")).scalar_subquery()
        )
        return select(func.coalesce(func.sum(ArticleCount.delta), 0).label("count")).where(counted)
    return select(func.count().label("count")).select_from(Article).where(*_filters(*shape))


async def compact_counts(session: AsyncSession) -> int:
    """Folds the article counts' ledger into one row per key (none for a key that sums to 0), in
    the caller's transaction; answers how many rows it folded. It takes exactly the rows it
    deletes (`DELETE ... RETURNING`): a row written meanwhile stays for the next time, and two
    compactions at once never fold a row twice."""
    rows = await session.execute(
        select(func.count(), func.count(func.distinct(func.coalesce(ArticleCount.tag_id, -1))))
    )
    ledger_rows, keys = rows.one()
    if ledger_rows == keys:
        return 0  # one row per key already
    folded = (
        await session.execute(delete(ArticleCount).returning(ArticleCount.tag_id, ArticleCount.delta))
    ).all()
    totals: dict[int | None, int] = {}
    for tag_id, delta in folded:
        totals[tag_id] = totals.get(tag_id, 0) + delta
    session.add_all(ArticleCount(tag_id=tag_id, delta=total) for tag_id, total in totals.items() if total)
    await session.flush()
    return len(folded)


@cache
def _comments_statement(signed_in: bool) -> AnySelect:
    """The article's comments, newest first; one row with no comment when it has none, and no
    row at all when the article does not exist (a 404)."""
    return (
        select(
            Article.id.label("article_id"),
            Comment.id,
            Comment.body,
            iso_millis(Comment.created_at).label("created_at"),
            iso_millis(Comment.updated_at).label("updated_at"),
            AUTH_USER.c.username.label("author_username"),
            BlogProfile.bio.label("author_bio"),
            BlogProfile.image.label("author_image"),
            _following(Comment.author_id, signed_in).label("author_following"),
        )
        .select_from(Article)
        .outerjoin(Comment, Comment.article_id == Article.id)
        .outerjoin(AUTH_USER, AUTH_USER.c.id == Comment.author_id)
        .outerjoin(BlogProfile, BlogProfile.user_id == Comment.author_id)
        .where(Article.slug == bindparam("slug"))
        .order_by(Comment.id.desc())
    )


@cache
def _comment_statement(signed_in: bool) -> AnySelect:
    return _comments_statement(signed_in).where(Comment.id == bindparam("comment_id"))


_TAGS = select(Tag.name).where(exists().where(ArticleTag.tag_id == Tag.id)).order_by(Tag.name)


# --- shaping rows ---------------------------------------------------------------------------


# Straight into RealWorld's JSON (camelCase, timestamps already text): the router sends these as
# they are. The schemas document them, and the tests check every answer against the spec; going
# through pydantic models again (validate, then dump) was an eighth of a list page's work.


def _author(row: Row) -> dict[str, Any]:
    return {
        "username": row["author_username"],
        "bio": row["author_bio"],
        "image": row["author_image"],
        "following": bool(row["author_following"]),
    }


def _article(row: Row) -> dict[str, Any]:
    tags = row["tags"]
    article = {
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "tagList": sorted(tags.split(TAG_SEPARATOR)) if tags else [],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "favorited": bool(row["favorited"]),
        "favoritesCount": row["favorites_count"],
        "author": _author(row),
    }
    if "body" in row:
        article["body"] = row["body"]
    return article


def _comment(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "body": row["body"],
        "author": _author(row),
    }


def _viewer(principal: Principal | None) -> dict[str, Any]:
    return {} if principal is None else {"viewer_id": principal.user_id}


# --- users ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """An account as the blog's user endpoints answer it (the token is added by the router)."""

    email: str
    username: str
    bio: str | None
    image: str | None


async def _account(reader: Reader, user_id: uuid.UUID, *, email: str, username: str) -> Account:
    row = await reader.one(_BIO, user_id=user_id) or {"bio": None, "image": None}
    return Account(email=email, username=username, bio=row["bio"], image=row["image"])


async def register(
    session: AsyncSession,
    data: NewUser,
    *,
    auth: accounts.AuthContext,
    client: accounts.Client,
    token_ttl: timedelta,
) -> tuple[Account, str]:
    """A platform account (the same one `/api/auth` signs in) and a token for it."""
    registration = Registration(email=data.email, password=data.password, username=data.username)
    user = await accounts.register(session, registration, auth=auth)
    accounts.check_can_sign_in(user, auth=auth)
    tokens = await accounts.open_session(session, user, auth=auth, client=client, access_ttl=token_ttl)
    return Account(email=user.email, username=user.username, bio=None, image=None), tokens.access_token


async def login(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    auth: accounts.AuthContext,
    client: accounts.Client,
    token_ttl: timedelta,
    reader: Reader,
) -> tuple[Account, str]:
    user, tokens = await accounts.sign_in_with_password(
        session, email, password, auth=auth, client=client, reader=reader, access_ttl=token_ttl
    )
    account = await _account(SessionReader(session), user.id, email=user.email, username=user.username)
    return account, tokens.access_token


async def current_account(reader: Reader, principal: Principal) -> Account:
    return await _account(reader, principal.user_id, email=principal.email, username=principal.username)


def _insert(session: AsyncSession) -> Any:
    """`INSERT` with the dialect's `ON CONFLICT` support (idempotent follows, favorites, tags)."""
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


async def update_account(
    session: AsyncSession, principal: Principal, data: UpdateUser, *, auth: accounts.AuthContext
) -> Account:
    user = await accounts.get_user(session, principal.user_id)
    if data.username is not None and data.username != user.username:
        await accounts.update_profile(session, user, ProfileUpdate(username=data.username), auth=auth)
    if data.email is not None:
        await accounts.change_email(session, user, data.email)
    if data.password is not None:
        await accounts.replace_password(
            session, user, data.password, keep_session=principal.session_id, auth=auth
        )
    changes = {field: getattr(data, field) for field in ("bio", "image") if field in data.model_fields_set}
    if changes:
        insert = _insert(session)
        await session.execute(insert(BlogProfile).values(user_id=user.id).on_conflict_do_nothing())
        await session.execute(update(BlogProfile).where(BlogProfile.user_id == user.id).values(**changes))
    return await _account(SessionReader(session), user.id, email=user.email, username=user.username)


# --- profiles -------------------------------------------------------------------------------


async def read_profile(reader: Reader, username: str, *, viewer: Principal | None) -> dict[str, Any]:
    row = await reader.one(
        _profile_statement(viewer is not None), username_key=_author_key(username), **_viewer(viewer)
    )
    if row is None:
        raise NotFound(N_("There is no user {username}."), username=username)
    return {
        "username": row["username"],
        "bio": row["bio"],
        "image": row["image"],
        "following": bool(row["following"]),
    }


async def _user_id(session: AsyncSession, username: str) -> uuid.UUID:
    user_id: uuid.UUID | None = await session.scalar(
        select(AUTH_USER.c.id).where(AUTH_USER.c.username_key == _author_key(username))
    )
    if user_id is None:
        raise NotFound(N_("There is no user {username}."), username=username)
    return user_id


async def follow(session: AsyncSession, username: str, *, follower: Principal) -> dict[str, Any]:
    """Idempotent: following someone you already follow changes nothing."""
    followee_id = await _user_id(session, username)
    if followee_id == follower.user_id:
        raise Unprocessable(N_("You cannot follow yourself."), code="self_follow")
    insert = _insert(session)
    await session.execute(
        insert(Follow).values(follower_id=follower.user_id, followee_id=followee_id).on_conflict_do_nothing()
    )
    return await read_profile(SessionReader(session), username, viewer=follower)


async def unfollow(session: AsyncSession, username: str, *, follower: Principal) -> dict[str, Any]:
    followee_id = await _user_id(session, username)
    await session.execute(
        delete(Follow).where(Follow.follower_id == follower.user_id, Follow.followee_id == followee_id)
    )
    return await read_profile(SessionReader(session), username, viewer=follower)


# --- articles -------------------------------------------------------------------------------

_NOT_SLUG = re.compile(r"[\W_]+")


def slugify(title: str) -> str:
    """A URL-friendly form of the title that keeps letters of every script: `Ça va? Да!` is
    `ça-va-да`. Never empty (a title of symbols alone gives `article`)."""
    text = _NOT_SLUG.sub("-", unicodedata.normalize("NFKC", title).lower()).strip("-")
    return text[:SLUG_MAX].rstrip("-") or "article"


def _suffixed(base: str) -> str:
    return f"{base}-{secrets.token_hex(3)}"


# Paths of their own under /articles/: an article with such a slug could not be read.
RESERVED_SLUGS = frozenset({"feed"})


async def _slug_taken(session: AsyncSession, slug: str) -> bool:
    if slug in RESERVED_SLUGS:
        return True
    return (await session.scalar(select(Article.id).where(Article.slug == slug))) is not None


async def _claim_slug(session: AsyncSession, article_id: int, title: str) -> str:
    """Gives the article a unique slug made from `title`: the plain one when free, else with a
    short random suffix. A concurrent writer that takes the same slug first makes our UPDATE
    fail on the unique constraint (inside a savepoint), and we try another suffix."""
    base = slugify(title)
    candidate = _suffixed(base) if await _slug_taken(session, base) else base
    for _attempt in range(SLUG_ATTEMPTS):
        try:
            async with session.begin_nested():
                await session.execute(
                    update(Article)
                    .where(Article.id == article_id)
                    # Keeps updated_at: naming a new article is not an edit.
                    .values(slug=candidate, updated_at=Article.updated_at)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            candidate = _suffixed(base)
            continue
        return candidate
    raise RuntimeError(f"no free slug for {base!r} after {SLUG_ATTEMPTS} attempts")  # pragma: no cover


async def _tag_ids(session: AsyncSession, names: Sequence[str]) -> list[int]:
    if not names:
        return []
    insert = _insert(session)
    await session.execute(insert(Tag).values([{"name": name} for name in names]).on_conflict_do_nothing())
    return list((await session.scalars(select(Tag.id).where(Tag.name.in_(names)))).all())


async def _set_tags(session: AsyncSession, article: Article, names: Sequence[str]) -> None:
    await session.execute(delete(ArticleTag).where(ArticleTag.article_id == article.id))
    tag_ids = await _tag_ids(session, sorted(set(names)))
    if tag_ids:
        await session.execute(
            _insert(session)(ArticleTag).values(
                [
                    {"article_id": article.id, "tag_id": tag, "article_created_at": article.created_at}
                    for tag in tag_ids
                ]
            )
        )


async def create_article(session: AsyncSession, data: NewArticle, *, author: Principal) -> dict[str, Any]:
    # Inserted under a placeholder slug no title can give (slugs never hold `:`), then renamed:
    # the slug is claimed by one statement that the unique constraint guards.
    article = Article(
        slug=f":{uuid.uuid4().hex}",
        title=data.title,
        description=data.description,
        body=data.body,
        author_id=author.user_id,
    )
    session.add(article)
    await session.flush()
    slug = await _claim_slug(session, article.id, data.title)
    await _set_tags(session, article, data.tag_list)
    return await read_article(SessionReader(session), slug, viewer=author)


async def _own_article(session: AsyncSession, slug: str, principal: Principal) -> Article:
    article: Article | None = await session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        raise NotFound(N_("There is no article {slug}."), slug=slug)
    if article.author_id != principal.user_id:
        raise Forbidden(N_("Only its author may change or delete this article."), code="not_author")
    return article


async def update_article(
    session: AsyncSession, slug: str, data: UpdateArticle, *, author: Principal
) -> dict[str, Any]:
    article = await _own_article(session, slug, author)
    for field in ("description", "body"):
        if field in data.model_fields_set:
            setattr(article, field, getattr(data, field))
    new_title = data.title is not None and data.title != article.title
    if data.title is not None:
        article.title = data.title
    article.updated_at = utcnow()  # also when only the tags change
    await session.flush()
    if new_title and slugify(article.title) != slug:
        slug = await _claim_slug(session, article.id, article.title)
    if data.tag_list is not None:
        await _set_tags(session, article, data.tag_list)
    return await read_article(SessionReader(session), slug, viewer=author)


async def delete_article(session: AsyncSession, slug: str, *, author: Principal) -> None:
    """Its comments, favorites and tag links go with it (ON DELETE CASCADE)."""
    article = await _own_article(session, slug, author)
    await session.execute(delete(Article).where(Article.id == article.id))


async def _article_id(session: AsyncSession, slug: str) -> int:
    article_id: int | None = await session.scalar(select(Article.id).where(Article.slug == slug))
    if article_id is None:
        raise NotFound(N_("There is no article {slug}."), slug=slug)
    return article_id


async def favorite(session: AsyncSession, slug: str, *, user: Principal) -> dict[str, Any]:
    """Idempotent: favoriting twice counts once."""
    article_id = await _article_id(session, slug)
    insert = _insert(session)
    await session.execute(
        insert(Favorite).values(article_id=article_id, user_id=user.user_id).on_conflict_do_nothing()
    )
    return await read_article(SessionReader(session), slug, viewer=user)


async def unfavorite(session: AsyncSession, slug: str, *, user: Principal) -> dict[str, Any]:
    article_id = await _article_id(session, slug)
    await session.execute(
        delete(Favorite).where(Favorite.article_id == article_id, Favorite.user_id == user.user_id)
    )
    return await read_article(SessionReader(session), slug, viewer=user)


async def read_article(reader: Reader, slug: str, *, viewer: Principal | None) -> dict[str, Any]:
    row = await reader.one(_article_statement(viewer is not None), slug=slug, **_viewer(viewer))
    if row is None:
        raise NotFound(N_("There is no article {slug}."), slug=slug)
    return _article(row)


async def list_articles(
    reader: Reader, filters: ArticleFilter, *, viewer: Principal | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of articles, newest first, and how many match in all: one query."""
    params = {**filters.params(), **_viewer(viewer)}
    first_page = offset == 0 and limit <= FIRST_PAGE_SIZES
    lateral = filters.feed and reader.dialect.name == "postgresql"  # SQLite has no LATERAL
    statement = _list_statement(
        filters.shape, viewer is not None, limit if first_page else None, lateral=lateral
    )
    rows = await reader.all(statement, limit=limit, offset=offset, depth=limit + offset, **params)
    count = int(rows[0]["total"]) if rows else 0
    return [_article(row) for row in rows if row["id"] is not None], count


async def list_tags(reader: Reader) -> list[str]:
    return [row["name"] for row in await reader.all(_TAGS)]


# --- comments -------------------------------------------------------------------------------


async def list_comments(reader: Reader, slug: str, *, viewer: Principal | None) -> list[dict[str, Any]]:
    rows = await reader.all(_comments_statement(viewer is not None), slug=slug, **_viewer(viewer))
    if not rows:
        raise NotFound(N_("There is no article {slug}."), slug=slug)
    return [_comment(row) for row in rows if row["id"] is not None]


async def add_comment(session: AsyncSession, slug: str, body: str, *, author: Principal) -> dict[str, Any]:
    comment = Comment(article_id=await _article_id(session, slug), author_id=author.user_id, body=body)
    session.add(comment)
    await session.flush()
    row = await SessionReader(session).one(
        _comment_statement(True), slug=slug, comment_id=comment.id, viewer_id=author.user_id
    )
    assert row is not None  # noqa: S101 - just written in this transaction
    return _comment(row)


async def delete_comment(session: AsyncSession, slug: str, comment_id: int, *, author: Principal) -> None:
    article_id = await _article_id(session, slug)
    comment: Comment | None = await session.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.article_id == article_id)
    )
    if comment is None:
        raise NotFound(N_("There is no comment {id} on this article."), id=comment_id)
    if comment.author_id != author.user_id:
        raise Forbidden(N_("Only its author may delete this comment."), code="not_author")
    await session.delete(comment)
    await session.flush()
