"""Read back the context's formatted amounts and dates (the text templates' own strings).

The context holds already formatted values ("1 200,00 €", "31/10/2026"); the layout prints
them as they are and only parses them to check that the décompte adds up and to compute the
table's total row, formatted the same way (schemas.french_format).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from schemas.french_format import french_amount

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
_AMOUNT = re.compile(r"^(?P<sign>-?)(?P<digits>\d+(?:,\d{1,2})?)(?P<currency>€|[A-Z]{3})$")
_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


class LetterContextError(ValueError):
    """A context value the layout cannot read, or a décompte that does not add up."""


def parse_amount(text: str, key: str) -> tuple[Decimal, str]:
    """("1 200,00 €", key) -> (Decimal("1200.00"), "EUR"); "" is not an amount."""
    compact = _SPACES.sub("", text)
    match = _AMOUNT.fullmatch(compact)
    if match is None:
        raise LetterContextError(f"context key {key!r}: {text!r} is not an amount like 1 200,00 €")
    try:
        value = Decimal(match["digits"].replace(",", "."))
    except InvalidOperation as err:  # pragma: no cover - the pattern admits digits only
        raise LetterContextError(f"context key {key!r}: {text!r} is not an amount") from err
    currency = "EUR" if match["currency"] == "€" else match["currency"]
    return (-value if match["sign"] else value), currency


def optional_amount(text: str, key: str, currency: str) -> Decimal:
    """An amount that may be empty (meaning none: 0); its currency must be ``currency``."""
    if not text.strip():
        return Decimal("0.00")
    value, found = parse_amount(text, key)
    if found != currency:
        raise LetterContextError(f"context key {key!r}: {text!r} is not in {currency}")
    return value


def amount_text(value: Decimal, currency: str) -> str:
    return french_amount(value, currency)


def parse_date(text: str, key: str) -> date:
    """ "05/12/2026" -> date(2026, 12, 5)."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise LetterContextError(f"context key {key!r}: {text!r} is not a date like 31/10/2026")
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError as err:
        raise LetterContextError(f"context key {key!r}: {text!r} is not a date") from err


def long_date(value: date) -> str:
    """date(2026, 12, 2) -> "2 décembre 2026"; the first of the month is "1er"."""
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def iso_midnight(value: date) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
