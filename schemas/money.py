"""Money as it crosses the API: a decimal string, positive, at most two decimals, bounded."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from schemas.bounds import MAX_AMOUNT, MAX_AMOUNT_TEXT

CENT = Decimal("0.01")
AMOUNT_PATTERN = r"^([1-9][0-9]{0,8}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9]))$"
"""The wire form of an API amount: greater than 0, up to nine integer digits (no leading
zero), up to two decimals; 0.01 .. 999999999.99."""
_MAX_TEXT = 40  # longer than any amount we take, even padded: refuse before parsing


def _parse_amount(value: Any, *, maximum: Decimal | None = None) -> Decimal:
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, str):
        if len(value) > _MAX_TEXT:
            raise ValueError(f"must be at most {MAX_AMOUNT_TEXT}")
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
    if maximum is not None and parsed > maximum:
        raise ValueError(f"must be at most {maximum}")
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("must have at most 2 decimals")
    return parsed.quantize(CENT)


def format_amount(value: Decimal) -> str:
    """Two-decimal string, the wire form of every amount."""
    return str(value.quantize(CENT))


BoundedAmount = Annotated[
    Decimal,
    BeforeValidator(partial(_parse_amount, maximum=MAX_AMOUNT)),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_PATTERN,
            "minLength": 1,
            "maxLength": 12,
            "x-minimum-exclusive": "0",
            "x-maximum": MAX_AMOUNT_TEXT,
            "description": (
                f"Euros as a decimal string, greater than 0 and at most {MAX_AMOUNT_TEXT}, "
                "at most 2 decimals"
            ),
            "examples": ["1200.00"],
        }
    ),
]
"""What a caller may send as an amount: 0.01 .. 999 999 999.99 euros, two decimals, as a
string (every money column, numeric(16, 2), holds it with room for its penalties)."""

Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]+(\.[0-9]{1,2})?$",
            "description": "Euros as a decimal string, greater than 0, at most 2 decimals",
            "examples": ["1200.00"],
        }
    ),
]
"""A strictly positive amount in euros, two decimals, as a string, with no upper bound:
for facts the service computes (a total claimed with its penalties may exceed what a
caller may send). Request bodies use BoundedAmount."""

Balance = Annotated[
    Decimal,
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+\.[0-9]{2}$",
            "description": "Euros as a two-decimal string; may be 0",
            "examples": ["1000.00"],
        }
    ),
]
"""An amount that may be zero (a balance), returned as a two-decimal string."""
