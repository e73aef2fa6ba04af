"""Bounds every API input respects, stated in the OpenAPI schema so clients see them.

They exist so that no accepted value can break what comes after the API: an amount
that overflows a ``numeric(16, 2)`` column, a date whose "+ grace days" overflows
Python's calendar inside a workflow, a string longer than its column or its domain
event allows. Apply them rather than re-declaring the numbers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

MAX_AMOUNT = Decimal("999999999.99")
"""Largest amount accepted anywhere (under a billion euros). The smallest money column
is ``numeric(16, 2)`` (projections: case_list, balance_movements; up to 10^14 - 0.01),
so the amount, its penalties and interest over the whole date window, and sums of a
case's movements all fit with a wide margin."""
MAX_AMOUNT_TEXT = "999999999.99"

MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)
"""Window of every date the API accepts: far enough from the calendar's ends that the
workflow's date arithmetic (deadlines, grace days, prescription: + 10 years) never
overflows, wide enough for any real invoice."""

DATE_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
"""The window as a pattern on the ISO date, for clients and generators that ignore
``formatMinimum``/``formatMaximum``."""

MAX_NOTE = 500
"""Free text an operator types (reasons, notes)."""
MAX_REFERENCE = 100
"""A bank, ERP, partner or platform reference."""
MAX_NAME = 200
"""A person's, company's or court's name."""


def _in_window(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return value


BoundedDate = Annotated[
    date,
    AfterValidator(_in_window),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "minLength": 10,
            "maxLength": 10,
            "formatMinimum": MIN_DATE.isoformat(),
            "formatMaximum": MAX_DATE.isoformat(),
            "pattern": DATE_PATTERN,
            "description": (
                f"A date between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()} (inclusive)"
            ),
            "examples": ["2026-10-31"],
        }
    ),
]
"""A calendar date in the API's window (2000-01-01 .. 2100-12-31); 422 outside it."""

Text = Annotated[str, Field(min_length=1, max_length=MAX_NOTE)]
"""Required free text: not empty, at most 500 characters."""
Reference = Annotated[str, Field(min_length=1, max_length=MAX_REFERENCE)]
"""Required reference: not empty, at most 100 characters."""


class ApiModel(BaseModel):
    """Base of every request body: unknown fields refused, strings stripped, and no NUL
    character in any string (PostgreSQL's text and JSONB cannot store U+0000: such a value
    would fail every later write of the case, e.g. its event store append, forever)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        return value
