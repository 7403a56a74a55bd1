"""Currency conversion on the ECB's euro reference rates.

Where rates come from: the bundled ECB history (works offline; see data/README.md) and the days
after it, which the `currency.refresh` job fetches from the ECB's XML files into
`currency_rate_day`. For a day, the newest published rates on or before it are used, from
whichever source has the later day. What a process read is cached (the app's cache) for
`currency_cache_ttl`.

Arithmetic is `Decimal`: a cross rate goes through the euro (`amount * to_per_eur / from_per_eur`)
and only the result is rounded, half to even, to the target currency's minor units.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any, Literal

import orjson
from babel.numbers import get_currency_name
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.cache import Cache
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.errors import Unprocessable
from sixty.core.http import HttpClient, UpstreamError
from sixty.core.i18n import N_, _
from sixty.core.models import utcnow
from sixty.core.reader import Reader
from sixty.currency.ecb import (
    FIRST_DAY,
    FeedError,
    Snapshot,
    business_days_between,
    load_snapshot,
    minor_units,
    parse_feed,
)
from sixty.currency.models import CurrencyRateDay

logger = logging.getLogger("sixty.currency")

BASE = "EUR"
ECB = "European Central Bank"
DAILY, LAST_90_DAYS, HISTORY = "eurofxref-daily.xml", "eurofxref-hist-90d.xml", "eurofxref-hist.xml"
STALE_WARNING = N_(
    "The newest rate available is from {as_of}, {days} days before {day}; rates may have moved since."
)
RATE_DIGITS = 10  # significant digits of the rate shown (the result is computed unrounded)

Source = Literal["ecb", "snapshot"]


@dataclass(frozen=True)
class CurrencyConfig:
    ecb_url: str
    stale_after: timedelta
    cache_ttl: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> CurrencyConfig:
        return cls(
            ecb_url=settings.currency_ecb_url.rstrip("/") + "/",
            stale_after=settings.currency_stale_after,
            cache_ttl=settings.currency_cache_ttl,
        )


@dataclass(frozen=True)
class RateTable:
    """One day's reference rates: units per euro, the euro included."""

    day: date
    rates: dict[str, Decimal]
    source: Source


@dataclass(frozen=True)
class Conversion:
    amount: Decimal
    result: Decimal
    rate: Decimal
    table: RateTable


@dataclass(frozen=True)
class CurrencyInfo:
    code: str
    minor_units: int
    first_day: date
    last_day: date


# --- reading rates ------------------------------------------------------------------------------

NEWEST_ON_OR_BEFORE = (
    select(CurrencyRateDay.day, CurrencyRateDay.rates)
    .where(CurrencyRateDay.day <= bindparam("day"))
    .order_by(CurrencyRateDay.day.desc())
    .limit(1)
)
SPANS = select(CurrencyRateDay.day, CurrencyRateDay.rates).where(CurrencyRateDay.day > bindparam("after"))


