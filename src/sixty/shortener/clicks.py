"""Click statistics, kept off the redirect's path: a redirect appends a tuple to a buffer in
memory; a background task writes the buffer in batches every `SIXTY_SHORTENER_CLICK_FLUSH_INTERVAL`
(and once more when the app shuts down). The user agent is parsed (ua-parser: browser family, and
bots by the device family `Spider`) and the country looked up (a MaxMind database, when one is
configured) at write time, in a thread.

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
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from ua_parser import parse as parse_user_agent

from sixty.core.db import Database
from sixty.core.models import utcnow
from sixty.shortener.models import LinkClick, ShortLink

logger = logging.getLogger("sixty.shortener")

BATCH = 1000
# (link id, when, Referer, User-Agent, client address)
Click = tuple[uuid.UUID, datetime, str | None, str | None, str | None]


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
        self, link_id: uuid.UUID, referrer: str | None, user_agent: str | None, address: str | None
    ) -> None:
        if len(self.buffer) >= self.max_buffer:
            self.dropped += 1
            return
        self.buffer.append((link_id, utcnow(), referrer, user_agent, address))

    def _rows(self, clicks: Sequence[Click]) -> list[dict[str, Any]]:
        """The batch aggregated: one row per link and (day, referrer host, country, browser, bot)."""
        counts: Counter[tuple[uuid.UUID, date, str | None, str | None, str | None, bool]] = Counter()
        first: dict[tuple[uuid.UUID, date, str | None, str | None, str | None, bool], datetime] = {}
        for link_id, moment, referrer, user_agent, address in clicks:
            browser, bot = browser_of(user_agent)
            key = (
                link_id,
                moment.date(),
                referrer_host(referrer),
                self.countries.country(address),
                browser[:64] if browser else None,
                bot,
            )
            counts[key] += 1
            first.setdefault(key, moment)
        return [
            {
                "link_id": link_id,
                "clicked_at": first[key],
                "day": day,
                "referrer_host": host,
                "country": country,
                "browser": browser,
                "bot": bot,
                "clicks": count,
            }
            for key, count in counts.items()
            for link_id, day, host, country, browser, bot in (key,)
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
            rows = await asyncio.to_thread(self._rows, clicks)
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

    async def _write(self, db: Database, rows: list[dict[str, Any]]) -> int:
        async with db.session(write=True) as session:
            # Links deleted since their clicks were buffered take their clicks with them.
            ids = list({row["link_id"] for row in rows})
            alive: set[uuid.UUID] = set()
            for start in range(0, len(ids), BATCH):
                found = await session.scalars(
                    select(ShortLink.id).where(ShortLink.id.in_(ids[start : start + BATCH]))
                )
                alive.update(found)
            rows = [row for row in rows if row["link_id"] in alive]
            for start in range(0, len(rows), BATCH):
                await session.execute(insert(LinkClick), rows[start : start + BATCH])
            await session.commit()
            return sum(row["clicks"] for row in rows)

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
