"""The arithmetic and the ECB's data, without HTTP: minor units, half-even rounding, the TARGET
calendar, the bundled history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from sixty.core.config import Settings
from sixty.currency.ecb import (
    bundled_snapshot,
    business_days_between,
    easter,
    is_target_business_day,
    minor_units,
    read_snapshot,
)
from sixty.currency.service import RateTable, as_decimal_text, convert


@pytest.mark.parametrize(
    ("code", "digits"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("ISK", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("HUF", 2),
        ("IDR", 2),
    ],
)
def test_minor_units_follow_iso_4217(code: str, digits: int) -> None:
    assert minor_units(code) == digits


def test_retired_currencies_take_their_minor_units_from_cldr() -> None:
    assert minor_units("CYP") == 2
    assert minor_units("HRK") == 2


def table(**rates: str) -> RateTable:
    return RateTable(
        day=date(2026, 1, 5),
        rates={"EUR": Decimal(1), **{code: Decimal(rate) for code, rate in rates.items()}},
        source="ecb",
    )


@pytest.mark.parametrize(
    ("amount", "rate", "result"),
    [
        ("1", "1.0005", "1.00"),  # 1.0005 -> half to even: 1.00
        ("3", "1.0005", "3.00"),  # 3.0015 -> 3.00
        ("1", "1.0015", "1.00"),  # 1.0015 -> 1.00
        ("1", "1.0025", "1.00"),  # 1.0025 -> 1.00
        ("1", "1.0035", "1.00"),  # 1.0035 -> 1.00
        ("1", "1.0050", "1.00"),  # 1.005 -> 1.00 (0 is even)
        ("1", "1.0150", "1.02"),  # 1.015 -> 1.02 (2 is even)
        ("1", "1.0250", "1.02"),  # 1.025 -> 1.02
    ],
)
def test_results_round_half_to_even(amount: str, rate: str, result: str) -> None:
    assert as_decimal_text(convert(Decimal(amount), "EUR", "USD", table(USD=rate)).result) == result


def test_three_decimal_currencies_keep_three_decimals() -> None:
    conversion = convert(Decimal("10"), "EUR", "KWD", table(KWD="0.33345"))

    assert as_decimal_text(conversion.result) == "3.334"  # 3.3345 -> 3.334 (4 is even)
    assert as_decimal_text(conversion.amount) == "10.00"


def test_a_cross_rate_is_rounded_once_at_the_end() -> None:
    # 1 USD in GBP: 0.8338 / 1.1172 = 0.74632... per unit; a million units must not carry the
    # rounding error of a rate rounded first.
    conversion = convert(Decimal("1000000"), "USD", "GBP", table(USD="1.1172", GBP="0.8338"))

    assert as_decimal_text(conversion.result) == "746330.11"
    assert as_decimal_text(conversion.rate) == "0.746330111"  # 10 significant digits, no trailing 0


def test_target_holidays() -> None:
    assert easter(2026) == date(2026, 4, 5)
    assert easter(2025) == date(2025, 4, 20)
    assert easter(2000) == date(2000, 4, 23)
    assert not is_target_business_day(date(2026, 4, 3))  # Good Friday
    assert not is_target_business_day(date(2026, 4, 6))  # Easter Monday
    assert not is_target_business_day(date(2026, 5, 1))
    assert not is_target_business_day(date(2026, 12, 26))
    assert not is_target_business_day(date(2026, 11, 28))  # a Saturday
    assert is_target_business_day(date(2026, 12, 24))
    assert business_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 0  # Easter's long weekend
    assert business_days_between(date(2026, 10, 30), date(2026, 11, 4)) == 2


def test_the_bundled_history_reads_like_the_ecb_csv() -> None:
    snapshot = bundled_snapshot()

    assert snapshot.days[0] == date(1999, 1, 4)
    assert snapshot.last_day == date(2026, 10, 30)
    assert snapshot.on_or_before(date(1999, 1, 3)) is None
    day, rates = snapshot.on_or_before(date(2026, 10, 25)) or (None, {})
    assert day == date(2026, 10, 23)
    assert rates["USD"] == "1.1193"
    assert "CYP" not in rates  # N/A that day
    assert snapshot.spans["CYP"] == (date(1999, 1, 4), date(2007, 12, 31))


def test_a_small_history_file() -> None:
    snapshot = read_snapshot(
        [
            "Date,USD,JPY,\n",
            "2024-01-03,1.0919,155.13,\n",
            "\n",
            "2024-01-02,1.0956,N/A,\n",
        ]
    )

    assert snapshot.codes == ("USD", "JPY")
    assert snapshot.days == [date(2024, 1, 2), date(2024, 1, 3)]
    assert snapshot.on_or_before(date(2024, 1, 2)) == (date(2024, 1, 2), {"USD": "1.0956"})
    assert snapshot.spans["JPY"] == (date(2024, 1, 3), date(2024, 1, 3))


def test_the_refresh_job_is_registered_with_its_period_from_settings(settings: Settings) -> None:
    from sixty.core.jobs import registry
    from sixty.modules import register_all_tasks

    register_all_tasks(settings.model_copy(update={"currency_refresh_every": timedelta(minutes=30)}))
    assert registry.periodic["currency.refresh"].every == timedelta(minutes=30)
    register_all_tasks(settings)
    assert registry.periodic["currency.refresh"].every == settings.currency_refresh_every