class RateBook:
    """The rates a process can see: the bundled history plus the fetched days, cached."""

    def __init__(
        self, *, reader: Reader, cache: Cache, config: CurrencyConfig, snapshot: Snapshot | None = None
    ) -> None:
        self.reader = reader
        self.cache = cache
        self.config = config
        self._snapshot = snapshot

    async def history(self) -> Snapshot:
        return self._snapshot or await load_snapshot()

    async def on_or_before(self, day: date) -> RateTable:
        """The newest rates published on or before `day` (the bundled history starts 1999-01-04)."""
        key = f"currency:rates:{day.isoformat()}"
        if (cached := await self._cache_get(key)) is not None:
            return RateTable(
                day=date.fromisoformat(cached["day"]),
                rates={code: Decimal(rate) for code, rate in cached["rates"].items()},
                source=cached["source"],
            )
        table = await self._lookup(day)
        payload = {
            "day": table.day.isoformat(),
            "rates": {code: str(rate) for code, rate in table.rates.items()},
            "source": table.source,
        }
        await self._cache_set(key, payload)
        return table

    async def _lookup(self, day: date) -> RateTable:
        fetched = await self.reader.one(NEWEST_ON_OR_BEFORE, day=day)
        bundled = (await self.history()).on_or_before(day)
        if fetched is not None and (bundled is None or fetched["day"] >= bundled[0]):
            day_found, rates, source = fetched["day"], fetched["rates"], "ecb"
        elif bundled is not None:
            (day_found, rates), source = bundled, "snapshot"
        else:  # before 1999-01-04: the router refuses such dates
            raise LookupError(f"no reference rates on or before {day}")
        return RateTable(
            day=day_found,
            rates={BASE: Decimal(1), **{code: Decimal(rate) for code, rate in rates.items()}},
            source=source,  # type: ignore[arg-type]
        )

    async def currencies(self) -> dict[str, CurrencyInfo]:
        """Every currency the ECB has published a rate for, with the span of its rates."""
        key = "currency:spans"
        cached = await self._cache_get(key)
        if cached is None:
            snapshot = await self.history()
            spans = {
                code: (first.isoformat(), last.isoformat()) for code, (first, last) in snapshot.spans.items()
            }
            for row in await self.reader.all(SPANS, after=snapshot.last_day):
                day = row["day"].isoformat()
                for code in row["rates"]:
                    first, last = spans.get(code, (day, day))
                    spans[code] = (min(first, day), max(last, day))
            first_ever = FIRST_DAY.isoformat()
            spans[BASE] = (first_ever, max(last for _first, last in spans.values()))
            cached = spans
            await self._cache_set(key, cached)
        return {
            code: CurrencyInfo(code, minor_units(code), date.fromisoformat(first), date.fromisoformat(last))
            for code, (first, last) in sorted(cached.items())
        }

    async def _cache_get(self, key: str) -> Any:
        if self.config.cache_ttl <= timedelta(0):
            return None
        raw = await self.cache.get(key)
        return None if raw is None else orjson.loads(raw)

    async def _cache_set(self, key: str, value: Any) -> None:
        if self.config.cache_ttl > timedelta(0):
            await self.cache.set(key, orjson.dumps(value), self.config.cache_ttl.total_seconds())


# --- converting ---------------------------------------------------------------------------------


def quantum(code: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(code))


def convert(amount: Decimal, source: str, target: str, table: RateTable) -> Conversion:
    """`amount` of `source` in `target`, through the euro; KeyError names a currency without a rate."""
    from_rate, to_rate = table.rates[source], table.rates[target]
    with localcontext() as context:
        context.prec = 50  # exact for any amount the API accepts times any ECB rate
        context.rounding = ROUND_HALF_EVEN
        exact = amount * to_rate / from_rate
        result = exact.quantize(quantum(target))
        quotient = to_rate / from_rate
        rate = quotient.quantize(Decimal(1).scaleb(quotient.adjusted() - RATE_DIGITS + 1)).normalize()
    return Conversion(amount=amount.quantize(quantum(source)), result=result, rate=rate, table=table)


def currency_name(code: str, locale: str) -> str:
    return str(get_currency_name(code, locale=locale))


def as_decimal_text(value: Decimal) -> str:
    """Plain notation, never an exponent (`1E+2` reads `100`)."""
    return format(value, "f")


# --- a conversion asked for over HTTP ----------------------------------------------------------


def invalid(field: str, message: str, *, code: str = "validation_failed", **params: Any) -> Unprocessable:
    """A 422 shaped like a request validation error, naming the query parameter at fault."""
    text = _(message).format(**params)
    error = {"loc": ["query", field], "field": field, "message": text, "type": code}
    return Unprocessable(
        N_("The request has {count} invalid field(s)."), code=code, count=1, extensions={"errors": [error]}
    )


@dataclass(frozen=True)
class Quote:
    source: str
    target: str
    conversion: Conversion
    requested: date | None
    stale: bool
    warning: str | None


