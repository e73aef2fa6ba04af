"""The debtor's calendar: metropolitan, Alsace-Moselle and overseas holidays."""

from datetime import date

import pytest

from legal.errors import UnsupportedPostalCode
from legal.working_days import (
    METROPOLITAN,
    calendar_for_postal_code,
    calendar_for_subdivision,
)

PARIS = calendar_for_postal_code("75001")


@pytest.mark.parametrize("postal_code", ["57000", "67000", "68100"])
def test_alsace_moselle_adds_26_december_and_good_friday(postal_code: str) -> None:
    cal = calendar_for_postal_code(postal_code)
    assert cal.holiday_name(date(2025, 12, 26)) == "Saint-Étienne"
    assert cal.holiday_name(date(2025, 4, 18)) == "Vendredi saint"
    assert not cal.is_working_day(date(2025, 12, 26))
    assert not cal.is_working_day(date(2025, 4, 18))


def test_metropolitan_france_works_on_26_december_and_good_friday() -> None:
    assert PARIS.is_working_day(date(2025, 12, 26))
    assert PARIS.is_working_day(date(2025, 4, 18))
    assert PARIS == METROPOLITAN


@pytest.mark.parametrize(
    ("postal_code", "day"),
    [
        ("97110", date(2025, 5, 27)),  # Guadeloupe
        ("97200", date(2025, 5, 22)),  # Martinique
        ("97300", date(2025, 6, 10)),  # Guyane
        ("97400", date(2024, 12, 20)),  # La Réunion
        ("97600", date(2026, 4, 27)),  # Mayotte
    ],
)
def test_overseas_departments_have_their_abolition_of_slavery_day(
    postal_code: str, day: date
) -> None:
    cal = calendar_for_postal_code(postal_code)
    assert cal.holiday_name(day) == "Abolition de l'esclavage"
    assert not cal.is_working_day(day)
    assert PARIS.is_working_day(day)


def test_public_holidays_are_named_in_french() -> None:
    assert PARIS.holiday_name(date(2025, 5, 8)) == "Fête de la Victoire"
    assert PARIS.holiday_name(date(2025, 5, 9)) is None


def test_weekends_are_not_working_days() -> None:
    assert not PARIS.is_working_day(date(2025, 5, 10))  # Saturday
    assert not PARIS.is_working_day(date(2025, 5, 11))  # Sunday
    assert PARIS.is_working_day(date(2025, 5, 12))


def test_next_working_day_is_strictly_after_and_first_working_day_may_be_the_same() -> None:
    assert PARIS.next_working_day(date(2025, 5, 7)) == date(2025, 5, 9)
    assert PARIS.next_working_day(date(2025, 5, 9)) == date(2025, 5, 12)
    assert PARIS.first_working_day_from(date(2025, 5, 9)) == date(2025, 5, 9)


def test_describe_names_weekend_and_holiday_together() -> None:
    assert PARIS.describe(date(2025, 11, 1)) == "a Saturday and a public holiday (Toussaint)"
    assert PARIS.describe(date(2025, 11, 3)) == "a working day"


@pytest.mark.parametrize(
    ("postal_code", "subdivision"),
    [
        ("20000", None),  # Corsica: metropolitan calendar
        ("01000", None),
        ("57000", "57"),
        ("67000", "6AE"),
        ("97133", "BL"),  # Saint-Barthélemy uses a 971 postal code
        ("97150", "MF"),  # Saint-Martin too
        ("97500", "PM"),
        (" 68 100 ", "6AE"),
    ],
)
def test_postal_code_selects_the_subdivision(postal_code: str, subdivision: str | None) -> None:
    assert calendar_for_postal_code(postal_code).subdivision == subdivision


@pytest.mark.parametrize("postal_code", ["7500", "750011", "ABCDE", "00100", "98000", "97800"])
def test_unknown_or_malformed_postal_codes_are_rejected(postal_code: str) -> None:
    with pytest.raises(UnsupportedPostalCode):
        calendar_for_postal_code(postal_code)


def test_subdivision_lookup_matches_postal_code_lookup() -> None:
    assert calendar_for_subdivision("57") == calendar_for_postal_code("57070")
    assert calendar_for_subdivision(None) is METROPOLITAN
    with pytest.raises(UnsupportedPostalCode):
        calendar_for_subdivision("99")
