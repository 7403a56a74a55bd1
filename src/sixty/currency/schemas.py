"""What the currency endpoints answer."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONVERT_EXAMPLE: dict[str, Any] = {
    "from": "EUR",
    "to": "USD",
    "amount": "100.00",
    "result": "111.72",
    "rate": "1.1172",
    "as_of": "2026-10-30",
    "requested_date": None,
    "source": "ecb",
    "stale": False,
    "warning": None,
}

CURRENCIES_EXAMPLE: dict[str, Any] = {
    "base": "EUR",
    "as_of": "2026-10-30",
    "items": [
        {
            "code": "USD",
            "name": "US Dollar",
            "minor_units": 2,
            "first_rate_date": "1999-01-04",
            "last_rate_date": "2026-10-30",
            "current": True,
        },
        {
            "code": "CYP",
            "name": "Cypriot Pound",
            "minor_units": 2,
            "first_rate_date": "1999-01-04",
            "last_rate_date": "2007-12-31",
            "current": False,
        },
    ],
}


class ConvertRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CONVERT_EXAMPLE]}, populate_by_name=True)

    from_: str = Field(alias="from", description="ISO 4217 code converted from.")
    to: str = Field(description="ISO 4217 code converted to.")
    amount: str = Field(description="The amount, as a decimal string in the source currency's minor units.")
    result: str = Field(
        description="The converted amount, rounded half to even to the target currency's minor units "
        "(JPY 0 decimals, KWD 3)."
    )
    rate: str = Field(description="Units of `to` per 1 `from` (10 significant digits), through the euro.")
    as_of: date = Field(description="The ECB reference day whose rates were used.")
    requested_date: date | None = Field(
        description="The `date` asked for; `as_of` is the latest business day on or before it."
    )
    source: Literal["ecb", "snapshot"] = Field(
        description="`ecb`: fetched from the ECB's XML; `snapshot`: the history bundled with the server."
    )
    stale: bool = Field(
        description="True when `as_of` is older than the day asked for (today by default) by more than "
        "`SIXTY_CURRENCY_STALE_AFTER`; the response then also carries `Warning: 110`."
    )
    warning: str | None = Field(description="Why the rate may be out of date, in the negotiated language.")


class CurrencyRead(BaseModel):
    code: str = Field(description="ISO 4217 code.")
    name: str = Field(description="The currency's name in the negotiated language.")
    minor_units: int = Field(description="Decimal places (ISO 4217; CLDR for currencies ISO retired).")
    first_rate_date: date
    last_rate_date: date
    current: bool = Field(description="Whether the newest reference rates include it.")


class CurrencyList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CURRENCIES_EXAMPLE]})

    base: Literal["EUR"] = "EUR"
    as_of: date = Field(description="The newest reference day known.")
    items: list[CurrencyRead]
