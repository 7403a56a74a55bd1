"""The redirect's hot path: a link by its code from an in-process TTL/LRU cache, else one prepared
read (core/reader), and the exact visit cap.

What is cached is what a redirect needs (target, status, expiry, cap, password hash), never a
count: a capped link takes the atomic `UPDATE ... SET visits = visits + 1 WHERE id = :id AND
visits < max_visits RETURNING visits` on every visit, so its cap holds under concurrent hits
whatever the cache says. Each process has its own cache; a change made through another process
reaches this one within `SIXTY_SHORTENER_CACHE_TTL` (this process's changes evict at once).

The cache holds each link as a plain tuple of atomic values (its id as an int, not a `uuid.UUID`),
which CPython stops tracking for garbage collection (it never untracks a NamedTuple): a full cache
of 100,000 links would otherwise add about 100 ms to every full collection, a pause each redirect
in flight would wait out.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Uuid, bindparam, select, update

from sixty.core.db import Database
from sixty.shortener.models import ShortLink


class CachedLink(NamedTuple):
    id_int: int  # the link's id as `uuid.UUID.int`: see the module's docstring
    target: str
    status: int
    expires_at: datetime | None
    max_visits: int | None
    password_hash: str | None

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(int=self.id_int)


# A code known not to exist (cached for a short while, so a flood of misses costs no reads).
MISSING = CachedLink(0, "", 0, None, None, None)
MISSING_TTL = 5.0

LINK_BY_CODE = select(
    ShortLink.id,
    ShortLink.target,
    ShortLink.redirect_status,
    ShortLink.expires_at,
    ShortLink.max_visits,
    ShortLink.password_hash,
).where(ShortLink.code == bindparam("code"))

COUNT_VISIT = (
    update(ShortLink)
    .where(ShortLink.id == bindparam("link_id", type_=Uuid()), ShortLink.visits < ShortLink.max_visits)
    .values(visits=ShortLink.visits + 1)
    .returning(ShortLink.visits)
    .execution_options(synchronize_session=False)
)


class LinkCache:
    """Links by code, each for `ttl` seconds, the `size` most recently used kept."""

    def __init__(self, *, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[float, tuple[Any, ...]]] = OrderedDict()

    def get(self, code: str) -> CachedLink | None:
        entry = self._entries.get(code)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[code]
            return None
        self._entries.move_to_end(code)
        return CachedLink._make(entry[1])

    def put(self, code: str, link: CachedLink) -> None:
        if self.size <= 0 or self.ttl <= 0:
            return
        ttl = min(self.ttl, MISSING_TTL) if link == MISSING else self.ttl
        self._entries[code] = (time.monotonic() + ttl, tuple(link))
        self._entries.move_to_end(code)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def evict(self, code: str) -> None:
        self._entries.pop(code, None)

    def __len__(self) -> int:
        return len(self._entries)


class LinkResolver:
    def __init__(self, db: Database, cache: LinkCache) -> None:
        self.db = db
        self.cache = cache

    async def find(self, code: str) -> CachedLink | None:
        link = self.cache.get(code)
        if link is None:
            link = await self.load(code)
            self.cache.put(code, link or MISSING)
        return None if link == MISSING else link

    async def load(self, code: str) -> CachedLink | None:
        row = await self.db.reader.one(LINK_BY_CODE, code=code)
        if row is None:
            return None
        return CachedLink(
            id_int=row["id"].int,
            target=row["target"],
            status=row["redirect_status"],
            expires_at=row["expires_at"],
            max_visits=row["max_visits"],
            password_hash=row["password_hash"],
        )

    async def count_visit(self, link: CachedLink) -> bool:
        """Count one visit of a capped link; False when its cap is reached (or it is gone)."""
        async with self.db.session(write=True) as session:
            counted = (await session.execute(COUNT_VISIT, {"link_id": link.id})).first()
            await session.commit()
        return counted is not None
