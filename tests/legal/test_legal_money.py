"""Money helpers: exact half-up rounding to the cent, strict amount parsing."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from legal.errors import LegalError
from legal.money import format_amount, parse_amount, round_cents
from legal.working_days import calendar_for_postal_code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("700.9973"), "701.00"),
        (Decimal("0.005"), "0.01"),
        (Decimal("0.00499999"), "0.00"),
        (Fraction(-1, 200), "-0.01"),
        (Decimal("-0.004"), "0.00"),
        (Fraction(25586400, 36500), "701.00"),
    ],
)
def test_round_cents_is_half_up_and_exact(value: Decimal | Fraction, expected: str) -> None:
    assert str(round_cents(value)) == expected


def test_amounts_are_parsed_strictly() -> None:
    assert parse_amount("99,90", "x") == Decimal("99.90")
    assert format_amount(parse_amount("12000", "x")) == "12000.00"
    for bad in ["", "abc", "NaN", "inf", "-1", "0", "1.001"]:
        with pytest.raises(LegalError):
            parse_amount(bad, "principal")


def test_holiday_cache_is_safe_across_threads() -> None:
    days = [date(2030, 1, 1) + timedelta(days=n) for n in range(366)]

    def count(postal_code: str) -> int:
        cal = calendar_for_postal_code(postal_code)
        return sum(not cal.is_working_day(day) for day in days)

    codes = ["57000", "75001", "97400"] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(count, codes))
    assert counts == [count(code) for code in codes]
