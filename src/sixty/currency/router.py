"""B18 Currency converter: `/api/currency`. HTTP only: parse, call the service, shape the response.

Rates are the ECB's euro reference rates (service.py says where they come from); conversions are
exact decimals, rounded half to even to the target currency's minor units.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from sixty.core.deps import ReaderDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.i18n import N_, current_locale
from sixty.core.models import utcnow
from sixty.core.routing import module_router
from sixty.currency import service
from sixty.currency.schemas import (
    CONVERT_EXAMPLE,
    CURRENCIES_EXAMPLE,
    ConvertRead,
    CurrencyList,
    CurrencyRead,
)

router = module_router("/api/currency", "currency")

# RFC 9111's warn-code for "the response is stale".
STALE_WARNING = '110 - "Response is Stale"'
# Up to 15 digits before the point and 3 after (the most any currency has): no sign, no exponent.
AMOUNT = r"^[0-9]{1,15}(\.[0-9]{1,3})?$"
CODE = r"^[A-Za-z]{3}$"


async def rate_book(request: Request, reader: ReaderDep, settings: SettingsDep) -> service.RateBook:
    return service.RateBook(
        reader=reader, cache=request.app.state.cache, config=service.CurrencyConfig.from_settings(settings)
    )


RateBookDep = Annotated[service.RateBook, Depends(rate_book)]


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = N_("Not a calendar date (YYYY-MM-DD).")
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "date"), "msg": message, "ctx": {"error": message}}]
        ) from None


def _ok(example: dict[str, Any], headers: dict[str, Any] | None = None) -> dict[int | str, Any]:
    ok: dict[str, Any] = {"content": {"application/json": {"example": example}}}
    if headers:
        ok["headers"] = headers
    return {200: ok, **problem_responses(422)}


@router.get(
    "/convert",
    summary="Convert an amount",
    description="Converts `amount` of `from` into `to` at the ECB's euro reference rates: through the "
    "euro for any pair, in exact decimals, the result rounded half to even to the target currency's "
    "minor units. Codes are ISO 4217 (any case). `date` (YYYY-MM-DD, 1999-01-04 to today) asks for "
    "the rates of a past day; weekends and TARGET holidays have none, so the latest business day on "
    "or before it is used and named in `as_of`. When the rates used are older than the day asked for "
    "by more than `SIXTY_CURRENCY_STALE_AFTER`, `stale` is true, `warning` says so and the response "
    "carries `Warning: 110`. An unknown currency, an amount with more decimals than its currency has, "
    "a negative or non-numeric amount, a malformed, too early or future date, or a currency without a "
    "rate on that day (`rate_not_available`) is a 422 naming the parameter.",
    response_model=ConvertRead,
    responses=_ok(
        CONVERT_EXAMPLE,
        {"Warning": {"description": f"`{STALE_WARNING}` when `stale`.", "schema": {"type": "string"}}},
    ),
)
async def convert(
    response: Response,
    book: RateBookDep,
    from_: Annotated[str, Query(alias="from", pattern=CODE, description="ISO 4217 code, e.g. `EUR`.")],
    to: Annotated[str, Query(pattern=CODE, description="ISO 4217 code, e.g. `usd`.")],
    amount: Annotated[
        str,
        Query(
            max_length=19,
            pattern=AMOUNT,
            description="A decimal number, at most as many decimals as `from` has (EUR 2, JPY 0).",
        ),
    ],
    date_: Annotated[
        str | None,
        Query(alias="date", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="A past day, YYYY-MM-DD."),
    ] = None,
) -> ConvertRead:
    quote = await service.quote(
        book,
        source=from_.upper(),
        target=to.upper(),
        amount=Decimal(amount),
        day=_day(date_),
        today=utcnow().date(),
    )
    if quote.stale:
        response.headers["Warning"] = STALE_WARNING
    conversion = quote.conversion
    return ConvertRead(
        from_=quote.source,
        to=quote.target,
        amount=service.as_decimal_text(conversion.amount),
        result=service.as_decimal_text(conversion.result),
        rate=service.as_decimal_text(conversion.rate),
        as_of=conversion.table.day,
        requested_date=quote.requested,
        source=conversion.table.source,
        stale=quote.stale,
        warning=quote.warning,
    )


@router.get(
    "/currencies",
    summary="List the currencies",
    description="Every currency the ECB has published a reference rate for since 1999 (and the euro), "
    "with its name in the negotiated language (`Accept-Language`), its minor units, the span of its "
    "rates and whether the newest rates include it (currencies replaced by the euro, say, do not).",
    response_model=CurrencyList,
    responses={200: {"content": {"application/json": {"example": CURRENCIES_EXAMPLE}}}},
)
async def currencies(book: RateBookDep) -> CurrencyList:
    known = await book.currencies()
    newest = max(info.last_day for info in known.values())
    locale = current_locale.get()
    return CurrencyList(
        as_of=newest,
        items=[
            CurrencyRead(
                code=info.code,
                name=service.currency_name(info.code, locale),
                minor_units=info.minor_units,
                first_rate_date=info.first_day,
                last_rate_date=info.last_day,
                current=info.last_day == newest,
            )
            for info in known.values()
        ],
    )
