"""Procedural deadlines, CPC 640 to 642, with property tests."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legal.deadlines import (
    add_months,
    deadline_in_days,
    deadline_in_months,
    deadline_in_years,
    first_day_after,
)
from legal.errors import LegalError
from legal.working_days import METROPOLITAN, DebtorCalendar, calendar_for_postal_code

PROPERTIES = settings(database=None, max_examples=200, deadline=None)
POSTAL_CODES = ["75001", "57000", "67000", "68100", "97110", "97200", "97300", "97400", "97600"]
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
calendars = st.sampled_from(POSTAL_CODES).map(calendar_for_postal_code)


@pytest.mark.parametrize(
    ("start", "months", "unextended", "last_day"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29), date(2024, 2, 29)),  # leap year
        (date(2025, 3, 31), 1, date(2025, 4, 30), date(2025, 4, 30)),
        (date(2025, 10, 31), 1, date(2025, 11, 30), date(2025, 12, 1)),  # Sunday
        (date(2025, 8, 31), 6, date(2026, 2, 28), date(2026, 3, 2)),  # Saturday
        (date(2025, 1, 31), 13, date(2026, 2, 28), date(2026, 3, 2)),
        (date(2025, 1, 15), 1, date(2025, 2, 15), date(2025, 2, 17)),
    ],
)
def test_months_end_on_same_date_or_last_day_of_month(
    start: date, months: int, unextended: date, last_day: date
) -> None:
    result = deadline_in_months(start, months, METROPOLITAN)
    assert (result.unextended_last_day, result.last_day) == (unextended, last_day)


def test_years_from_29_february_end_on_28_february() -> None:
    result = deadline_in_years(date(2024, 2, 29), 1, METROPOLITAN)
    assert result.last_day == date(2025, 2, 28)


def test_saturday_is_given_as_the_reason() -> None:
    result = deadline_in_days(date(2025, 5, 2), 8, METROPOLITAN)
    assert result.moved_from == date(2025, 5, 10)
    assert result.last_day == date(2025, 5, 12)
    assert result.reason.startswith("2025-05-10 is a Saturday;")


def test_alsace_moselle_26_december_extends_only_there() -> None:
    start = date(2025, 12, 18)
    assert deadline_in_days(start, 8, METROPOLITAN).last_day == date(2025, 12, 26)
    metz = deadline_in_days(start, 8, calendar_for_postal_code("57000"))
    assert (metz.moved_from, metz.last_day) == (date(2025, 12, 26), date(2025, 12, 29))
    assert "Saint-Étienne" in metz.reason


def test_creditor_acts_on_the_first_working_day_after_the_debtor_deadline() -> None:
    result = deadline_in_days(date(2025, 4, 30), 8, METROPOLITAN)
    assert first_day_after(result, METROPOLITAN) == date(2025, 5, 12)


@pytest.mark.parametrize("length", [0, -1])
def test_deadline_length_must_be_positive(length: int) -> None:
    with pytest.raises(LegalError):
        deadline_in_days(date(2025, 1, 1), length, METROPOLITAN)
    with pytest.raises(LegalError):
        deadline_in_months(date(2025, 1, 1), length, METROPOLITAN)


@PROPERTIES
@given(start=starts, days=st.integers(1, 400), cal=calendars)
def test_deadline_in_days_never_ends_on_a_non_working_day(
    start: date, days: int, cal: DebtorCalendar
) -> None:
    result = deadline_in_days(start, days, cal)
    assert cal.is_working_day(result.last_day)
    assert result.unextended_last_day == start + timedelta(days=days)


@PROPERTIES
@given(start=starts, months=st.integers(1, 36), cal=calendars)
def test_extension_only_skips_non_working_days(
    start: date, months: int, cal: DebtorCalendar
) -> None:
    result = deadline_in_months(start, months, cal)
    assert cal.is_working_day(result.last_day)
    assert result.last_day >= result.unextended_last_day
    day = result.unextended_last_day
    while day < result.last_day:
        assert not cal.is_working_day(day)
        day += timedelta(days=1)
    assert (result.moved_from is None) == (result.last_day == result.unextended_last_day)


@PROPERTIES
@given(start=starts, months=st.integers(0, 600))
def test_add_months_keeps_the_day_or_takes_the_month_end(start: date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year - start.year) * 12 + end.month - start.month == months
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)
