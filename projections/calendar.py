"""Dates as the reports count them: French calendar days, months for DSO."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def local_date(moment: datetime) -> date:
    """The French calendar day of an instant (a reminder sent at 00:30 in Paris is that day)."""
    return moment.astimezone(PARIS).date()


def today() -> date:
    """Today in France: the default "as of" of every report."""
    return datetime.now(PARIS).date()


def month_start(day: date) -> date:
    """The 1st of ``day``'s month."""
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period_ends(first: date, last: date) -> list[date]:
    """Every month end from ``first`` to ``last``, then ``last`` itself if not a month end."""
    ends: list[date] = []
    end = month_end(first)
    while end <= last:
        ends.append(end)
        end = month_end(end + timedelta(days=1))
    if not ends or ends[-1] != last:
        ends.append(last)
    return ends
