"""The shortener's logic: creating, reading, changing and deleting links, and their statistics.

Services flush and never commit (the request's unit of work does). The redirect's hot path lives
in `redirects.py`; clicks are buffered and written in batches by `clicks.py`.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Uuid, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.errors import Conflict, InvalidField, NotFound, invalid_fields
from sixty.core.i18n import N_
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row
from sixty.shortener.models import LinkClick, ShortLink
from sixty.shortener.schemas import LinkCreate, LinkSort, LinkUpdate
from sixty.shortener.targets import TargetRefused, check_target

# No 0/O/o, 1/l/I/i: a code read aloud or from paper is typed right.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_ATTEMPTS = 8
# Aliases that would read as part of the site, or be mistaken for it (compared case-insensitively).
RESERVED = frozenset(
    {
        "about", "account", "admin", "api", "app", "assets", "auth", "blog", "bulk", "dashboard", "docs",
        "favicon",
        "health", "healthz", "help", "home", "index", "links", "login", "logout", "metrics", "new",
        "openapi", "password", "qr", "readyz", "redoc", "register", "robots", "root", "s", "settings",
        "signin", "signup", "static", "stats", "support", "www",
    }
)  # fmt: skip
STATS_TOP = 50


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LinkPolicy:
    code_length: int = 7
    allow_private_targets: bool = False
    resolve_timeout: float = 3.0
    hasher: PasswordHasher = field(default_factory=PasswordHasher)

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkPolicy:
        return cls(
            code_length=settings.shortener_code_length,
            allow_private_targets=settings.shortener_allow_private_targets,
            resolve_timeout=settings.shortener_resolve_timeout,
            hasher=PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
        )


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


async def hash_password(policy: LinkPolicy, password: str) -> str:
    return await asyncio.to_thread(policy.hasher.hash, password)


async def verify_password(policy: LinkPolicy, password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return policy.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


# --- writes ----------------------------------------------------------------------------------------


async def _checked_url(url: str, policy: LinkPolicy, loc: tuple[str | int, ...]) -> str | InvalidField:
    try:
        return await check_target(
            url, allow_private=policy.allow_private_targets, resolve_timeout=policy.resolve_timeout
        )
    except TargetRefused as refused:
        return InvalidField(loc, refused.code, refused.message, refused.params)


def _future(moment: datetime | None, loc: tuple[str | int, ...]) -> InvalidField | None:
    if moment is not None and moment <= now():
        return InvalidField(loc, "expires_in_past", N_("The expiry must lie in the future."))
    return None


def _alias_error(alias: str | None, loc: tuple[str | int, ...]) -> InvalidField | None:
    if alias is not None and alias.lower() in RESERVED:
        return InvalidField(loc, "alias_reserved", N_("The alias {alias} is reserved."), {"alias": alias})
    return None


async def _validated(
    data: LinkCreate, policy: LinkPolicy, loc: tuple[str | int, ...]
) -> tuple[str | None, list[InvalidField]]:
    errors = [
        error
        for error in (
            _alias_error(data.alias, (*loc, "alias")),
            _future(data.expires_at, (*loc, "expires_at")),
        )
        if error is not None
    ]
    target = await _checked_url(data.url, policy, (*loc, "url"))
    if isinstance(target, InvalidField):
        return None, [target, *errors]
    return target, errors


def alias_taken(alias: str) -> Conflict:
    return Conflict(N_("The alias {alias} is already taken."), code="alias_taken", alias=alias)


async def _insert(
    session: AsyncSession, link: ShortLink, *, policy: LinkPolicy, alias: str | None
) -> ShortLink:
    """Insert with the alias, or with fresh random codes until one is free (a unique index decides)."""
    for _attempt in range(1 if alias else CODE_ATTEMPTS):
        link.code = alias or new_code(policy.code_length)
        if await session.scalar(select(ShortLink.id).where(ShortLink.code == link.code)) is None:
            try:
                async with session.begin_nested():
                    session.add(link)
                    await session.flush()
            except IntegrityError:  # taken between the check and the insert; the savepoint is undone
                pass
            else:
                return link
        if alias:
            break
    if alias:
        raise alias_taken(alias)
    raise RuntimeError("no free short code after several attempts; raise SIXTY_SHORTENER_CODE_LENGTH")


async def _new_link(
    data: LinkCreate, target: str, *, owner_id: uuid.UUID | None, policy: LinkPolicy
) -> ShortLink:
    return ShortLink(
        id=uuid.uuid4(),
        owner_id=owner_id,
        target=target,
        redirect_status=data.redirect_status,
        expires_at=data.expires_at,
        max_visits=data.max_visits,
        visits=0,
        password_hash=await hash_password(policy, data.password) if data.password else None,
    )


async def create_link(
    session: AsyncSession, data: LinkCreate, *, owner_id: uuid.UUID | None, policy: LinkPolicy
) -> ShortLink:
    target, errors = await _validated(data, policy, ("body",))
    if errors or target is None:
        raise invalid_fields(errors)
    link = await _new_link(data, target, owner_id=owner_id, policy=policy)
    return await _insert(session, link, policy=policy, alias=data.alias)


async def create_links(
    session: AsyncSession, items: Sequence[LinkCreate], *, owner_id: uuid.UUID | None, policy: LinkPolicy
) -> list[ShortLink]:
    """All or none: every bad item is reported in one 422; a taken or repeated alias is a 409."""
    checked = await asyncio.gather(
        *(_validated(item, policy, ("body", "links", index)) for index, item in enumerate(items))
    )
    errors = [error for _target, item_errors in checked for error in item_errors]
    if errors:
        raise invalid_fields(errors)
    aliases = [item.alias for item in items if item.alias]
    repeated = next((alias for alias in aliases if aliases.count(alias) > 1), None)
    if repeated is not None:
        raise alias_taken(repeated)
    links = []
    for item, (target, _errors) in zip(items, checked, strict=True):
        link = await _new_link(item, target or "", owner_id=owner_id, policy=policy)
        links.append(await _insert(session, link, policy=policy, alias=item.alias))
    return links


def link_not_found(code: str) -> NotFound:
    return NotFound(N_("There is no link {link}."), code="link_not_found", link=code)


async def owned_link(session: AsyncSession, code: str, *, owner_id: uuid.UUID) -> ShortLink:
    link = await session.scalar(
        select(ShortLink).where(ShortLink.code == code, ShortLink.owner_id == owner_id).with_for_update()
    )
    if link is None:
        raise link_not_found(code)
    return link


async def update_link(
    session: AsyncSession, code: str, data: LinkUpdate, *, owner_id: uuid.UUID, policy: LinkPolicy
) -> ShortLink:
    link = await owned_link(session, code, owner_id=owner_id)
    given = data.model_fields_set
    errors: list[InvalidField] = []
    target: str | InvalidField | None = None
    if "url" in given and data.url is not None:
        target = await _checked_url(data.url, policy, ("body", "url"))
        if isinstance(target, InvalidField):
            errors.append(target)
    if "expires_at" in given and (error := _future(data.expires_at, ("body", "expires_at"))) is not None:
        errors.append(error)
    if errors:
        raise invalid_fields(errors)
    if isinstance(target, str):
        link.target = target
    if "redirect_status" in given and data.redirect_status is not None:
        link.redirect_status = data.redirect_status
    if "expires_at" in given:
        link.expires_at = data.expires_at
    if "max_visits" in given:
        link.max_visits = data.max_visits
    if "password" in given:
        link.password_hash = await hash_password(policy, data.password) if data.password else None
    link.updated_at = now()
    await session.flush()
    return link


async def delete_link(session: AsyncSession, code: str, *, owner_id: uuid.UUID) -> None:
    link = await owned_link(session, code, owner_id=owner_id)
    await session.delete(link)
    await session.flush()


# --- reads (GET: core/reader) ----------------------------------------------------------------------

LINK_COLUMNS = (
    ShortLink.id,
    ShortLink.code,
    ShortLink.target,
    ShortLink.redirect_status,
    ShortLink.expires_at,
    ShortLink.max_visits,
    ShortLink.visits,
    (ShortLink.password_hash.is_not(None)).label("password_protected"),
    ShortLink.created_at,
    ShortLink.updated_at,
)
OWNED_LINK = select(*LINK_COLUMNS).where(
    ShortLink.code == bindparam("code"),
    ShortLink.owner_id == bindparam("owner_id", type_=Uuid()),
)
LINK_ID_BY_CODE = select(ShortLink.id).where(ShortLink.code == bindparam("code"))
LINK_SORTS = sort_keys(ShortLink.id, created_at=ShortLink.created_at)


async def read_owned(reader: Reader, code: str, *, owner_id: uuid.UUID) -> Row:
    row = await reader.one(OWNED_LINK, code=code, owner_id=owner_id)
    if row is None:
        raise link_not_found(code)
    return row


async def read_links(reader: Reader, codes: Sequence[str]) -> list[Row]:
    rows = []
    for code in codes:
        row = await reader.one(_BY_CODE, code=code)
        if row is not None:
            rows.append(row)
    return rows


_BY_CODE = select(*LINK_COLUMNS).where(ShortLink.code == bindparam("code"))


@cache
def _links_statement(sort: LinkSort, after: bool) -> AnySelect:
    return keyset_page(
        select(*LINK_COLUMNS).where(ShortLink.owner_id == bindparam("owner_id", type_=Uuid())),
        LINK_SORTS[sort],
        after=after,
    )


async def list_links(
    reader: Reader,
    *,
    owner_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    sort: LinkSort = "-created_at",
) -> tuple[list[Row], str | None]:
    return await paginate(
        reader,
        lambda after: _links_statement(sort, after),
        sort=LINK_SORTS[sort],
        params=params,
        codec=codec,
        owner_id=owner_id,
    )


async def link_exists(reader: Reader, code: str) -> bool:
    return await reader.one(LINK_ID_BY_CODE, code=code) is not None


_CLICKS = func.sum(LinkClick.clicks).label("clicks")
_OF_LINK = LinkClick.link_id == bindparam("link_id", type_=Uuid())
_HUMAN = LinkClick.bot.is_(False)
CLICK_TOTALS = select(LinkClick.bot, _CLICKS).where(_OF_LINK).group_by(LinkClick.bot)
CLICKS_BY_DAY = (
    select(LinkClick.day, _CLICKS).where(_OF_LINK, _HUMAN).group_by(LinkClick.day).order_by(LinkClick.day)
)


def _top(column: Any) -> AnySelect:
    return (
        select(column.label("key"), _CLICKS)
        .where(_OF_LINK, _HUMAN, column.is_not(None))
        .group_by(column)
        .order_by(_CLICKS.desc(), column)
        .limit(STATS_TOP)
    )


CLICKS_BY_REFERRER = _top(LinkClick.referrer_host)
CLICKS_BY_COUNTRY = _top(LinkClick.country)
CLICKS_BY_BROWSER = _top(LinkClick.browser)


async def link_stats(
    reader: Reader, code: str, *, owner_id: uuid.UUID, with_countries: bool
) -> dict[str, Any]:
    link = await read_owned(reader, code, owner_id=owner_id)
    values = {"link_id": link["id"]}
    totals = {bool(row["bot"]): int(row["clicks"]) for row in await reader.all(CLICK_TOTALS, **values)}
    return {
        "code": code,
        "clicks": totals.get(False, 0),
        "bot_clicks": totals.get(True, 0),
        "by_day": await reader.all(CLICKS_BY_DAY, **values),
        "referrers": await reader.all(CLICKS_BY_REFERRER, **values),
        "countries": await reader.all(CLICKS_BY_COUNTRY, **values) if with_countries else None,
        "browsers": await reader.all(CLICKS_BY_BROWSER, **values),
    }
