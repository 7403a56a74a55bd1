"""A local ECB: eurofxref-daily.xml, eurofxref-hist-90d.xml and eurofxref-hist.xml in the shape
the ECB publishes them (a gesmes:Envelope; one `Cube time=` per TARGET business day, newest first,
each with `Cube currency= rate=` children in the eurofxref namespace)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

# The ECB's rates of 2026-10-30 (its 29 currencies then); USD moves a little each day below.
RATES = {
    "USD": "1.1172", "JPY": "175.68", "CZK": "24.353", "DKK": "7.4735", "GBP": "0.83380",
    "HUF": "366.33", "PLN": "4.4038", "RON": "5.3447", "SEK": "10.9780", "CHF": "0.9194",
    "ISK": "136.00", "NOK": "10.3120", "TRY": "55.8015", "AUD": "1.5904", "BRL": "6.0692",
    "CAD": "1.5606", "CNY": "7.4326", "HKD": "8.7652", "IDR": "20275.17", "ILS": "3.4950",
    "INR": "106.0840", "KRW": "1491.76", "MXN": "21.1237", "MYR": "4.5325", "NZD": "1.9823",
    "PHP": "71.143", "SGD": "1.4282", "THB": "37.683", "ZAR": "18.6455",
}  # fmt: skip

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
    "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
    "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n"
    "\t<Cube>\n"
)
TAIL = "\t</Cube>\n</gesmes:Envelope>"


def _easter(year: int) -> date:
    # Spelled out here too, so the fake does not lean on the code under test.
    known = {
        2025: date(2025, 4, 20),
        2026: date(2026, 4, 5),
        2027: date(2027, 3, 28),
        2028: date(2028, 4, 16),
    }
    return known[year]


def publishes(day: date) -> bool:
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    return day not in (_easter(day.year) - timedelta(days=2), _easter(day.year) + timedelta(days=1))


def usd_on(day: date) -> str:
    """USD per euro on a day: 1.1000 plus the day of the year in ten-thousandths."""
    return f"{1.1 + day.timetuple().tm_yday / 10000:.4f}"


def rates_on(day: date) -> dict[str, str]:
    return {**RATES, "USD": usd_on(day)}


def latest_business_day(today: date) -> date:
    day = today
    while not publishes(day):
        day -= timedelta(days=1)
    return day


@dataclass
class FakeECB:
    server: HTTPServer
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    status: int = 200
    body: str | None = None  # an answer to send instead of the file (broken XML, say)
    history_days: int = 400  # how far back eurofxref-hist.xml goes (the real one: to 1999)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/stats/eurofxref/")

    def install(self) -> None:
        for name, days in (
            ("eurofxref-daily.xml", 1),
            ("eurofxref-hist-90d.xml", 90),
            ("eurofxref-hist.xml", None),
        ):
            self.server.expect_request(f"/stats/eurofxref/{name}").respond_with_handler(
                self._file(name, days)
            )

    def _file(self, name: str, span: int | None) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            with self.lock:
                self.requests.append(name)
            if self.status != 200:
                return Response("Service Unavailable", status=self.status)
            if self.body is not None:
                return Response(self.body, content_type="text/xml")
            return Response(self.document(span), content_type="text/xml")

        return answer

    def days(self, span: int | None) -> list[date]:
        newest = latest_business_day(self.today)
        if span == 1:
            return [newest]
        back = span if span is not None else self.history_days
        return [
            newest - timedelta(days=offset)
            for offset in range(back)
            if publishes(newest - timedelta(days=offset))
        ]

    def document(self, span: int | None) -> str:
        cubes = []
        for day in self.days(span):
            rows = "".join(
                f"\t\t\t<Cube currency='{code}' rate='{rate}'/>\n" for code, rate in rates_on(day).items()
            )
            cubes.append(f"\t\t<Cube time='{day.isoformat()}'>\n{rows}\t\t</Cube>\n")
        return HEAD + "".join(cubes) + TAIL
