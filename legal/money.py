"""Money helpers: Decimal only, exact arithmetic, one half-up rounding to the cent."""

import math
from decimal import Decimal
from fractions import Fraction

from legal.errors import LegalError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_cents(value: Fraction | Decimal) -> Decimal:
    """Round an exact value to the cent, half away from zero, independent of any
    decimal context (so the result is the same in every thread and process)."""
    exact = Fraction(value)
    cents = math.floor(abs(exact) * 100 + Fraction(1, 2))
    sign = 1 if exact < 0 and cents else 0
    digits = tuple(int(c) for c in str(cents))
    return Decimal((sign, digits, -2))


def check_amount(value: Decimal, name: str, *, allow_zero: bool = False) -> Decimal:
    """Validate an amount in euros (finite, not negative, at most 2 decimals) and
    return it with exactly two decimals."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise LegalError(f"{name} must be a finite decimal amount, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "negative" if allow_zero else "zero or negative"
        raise LegalError(f"{name} must not be {bound}: {value}")
    if (Fraction(value) * 100).denominator != 1:
        raise LegalError(f"{name} has more than 2 decimals: {value}")
    return round_cents(value)


def parse_amount(text: str, name: str, *, allow_zero: bool = False) -> Decimal:
    """Parse an amount typed by a person ("12000.00", "12000", "99,90")."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except ArithmeticError:
        raise LegalError(f"{name} is not an amount: {text!r}") from None
    return check_amount(value, name, allow_zero=allow_zero)


def format_amount(value: Decimal) -> str:
    """Render an amount with exactly two decimals ("701.00")."""
    return str(round_cents(value))


def format_rate(value: Decimal) -> str:
    """Render a rate in percent with exactly two decimals ("13.15")."""
    return str(round_cents(value))
