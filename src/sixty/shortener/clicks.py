"""Click statistics, kept off the redirect's path: a redirect appends a tuple to a buffer in
memory; a background task writes the buffer in batches every `SIXTY_SHORTENER_CLICK_FLUSH_INTERVAL`
(and once more when the app shuts down). The user agent is parsed (ua-parser: browser family, and
bots by the device family `Spider`) and the country looked up (a MaxMind database, when one is
configured) at write time, a batch at a time between turns of the event loop. Not in a thread:
Python work in a thread holds the GIL the event loop waits for (stalls of ~100 ms measured).

What a process holds when it is killed without a shutdown is lost: statistics, not the cap
(a capped link's visits are counted in the database at redirect time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import maxminddb
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from ua_parser import parse as parse_user_agent

from sixty.core.db import Database
from sixty.core.models import utcnow
from sixty.core.reader import CompiledRead, compile_read
from sixty.shortener.models import LinkClick, ShortLink

logger = logging.getLogger("sixty.shortener")

BATCH = 50  # rows (or clicks) handled between two turns of the event loop
INSERT_COLUMNS = ("link_id", "clicked_at", "day", "referrer_host", "country", "browser", "bot", "clicks")
# `inline()`: no RETURNING of the new ids, which executemany has no use for.
CLICK_INSERT = insert(LinkClick).values({name: bindparam(name) for name in INSERT_COLUMNS}).inline()
# (link id as `uuid.UUID.int`, when, Referer, User-Agent, client address): atomic values only, so
# the buffered tuples are not tracked by the garbage collector (a UUID object would be).
Click = tuple[int, datetime, str | None, str | None, str | None]
# A row to write, in INSERT_COLUMNS order but for the link id as an int, as above.
ClickRow = tuple[int, datetime, date, str | None, str | None, str | None, bool, int]


@lru_cache(maxsize=4096)
def browser_of(user_agent: str | None) -> tuple[str | None, bool]:
    """The browser family and whether it is a bot (ua-parser's `Spider` device family)."""
    if not user_agent:
        return None, False
    parsed = parse_user_agent(user_agent[:512])
    family = parsed.user_agent.family if parsed.user_agent else None
    bot = parsed.device is not None and parsed.device.family == "Spider"
    return (family if family and family != "Other" else None), bot


def referrer_host(referrer: str | None) -> str | None:
    if not referrer:
        return None
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return None
    return host[:255] if host else None


class CountryLookup:
    def __init__(self, path: Path | None) -> None:
        self.reader = maxminddb.open_database(str(path)) if path else None

    @property
    def enabled(self) -> bool:
        return self.reader is not None

    def country(self, address: str | None) -> str | None:
        if self.reader is None or not address:
            return None
        try:
            record: Any = self.reader.get(address)
        except ValueError:  # not an IP address (a test client's name, say)
            return None
        if not isinstance(record, dict):
            return None
        country = record.get("country") or record.get("registered_country") or {}
        code = country.get("iso_code") if isinstance(country, dict) else None
        return code.upper()[:2] if isinstance(code, str) else None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


@lru_cache(maxsize=4)
def _click_insert(dialect: Dialect) -> CompiledRead:
    """CLICK_INSERT compiled once per dialect, with its bind processors."""
    return compile_read(CLICK_INSERT, dialect)


def _bound(compiled: CompiledRead, row: ClickRow) -> tuple[Any, ...]:
    values = dict(zip(INSERT_COLUMNS, (uuid.UUID(int=row[0]), *row[1:]), strict=True))
    return tuple(compiled.bind(values))


class ClickRecorder:
    def __init__(self, *, max_buffer: int, countries: CountryLookup) -> None:
        self.max_buffer = max_buffer
        self.countries = countries
        self.buffer: list[Click] = []
        self.dropped = 0
        self.written = 0  # clicks written since start (what a test or a metric can watch)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def record(
        self, link_id_int: int, referrer: str | None, user_agent: str | None, address: str | None
    ) -> None:
        """Buffer one click of the link whose id is `uuid.UUID(int=link_id_int)`."""
        if len(self.buffer) >= self.max_buffer:
            self.dropped += 1
            return
        self.buffer.append((link_id_int, utcnow(), referrer, user_agent, address))

    async def _rows(self, clicks: Sequence[Click]) -> list[ClickRow]:
        """The batch aggregated: one row per link and (day, referrer host, country, browser, bot)."""
        counts: Counter[tuple[int, date, str | None, str | None, str | None, bool]] = Counter()
        first: dict[tuple[int, date, str | None, str | None, str | None, bool], datetime] = {}
        for index, (id_int, moment, referrer, user_agent, address) in enumerate(clicks, 1):
            browser, bot = browser_of(user_agent)
            key = (
                id_int,
                moment.date(),
                referrer_host(referrer),
                self.countries.country(address),
                browser[:64] if browser else None,
                bot,
            )
            counts[key] += 1
            first.setdefault(key, moment)
            if index % BATCH == 0:
                await asyncio.sleep(0)  # let the redirects waiting meanwhile run
        # Rows in INSERT_COLUMNS order, the id as an int: atomic values, untracked by the collector.
        return [
            (id_int, first[key], day, host, country, browser, bot, count)
            for key, count in counts.items()
            for id_int, day, host, country, browser, bot in (key,)
        ]

    async def flush(self, db: Database) -> int:
        """Write what is buffered; answers how many clicks were written."""
        async with self._lock:
            clicks, self.buffer = self.buffer, []
            if self.dropped:
                logger.warning("click buffer full: clicks dropped", extra={"dropped": self.dropped})
                self.dropped = 0
            if not clicks:
                return 0
            rows = await self._rows(clicks)
            try:
                written = await self._write(db, rows)
            except IntegrityError:  # should not happen (deleted links are filtered); never retry it
                logger.exception("writing clicks failed; the batch is dropped")
                return 0
            except Exception:
                logger.exception("writing clicks failed; they are kept for the next flush")
                self.buffer[:0] = clicks[: max(0, self.max_buffer - len(self.buffer))]
                return 0
            self.written += written
            return written

    async def _write(self, db: Database, rows: list[ClickRow]) -> int:
        async with db.session(write=True) as session:
            # Links deleted since their clicks were buffered take their clicks with them.
            ids = list({row[0] for row in rows})
            alive: set[int] = set()
            for start in range(0, len(ids), BATCH):
                chunk = [uuid.UUID(int=id_int) for id_int in ids[start : start + BATCH]]
                found = await session.scalars(select(ShortLink.id).where(ShortLink.id.in_(chunk)))
                alive.update(link_id.int for link_id in found)
                await asyncio.sleep(0)  # let the redirects waiting meanwhile run
            rows = [row for row in rows if row[0] in alive]
            # Bound to driver values a batch at a time and sent as plain executemany, the event loop
            # free between batches: one ORM insert of 10,000 rows held it ~150 ms, a stall of every
            # redirect in flight. (A thread is no better: it holds the GIL the event loop waits for.)
            compiled = _click_insert(db.engine.dialect)
            connection = await session.connection()
            for start in range(0, len(rows), BATCH):
                params = [_bound(compiled, row) for row in rows[start : start + BATCH]]
                await connection.exec_driver_sql(compiled.sql, params)
                await asyncio.sleep(0)
            await session.commit()
            return sum(row[-1] for row in rows)

    def start(self, db: Database, every: float) -> None:
        async def run() -> None:
            while True:
                await asyncio.sleep(every)
                await self.flush(db)

        self._task = asyncio.create_task(run(), name="sixty-shortener-clicks")

    async def close(self, db: Database) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush(db)
        self.countries.close()
