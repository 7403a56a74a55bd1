"""Tables of the currency module."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base


class CurrencyRateDay(Base):
    """One day of ECB reference rates fetched from the ECB's XML (days after the bundled history).

    `rates` maps ISO 4217 codes to the rate per euro as the ECB wrote it (a decimal string, so no
    digit is lost); the euro itself is not listed.
    """

    __tablename__ = "currency_rate_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rates: Mapped[dict[str, str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(40))  # the ECB file it came from
    fetched_at: Mapped[datetime]
