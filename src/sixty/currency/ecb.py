"""The ECB's euro reference rates: its XML files, its bundled CSV history, its calendar.

Rates are "units of the currency per 1 euro", published on TARGET business days around 16:00
CET. The XML files (`eurofxref-daily.xml`, `eurofxref-hist-90d.xml`, `eurofxref-hist.xml`) are a
`gesmes:Envelope` holding `Cube` elements in the eurofxref namespace: one `Cube time="YYYY-MM-DD"`
per day, each with `Cube currency="USD" rate="1.1172"` children.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from xml.etree.ElementTree import Element

from babel.numbers import get_currency_precision
from iso4217 import Currency

EUROFXREF_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
FIRST_DAY = date(1999, 1, 4)  # the first reference rates
SNAPSHOT = Path(__file__).resolve().parent / "data" / "eurofxref-hist.zip"

_CODE = re.compile(r"^[A-Z]{3}$")
_RATE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")

DayRates = dict[str, str]  # code -> rate per euro, as the ECB wrote it


class FeedError(ValueError):
    """The ECB file is not what the ECB publishes."""


def parse_feed(root: Element) -> list[tuple[date, DayRates]]:
    """Every day of an ECB XML file, oldest first. Raises FeedError on a file of another shape."""
    days: list[tuple[date, DayRates]] = []
    for cube in root.iter(f"{EUROFXREF_NS}Cube"):
        if "time" not in cube.attrib:
            continue
        try:
            day = date.fromisoformat(cube.attrib["time"])
        except ValueError:
            raise FeedError(f"not a date: {cube.attrib['time']!r}") from None
        rates: DayRates = {}
        for entry in cube.findall(f"{EUROFXREF_NS}Cube"):
            code, rate = entry.get("currency", ""), entry.get("rate", "")
            if not _CODE.match(code) or not _RATE.match(rate) or Decimal(rate) == 0:
                raise FeedError(f"bad rate on {day}: {code!r}={rate!r}")
            rates[code] = rate
        if not rates:
            raise FeedError(f"no rates on {day}")
        days.append((day, rates))
    if not days:
        raise FeedError("no dated Cube: not an ECB reference rates file")
    return sorted(days)


@dataclass
class Snapshot:
    """The bundled history: kept as the CSV's lines, split only for the day asked for."""

    codes: tuple[str, ...]
    days: list[date]
    lines: list[str]
    spans: dict[str, tuple[date, date]] = field(default_factory=dict)  # code -> first, last day

    @property
    def last_day(self) -> date:
        return self.days[-1]

    def on_or_before(self, day: date) -> tuple[date, DayRates] | None:
        index = bisect.bisect_right(self.days, day) - 1
        if index < 0:
            return None
        return self.days[index], self._rates(self.lines[index])

    def _rates(self, line: str) -> DayRates:
        values = line.split(",")[1:]
        return {
            code: value.strip()
            for code, value in zip(self.codes, values, strict=False)
            if value.strip() not in ("", "N/A")
        }


def read_snapshot(lines: Iterable[str]) -> Snapshot:
    """The ECB's eurofxref-hist.csv: `Date,USD,JPY,...,` then one line per day, newest first."""
    rows = iter(lines)
    header = next(csv.reader([next(rows)]))
    codes = tuple(name.strip() for name in header[1:] if name.strip())
    dated = sorted(
        (date.fromisoformat(line[: line.index(",")]), line.rstrip("\r\n")) for line in rows if line.strip()
    )
    snapshot = Snapshot(codes=codes, days=[day for day, _ in dated], lines=[line for _, line in dated])
    # Each currency's first and last day with a rate: scan each column from both ends.
    cells = [line.split(",") for line in snapshot.lines]

    def has_rate(index: int, column: int) -> bool:
        row = cells[index]
        return len(row) > column and row[column].strip() not in ("", "N/A")

    for column, code in enumerate(codes, start=1):
        first = next((index for index in range(len(cells)) if has_rate(index, column)), None)
        if first is not None:
            last = next(index for index in reversed(range(len(cells))) if has_rate(index, column))
            snapshot.spans[code] = (snapshot.days[first], snapshot.days[last])
    return snapshot


@cache
def bundled_snapshot(path: Path = SNAPSHOT) -> Snapshot:
    with zipfile.ZipFile(path) as archive:
        [name] = [name for name in archive.namelist() if name.endswith(".csv")]
        text = archive.read(name).decode("utf-8")
    return read_snapshot(io.StringIO(text))


_loaded: Snapshot | None = None


async def load_snapshot() -> Snapshot:
    """The bundled history, read once per process in a thread (it takes a moment: the event loop
    keeps serving meanwhile)."""
    global _loaded
    if _loaded is None:
        _loaded = await asyncio.to_thread(bundled_snapshot)
    return _loaded


def minor_units(code: str) -> int:
    """Decimal places of the currency: ISO 4217's list (JPY 0, KWD 3), else CLDR's through Babel
    (currencies retired from ISO's current list, like CYP or HRK)."""
    current = Currency.__members__.get(code)
    if current is not None and current.exponent is not None:
        return int(current.exponent)
    return int(get_currency_precision(code))


def easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def is_target_business_day(day: date) -> bool:
    """Whether the ECB publishes rates that day: weekdays except TARGET's closing days (New Year,
    Good Friday, Easter Monday, 1 May, 25 and 26 December)."""
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    sunday = easter(day.year)
    return day not in (sunday - timedelta(days=2), sunday + timedelta(days=1))


def business_days_between(after: date, before: date) -> int:
    """How many TARGET business days lie strictly between two days."""
    return sum(
        is_target_business_day(after + timedelta(days=offset)) for offset in range(1, (before - after).days)
    )
