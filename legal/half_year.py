"""Half-years: the unit in which the statutory rates change (C. com. L441-10 II,
C. mon. fin. L313-2)."""

from datetime import date
from typing import NamedTuple


class HalfYear(NamedTuple):
    """A calendar half-year: H1 = January to June, H2 = July to December."""

    year: int
    half: int

    @property
    def label(self) -> str:
        """Human label used in messages, e.g. "2026 H2"."""
        return f"{self.year} H{self.half}"

    @property
    def first_day(self) -> date:
        """1 January or 1 July."""
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def last_day(self) -> date:
        """30 June or 31 December."""
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)


def half_year_of(day: date) -> HalfYear:
    """The half-year containing ``day``."""
    return HalfYear(day.year, 1 if day.month <= 6 else 2)
