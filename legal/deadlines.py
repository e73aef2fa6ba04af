"""Procedural deadlines (CPC 640 to 642).

- CPC 641 al. 1: in days, the day of the starting event does not count.
- CPC 641 al. 2: in months or years, the deadline ends on the same date of the
  final month, or on its last day when that date does not exist.
- CPC 642: it ends at midnight of its last day; a last day that is a
  Saturday, a Sunday or a public holiday moves to the next working day.

Section 7 "safe side": for a deadline the debtor has, act only after the
extended ``last_day``; for a deadline the creditor must meet, plan on
``unextended_last_day``. Both are returned.
"""

import calendar
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from legal.errors import LegalError
from legal.working_days import DebtorCalendar


class Deadline(BaseModel):
    """Result of a deadline computation."""

    model_config = ConfigDict(frozen=True)

    start: date
    unextended_last_day: date
    last_day: date
    moved_from: date | None
    reason: str


def add_months(day: date, months: int) -> date:
    """Same date ``months`` later, or the last day of that month (CPC 641 al. 2):
    31 Jan + 1 month = 28 (or 29) Feb."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _extend(start: date, nominal: date, cal: DebtorCalendar) -> Deadline:
    """Apply CPC 642 al. 2 to a nominal last day."""
    last_day = cal.first_working_day_from(nominal)
    if last_day == nominal:
        reason = f"{nominal} is a working day; no extension (CPC 642)"
        return Deadline(
            start=start,
            unextended_last_day=nominal,
            last_day=nominal,
            moved_from=None,
            reason=reason,
        )
    reason = (
        f"{nominal} is {cal.describe(nominal)}; moved to the next working day, {last_day} (CPC 642)"
    )
    return Deadline(
        start=start,
        unextended_last_day=nominal,
        last_day=last_day,
        moved_from=nominal,
        reason=reason,
    )


def deadline_in_days(start: date, days: int, cal: DebtorCalendar) -> Deadline:
    """Deadline of ``days`` days from the event of ``start`` (CPC 641 al. 1, 642)."""
    if days < 1:
        raise LegalError(f"a deadline needs at least 1 day, got {days}")
    return _extend(start, start + timedelta(days=days), cal)


def deadline_in_months(start: date, months: int, cal: DebtorCalendar) -> Deadline:
    """Deadline of ``months`` months from ``start`` (CPC 641 al. 2, 642)."""
    if months < 1:
        raise LegalError(f"a deadline needs at least 1 month, got {months}")
    return _extend(start, add_months(start, months), cal)


def deadline_in_years(start: date, years: int, cal: DebtorCalendar) -> Deadline:
    """Deadline of ``years`` years from ``start`` (CPC 641 al. 2, 642)."""
    if years < 1:
        raise LegalError(f"a deadline needs at least 1 year, got {years}")
    return _extend(start, add_months(start, 12 * years), cal)


def first_day_after(deadline: Deadline, cal: DebtorCalendar) -> date:
    """First working day after a debtor's deadline, the earliest day the creditor
    acts on it (section 7 safe side; policy "deadline + 1 working day")."""
    return cal.next_working_day(deadline.last_day)
