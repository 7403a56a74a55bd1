"""B18 currency converter over HTTP: the bundled history, the refresh job against a local ECB,
historical dates, cross rates, rounding, the currency list and every bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from tests.currency.conftest import RefreshRunner
from tests.currency.fake_ecb import FakeECB, latest_business_day, usd_on

CONVERT = "/api/currency/convert"
SNAPSHOT_LAST_DAY = "2026-10-30"


def today() -> date:
    return datetime.now(UTC).date()


async def test_offline_the_bundled_history_answers(currency: AsyncClient, ecb: FakeECB) -> None:
    response = await currency.get(CONVERT, params={"from": "EUR", "to": "USD", "amount": "100"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == "EUR"
    assert body["to"] == "USD"
    assert body["amount"] == "100.00"
    assert body["rate"] == "1.1172"
    assert body["result"] == "111.72"
    assert body["as_of"] == SNAPSHOT_LAST_DAY
    assert body["source"] == "snapshot"
    assert body["requested_date"] is None
    # Weeks past the bundled history's last day: a warning says how old the rate is.
    assert body["stale"] is True
    assert f"from {SNAPSHOT_LAST_DAY}" in body["warning"]
    assert response.headers["Warning"] == '110 - "Response is Stale"'
    assert ecb.requests == []  # a conversion never waits on the ECB


async def test_the_refresh_job_fetches_and_backfills_the_missing_days(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner
) -> None:
    assert await refresh.run() is True

    newest = latest_business_day(today())
    assert ecb.requests == ["eurofxref-daily.xml", "eurofxref-hist-90d.xml"]
    stored = await refresh.stored_days()
    assert stored[-1] == newest
    assert stored[0] > date.fromisoformat(SNAPSHOT_LAST_DAY)  # the bundled days are not copied
    assert date(2026, 11, 2) in stored  # the first business day after the bundled history
    sources = await refresh.sources()
    assert sources[newest] == "eurofxref-daily.xml"
    assert sources[date(2026, 11, 2)] == "eurofxref-hist-90d.xml"

    latest = (await currency.get(CONVERT, params={"from": "EUR", "to": "USD", "amount": "100"})).json()
    assert latest["as_of"] == newest.isoformat()
    assert latest["source"] == "ecb"
    assert latest["stale"] is False
    assert latest["warning"] is None
    assert latest["rate"] == str(float(usd_on(newest)))  # 1.1330 reads 1.133: no trailing zeros
    backfilled = (
        await currency.get(CONVERT, params={"from": "EUR", "to": "USD", "amount": "1", "date": "2026-11-10"})
    ).json()
    assert (backfilled["as_of"], backfilled["source"]) == ("2026-11-10", "ecb")


async def test_a_second_refresh_fetches_only_the_daily_file(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner
) -> None:
    await refresh.run()
    days = await refresh.stored_days()

    assert await refresh.run() is True

    assert ecb.requests == ["eurofxref-daily.xml", "eurofxref-hist-90d.xml", "eurofxref-daily.xml"]
    assert await refresh.stored_days() == days


@pytest.mark.parametrize("currency_overrides", [{"currency_stale_after": timedelta(days=400)}])
async def test_a_long_gap_is_filled_from_the_whole_history(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner
) -> None:
    ecb.today = today() + timedelta(days=120)  # the server has been off for months

    assert await refresh.run() is True

    assert ecb.requests == ["eurofxref-daily.xml", "eurofxref-hist.xml"]
    assert date(2026, 11, 2) in await refresh.stored_days()


async def test_the_provider_down_leaves_the_bundled_history_working(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner
) -> None:
    ecb.status = 503

    assert await refresh.run() is False

    assert refresh.backend.dead == []  # unavailable: the worker will try again
    assert await refresh.stored_days() == []
    response = await currency.get(CONVERT, params={"from": "GBP", "to": "USD", "amount": "10"})
    assert response.status_code == 200
    assert response.json()["source"] == "snapshot"


@pytest.mark.parametrize(
    "body",
    [
        "<gesmes:Envelope><Cube><Cube time='2026-11-02'>",  # cut short
        '<?xml version="1.0"?><html><body>Maintenance</body></html>',  # a page, not the file
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',  # entities refused
        "<Envelope xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>"
        "<Cube time='2026-11-02'><Cube currency='USD' rate='-1.2'/></Cube></Cube></Envelope>",
        "<Envelope xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>"
        "<Cube time='2026-13-02'><Cube currency='USD' rate='1.2'/></Cube></Cube></Envelope>",
        "<Envelope xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>"
        "<Cube time='2026-11-02'></Cube></Cube></Envelope>",
    ],
)
async def test_a_malformed_file_stores_nothing_and_is_not_retried(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner, body: str
) -> None:
    ecb.body = body

    assert await refresh.run() is False

    assert len(refresh.backend.dead) == 1  # a broken file will not mend itself in a minute
    assert await refresh.stored_days() == []
    response = await currency.get(CONVERT, params={"from": "EUR", "to": "CHF", "amount": "1"})
    assert response.json()["result"] == "0.92"


@pytest.mark.parametrize(
    ("asked", "as_of"),
    [
        ("2026-10-25", "2026-10-23"),  # a Sunday: Friday's rates
        ("2025-04-21", "2025-04-17"),  # Easter Monday: the Thursday before Good Friday
        ("2025-12-26", "2025-12-24"),  # Christmas
        ("1999-01-04", "1999-01-04"),  # the first day of the euro's rates
        ("2026-10-30", "2026-10-30"),
    ],
)
async def test_a_past_day_uses_the_latest_business_day_on_or_before_it(
    currency: AsyncClient, asked: str, as_of: str
) -> None:
    response = await currency.get(CONVERT, params={"from": "EUR", "to": "JPY", "amount": "1", "date": asked})

    body = response.json()
    assert (body["requested_date"], body["as_of"]) == (asked, as_of)
    assert body["stale"] is False
    assert "Warning" not in response.headers


async def test_a_day_after_the_newest_rates_is_stale(currency: AsyncClient) -> None:
    asked = (date.fromisoformat(SNAPSHOT_LAST_DAY) + timedelta(days=10)).isoformat()

    body = (
        await currency.get(CONVERT, params={"from": "EUR", "to": "USD", "amount": "1", "date": asked})
    ).json()

    assert body["as_of"] == SNAPSHOT_LAST_DAY
    assert body["stale"] is True
    assert "10 days before" in body["warning"]


@pytest.mark.parametrize(
    ("params", "result", "rate"),
    [
        ({"from": "USD", "to": "JPY", "amount": "100"}, "15725", "157.2502685"),  # JPY has no decimals
        ({"from": "JPY", "to": "EUR", "amount": "1000"}, "5.69", "0.005692167577"),
        ({"from": "EUR", "to": "ISK", "amount": "10.5"}, "1428", "136"),
        ({"from": "EUR", "to": "HUF", "amount": "1"}, "366.33", "366.33"),  # ISO 4217: 2 decimals
        ({"from": "usd", "to": "usd", "amount": "12.34"}, "12.34", "1"),
        ({"from": "EUR", "to": "EUR", "amount": "0"}, "0.00", "1"),
        ({"from": "eur", "to": "gbp", "amount": "999999999999999.99"}, "833799999999999.99", "0.8338"),
        ({"from": "EUR", "to": "USD", "amount": "1.500"}, "1.68", "1.1172"),  # 1.6758 -> 1.68
    ],
)
async def test_cross_rates_through_the_euro_rounded_to_minor_units(
    currency: AsyncClient, params: dict[str, str], result: str, rate: str
) -> None:
    response = await currency.get(CONVERT, params={**params, "date": SNAPSHOT_LAST_DAY})

    assert response.status_code == 200, response.text
    assert (response.json()["result"], response.json()["rate"]) == (result, rate)
    assert response.json()["from"] == params["from"].upper()


async def test_currencies_are_listed_with_names_and_minor_units(currency: AsyncClient) -> None:
    english = (await currency.get("/api/currency/currencies")).json()
    german = (await currency.get("/api/currency/currencies", headers={"Accept-Language": "de"})).json()

    by_code = {item["code"]: item for item in english["items"]}
    assert english["base"] == "EUR"
    assert english["as_of"] == SNAPSHOT_LAST_DAY
    assert by_code["USD"] == {
        "code": "USD",
        "name": "US Dollar",
        "minor_units": 2,
        "first_rate_date": "1999-01-04",
        "last_rate_date": SNAPSHOT_LAST_DAY,
        "current": True,
    }
    assert (by_code["JPY"]["minor_units"], by_code["ISK"]["minor_units"]) == (0, 0)
    assert by_code["EUR"]["current"] is True
    assert by_code["CYP"]["current"] is False  # replaced by the euro in 2008
    assert by_code["CYP"]["last_rate_date"] == "2007-12-31"
    assert by_code["HRK"]["last_rate_date"] == "2022-12-30"
    assert {item["code"]: item["name"] for item in german["items"]}["USD"] == "US-Dollar"
    assert [item["code"] for item in english["items"]] == sorted(by_code)


async def test_a_currency_fetched_later_joins_the_list(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner
) -> None:
    await refresh.run()

    body = (await currency.get("/api/currency/currencies")).json()

    assert body["as_of"] == latest_business_day(today()).isoformat()
    by_code = {item["code"]: item for item in body["items"]}
    assert by_code["USD"]["last_rate_date"] == body["as_of"]
    assert by_code["BGN"]["current"] is False  # Bulgaria joined the euro in 2026


async def test_a_currency_without_a_rate_that_day_is_422(currency: AsyncClient) -> None:
    retired = await currency.get(CONVERT, params={"from": "HRK", "to": "EUR", "amount": "10"})
    before_it_ended = await currency.get(
        CONVERT, params={"from": "HRK", "to": "EUR", "amount": "10", "date": "2020-01-02"}
    )

    assert retired.status_code == 422
    problem = retired.json()
    assert problem["code"] == "rate_not_available"
    assert problem["errors"][0]["field"] == "from"
    assert "2022-12-30" in problem["errors"][0]["message"]
    assert before_it_ended.status_code == 200


@pytest.mark.parametrize("currency_overrides", [{"currency_cache_ttl": timedelta(minutes=5)}])
async def test_rates_read_are_cached_for_the_cache_ttl(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner
) -> None:
    params = {"from": "EUR", "to": "USD", "amount": "1"}
    before = (await currency.get(CONVERT, params=params)).json()
    await refresh.run()

    cached = (await currency.get(CONVERT, params=params)).json()
    on_another_day = (await currency.get(CONVERT, params={**params, "date": "2026-11-10"})).json()

    assert before["source"] == cached["source"] == "snapshot"
    assert on_another_day["source"] == "ecb"


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"to": "USD", "amount": "1"}, "from"),
    ({"from": "EUR", "amount": "1"}, "to"),
    ({"from": "EUR", "to": "USD"}, "amount"),
    ({"from": "XYZ", "to": "USD", "amount": "1"}, "from"),
    ({"from": "EUR", "to": "ABC", "amount": "1"}, "to"),
    ({"from": "EU", "to": "USD", "amount": "1"}, "from"),
    ({"from": "EURO", "to": "USD", "amount": "1"}, "from"),
    ({"from": "E1R", "to": "USD", "amount": "1"}, "from"),
    ({"from": "EUR", "to": "US$", "amount": "1"}, "to"),
    ({"from": "EUR", "to": "USD", "amount": "-1"}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": "NaN"}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": "Infinity"}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": "1e3"}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": "1,5"}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": " 1"}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": ""}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": "1" * 16}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": "1.2345"}, "amount"),
    ({"from": "EUR", "to": "USD", "amount": "1.005"}, "amount"),  # EUR has 2 decimals
    ({"from": "JPY", "to": "USD", "amount": "1.5"}, "amount"),  # JPY has none
    ({"from": "EUR", "to": "USD", "amount": "1", "date": "2024-13-01"}, "date"),
    ({"from": "EUR", "to": "USD", "amount": "1", "date": "2024-02-30"}, "date"),
    ({"from": "EUR", "to": "USD", "amount": "1", "date": "20240101"}, "date"),
    ({"from": "EUR", "to": "USD", "amount": "1", "date": "1700000000"}, "date"),
    ({"from": "EUR", "to": "USD", "amount": "1", "date": "2024-1-5"}, "date"),
    ({"from": "EUR", "to": "USD", "amount": "1", "date": "1999-01-03"}, "date"),
    ({"from": "EUR", "to": "USD", "amount": "1", "date": "1998-12-31"}, "date"),
]


@pytest.mark.parametrize(("params", "field"), BAD_INPUT)
async def test_bad_input_is_a_422_naming_the_parameter(
    currency: AsyncClient, ecb: FakeECB, refresh: RefreshRunner, params: dict[str, Any], field: str
) -> None:
    response = await currency.get(CONVERT, params=params)

    assert response.status_code == 422, (params, response.text)
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in problem["errors"]] == [field]
    assert problem["errors"][0]["message"]
    assert ecb.requests == []
    assert await refresh.stored_days() == []


async def test_a_future_date_is_a_422(currency: AsyncClient) -> None:
    tomorrow = (today() + timedelta(days=1)).isoformat()

    response = await currency.get(
        CONVERT, params={"from": "EUR", "to": "USD", "amount": "1", "date": tomorrow}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "There are no rates for a day in the future."


async def test_messages_say_what_is_wrong(currency: AsyncClient) -> None:
    unknown = await currency.get(CONVERT, params={"from": "xyz", "to": "USD", "amount": "1"})
    precise = await currency.get(CONVERT, params={"from": "JPY", "to": "USD", "amount": "1.5"})
    early = await currency.get(
        CONVERT, params={"from": "EUR", "to": "USD", "amount": "1", "date": "1990-01-01"}
    )

    assert unknown.json()["errors"][0]["message"].startswith("Unknown currency: XYZ.")
    assert precise.json()["errors"][0]["message"] == "JPY amounts have at most 0 decimal places."
    assert early.json()["errors"][0]["message"] == "Reference rates start on 1999-01-04."