async def quote(
    book: RateBook,
    *,
    source: str,
    target: str,
    amount: Decimal,
    day: date | None,
    today: date,
) -> Quote:
    """Convert `amount` of `source` into `target` at the rates of `day` (default: the newest).
    Raises a 422 naming the parameter for an unknown currency, an amount more precise than its
    currency, a day outside the ECB's history, or a currency without a rate that day."""
    if day is not None and day < FIRST_DAY:
        raise invalid("date", N_("Reference rates start on {first}."), first=FIRST_DAY.isoformat())
    if day is not None and day > today:
        raise invalid("date", N_("There are no rates for a day in the future."))
    known = await book.currencies()
    for field, code in (("from", source), ("to", target)):
        if code not in known:
            raise invalid(
                field,
                N_("Unknown currency: {currency}. GET /api/currency/currencies lists them."),
                currency=code,
            )
    digits = minor_units(source)
    if -int(amount.normalize().as_tuple().exponent) > digits:  # 1.500 EUR is fine, 1.505 EUR is not
        raise invalid(
            "amount",
            N_("{currency} amounts have at most {digits} decimal places."),
            currency=source,
            digits=digits,
        )
    wanted = day or today
    table = await book.on_or_before(wanted)
    for field, code in (("from", source), ("to", target)):
        if code not in table.rates:
            raise invalid(
                field,
                N_("The ECB has no rate for {currency} on {day} (its rates run from {first} to {last})."),
                code="rate_not_available",
                currency=code,
                day=table.day.isoformat(),
                first=known[code].first_day.isoformat(),
                last=known[code].last_day.isoformat(),
            )
    stale = wanted - table.day > book.config.stale_after
    warning = None
    if stale:
        warning = _(STALE_WARNING).format(
            as_of=table.day.isoformat(), days=(wanted - table.day).days, day=wanted.isoformat()
        )
    return Quote(
        source=source,
        target=target,
        conversion=convert(amount, source, target, table),
        requested=day,
        stale=stale,
        warning=warning,
    )


# --- refreshing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshReport:
    newest: date
    stored: int
    files: tuple[str, ...]


async def newest_stored_day(session: AsyncSession) -> date | None:
    newest: date | None = await session.scalar(select(func.max(CurrencyRateDay.day)))
    return newest


async def fetch_days(
    http: HttpClient, config: CurrencyConfig, name: str
) -> list[tuple[date, dict[str, str]]]:
    """One ECB file, parsed; an unusable file is an UpstreamError (`bad_response`)."""
    # The whole history is a few megabytes: give it time.
    slow = {"read_timeout": 60.0, "total_timeout": 180.0} if name == HISTORY else {}
    root = await http.get_xml(config.ecb_url + name, service=ECB, **slow)
    try:
        return parse_feed(root)
    except FeedError as error:
        raise UpstreamError("bad_response", service=ECB, cause=f"{name}: {error}") from error


async def refresh(
    db: Database, http: HttpClient, config: CurrencyConfig, *, snapshot: Snapshot | None = None
) -> RefreshReport:
    """Fetch the latest rates; when business days are missing between what we had and them,
    fetch the 90-day file (or, past 90 days, the whole history) too. Stores the days after the
    bundled history, in a short transaction of its own once everything is fetched."""
    snapshot = snapshot or await load_snapshot()
    async with db.session(write=False) as session:
        stored = await newest_stored_day(session)
    known = max(filter(None, (stored, snapshot.last_day)))
    latest = await fetch_days(http, config, DAILY)
    newest = latest[-1][0]
    files = [DAILY]
    fetched = [(day, rates, DAILY) for day, rates in latest]
    if newest > known and business_days_between(known, newest) > 0:
        name = LAST_90_DAYS if newest - known < timedelta(days=89) else HISTORY
        fetched = [(day, rates, name) for day, rates in await fetch_days(http, config, name)] + fetched
        files.append(name)
    # The daily file comes last, so a day in both is stored as the daily file has it.
    wanted = {day: (rates, name) for day, rates, name in fetched if day > snapshot.last_day}
    async with db.session() as session, session.begin():
        for day, (rates, name) in sorted(wanted.items()):
            await _upsert(session, day, rates, name)
    logger.info("currency rates refreshed", extra={"newest": newest.isoformat(), "stored": len(wanted)})
    return RefreshReport(newest=newest, stored=len(wanted), files=tuple(files))


async def _upsert(session: AsyncSession, day: date, rates: dict[str, str], source: str) -> None:
    values = {"day": day, "rates": rates, "source": source, "fetched_at": utcnow()}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(CurrencyRateDay).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CurrencyRateDay.day],
            set_={
                "rates": statement.excluded.rates,
                "source": statement.excluded.source,
                "fetched_at": statement.excluded.fetched_at,
            },
        )
    )
