"""Simple-interest accrual engine shared by the three interest regimes.

Convention (french-collection-law.md s.2): simple interest, actual days / 365,
on the amount still due; interest runs from the day after the starting date
through the end date inclusive (days = end - start); a payment reduces the
base from the day after its date; each half-year at its own rate when rates
change by half-year; the exact sum is rounded once to the cent, half up.
"""

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from legal.errors import LegalError
from legal.half_year import HalfYear, half_year_of
from legal.money import ZERO, check_amount, round_cents

# A rate rule gives the annual rate (percent) for a half-year and an optional
# note explaining it (shown to operators and in letters).
RateRule = Callable[[HalfYear], tuple[Decimal, str | None]]


class Payment(BaseModel):
    """A payment received on ``on`` (it reduces the base from the next day)."""

    model_config = ConfigDict(frozen=True)

    on: date
    amount: Decimal


class Segment(BaseModel):
    """One period with a constant base and rate; ``amount`` is rounded for display."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    days: int
    base: Decimal
    rate: Decimal
    amount: Decimal


class InterestResult(BaseModel):
    """Interest of one regime: segments, total (exact sum rounded once), notes."""

    model_config = ConfigDict(frozen=True)

    segments: tuple[Segment, ...] = ()
    total: Decimal = ZERO
    notes: tuple[str, ...] = ()
    start: date | None = None
    """First day interest runs (None when none runs)."""
    start_basis: str = ""
    """Which starting date was used and why (shown in letters and the CLI)."""


def check_payments(payments: Sequence[Payment], as_of: date) -> tuple[Payment, ...]:
    """Validate payments (positive cents, not after ``as_of``), sorted by date."""
    for payment in payments:
        check_amount(payment.amount, "payment amount")
        if payment.on > as_of:
            raise LegalError(f"payment dated {payment.on} is after the as-of date {as_of}")
    return tuple(sorted(payments, key=lambda p: p.on))


def outstanding_on(principal: Decimal, payments: Sequence[Payment], day: date) -> Decimal:
    """Principal still due on ``day``: payments made before ``day`` deducted."""
    paid = sum((p.amount for p in payments if p.on < day), ZERO)
    return max(principal - paid, ZERO)


def _breakpoints(
    first: date, through: date, payments: Sequence[Payment], split: bool
) -> list[date]:
    points = {first}
    points.update(p.on + timedelta(days=1) for p in payments)
    if split:
        half = half_year_of(first)
        while half.last_day < through:
            half = half_year_of(half.last_day + timedelta(days=1))
            points.add(half.first_day)
    return sorted(p for p in points if first <= p <= through)


def accrue(
    principal: Decimal,
    payments: Sequence[Payment],
    after: date,
    through: date,
    rule: RateRule,
    *,
    split_half_years: bool = True,
) -> InterestResult:
    """Interest from the day after ``after`` through ``through`` inclusive."""
    if through <= after:
        return InterestResult()
    first = after + timedelta(days=1)
    points = _breakpoints(first, through, payments, split_half_years)
    ends = [p - timedelta(days=1) for p in points[1:]] + [through]
    segments: list[Segment] = []
    notes: list[str] = []
    exact_total = Fraction(0)
    for start, end in zip(points, ends, strict=True):
        base = outstanding_on(principal, payments, start)
        if base == 0:
            continue
        rate, note = rule(half_year_of(start))
        if note is not None and note not in notes:
            notes.append(note)
        days = (end - start).days + 1
        exact = Fraction(base) * Fraction(rate) * days / 36500
        exact_total += exact
        segments.append(
            Segment(
                start=start,
                end=end,
                days=days,
                base=base,
                rate=rate,
                amount=round_cents(exact),
            )
        )
    return InterestResult(
        segments=tuple(segments), total=round_cents(exact_total), notes=tuple(notes)
    )
