"""Money as it crosses the API: a decimal string, positive, at most two decimals."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")


def _parse_amount(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError('must be a decimal string such as "1200.00"') from None
    else:
        # JSON numbers are floats on many ERPs' side: refuse them rather than guess.
        raise ValueError('must be a decimal string such as "1200.00", not a number')
    if not parsed.is_finite():
        raise ValueError("must be a finite amount")
    if parsed <= 0:
        raise ValueError("must be greater than 0")
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("must have at most 2 decimals")
    return parsed.quantize(CENT)


def format_amount(value: Decimal) -> str:
    """Two-decimal string, the wire form of every amount."""
    return str(value.quantize(CENT))


Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1200.00"]}),
]
"""A strictly positive amount in euros, two decimals, sent and returned as a string."""

Balance = Annotated[
    Decimal,
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["1000.00"]}),
]
"""An amount that may be zero (a balance), returned as a two-decimal string."""
