"""Dates people type, read by a small parser of documented forms (English words).

Forms, relative to `today` in the bot's time zone:

- `today`, `tomorrow`, `the day after tomorrow` (and `yesterday`, so that it can be refused as past);
- a weekday, alone or after `on`, `this` or `next` (`friday`, `next monday`, `on tue`): the first
  such day after today (never today itself);
- `in 3 days`, `in two weeks`, `in a week` (numbers as digits or the words one..twelve);
- ISO 8601 dates: `2026-12-03`;
- a day and a month, with or without a year: `3 december`, `3rd of dec 2026`, `december 3`,
  `Dec 3rd, 2026`; without a year, the next such day on or after today.

Numeric dates with slashes or dots (`03/12/2026`) are refused with a reason: they read as
different days in different countries. Why not dateparser: it brings four more dependencies,
about 60 MB of memory, half a second of warm-up, and with its default language detection it
spent four seconds of CPU on one unreadable answer ("banana") when we measured it, which a
public endpoint cannot afford; these forms cover what a booking question gets.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sixty.core.i18n import N_


class InvalidAnswer(ValueError):
    """An answer the bot cannot use; `reason` (marked with N_) and `params` say why."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


WEEKDAYS = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:\s+(\d{4}))?"
ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DAY_MONTH = re.compile(rf"(?:the\s+)?{_DAY}\s+(?:of\s+)?({_MONTH}){_YEAR}")
MONTH_DAY = re.compile(rf"({_MONTH})\s+(?:the\s+)?{_DAY}{_YEAR}")
WEEKDAY = re.compile(rf"(?:(?:on|this|next|coming|this coming)\s+)?({'|'.join(WEEKDAYS)})")
IN_PERIOD = re.compile(rf"in\s+(\d{{1,3}}|{'|'.join(NUMBERS)})\s+(day|days|week|weeks)")
NUMERIC = re.compile(r"\d{1,4}\s*[/.]\s*\d{1,2}(?:\s*[/.]\s*\d{1,4})?")
MAX_DAYS_AHEAD = 3660  # `in 999 weeks` is not a date anyone books


def _clean(text: str) -> str:
    text = text.casefold().strip().rstrip(".!?").replace(",", " ")
    return " ".join(text.split())


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidAnswer(N_("{text} is not a day of the calendar."), text=text) from None


def _day_and_month(month: int, day: int, year: str | None, today: date, text: str) -> date:
    if year:
        return _make(int(year), month, day, text)
    candidate = _make(today.year, month, day, text) if (month, day) != (2, 29) else None
    if candidate is not None and candidate >= today:
        return candidate
    for offset in range(1, 9):  # the next year that has the day (29 February: a leap year)
        try:
            following = date(today.year + offset, month, day)
        except ValueError:
            continue
        if following >= today:
            return following
    raise InvalidAnswer(N_("{text} is not a day of the calendar."), text=text)


def parse_date(text: str, *, today: date) -> date:
    """The day `text` names (see the module's list of forms); InvalidAnswer when it names none."""
    cleaned = _clean(text)
    if cleaned == "today":
        return today
    if cleaned == "yesterday":
        return today - timedelta(days=1)
    if cleaned in ("tomorrow", "tmrw"):
        return today + timedelta(days=1)
    if cleaned in ("day after tomorrow", "the day after tomorrow"):
        return today + timedelta(days=2)
    if match := WEEKDAY.fullmatch(cleaned):
        ahead = (WEEKDAYS[match.group(1)] - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead)
    if match := IN_PERIOD.fullmatch(cleaned):
        count_text, unit = match.groups()
        count = int(count_text) if count_text.isdigit() else NUMBERS[count_text]
        days = count * (7 if unit.startswith("week") else 1)
        if days > MAX_DAYS_AHEAD:
            raise InvalidAnswer(N_("That is too far ahead."))
        return today + timedelta(days=days)
    if match := ISO.fullmatch(cleaned):
        return _make(int(match.group(1)), int(match.group(2)), int(match.group(3)), text.strip())
    if match := DAY_MONTH.fullmatch(cleaned):
        day, month, year = match.groups()
        return _day_and_month(MONTHS[month], int(day), year, today, text.strip())
    if match := MONTH_DAY.fullmatch(cleaned):
        month, day, year = match.groups()
        return _day_and_month(MONTHS[month], int(day), year, today, text.strip())
    if NUMERIC.fullmatch(cleaned):
        raise InvalidAnswer(
            N_("Dates like {text} read differently from country to country; write 2026-12-03 or 3 December."),
            text=text.strip(),
        )
    raise InvalidAnswer(N_("I could not read that as a date."))
