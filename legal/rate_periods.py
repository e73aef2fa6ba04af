"""The periods and rates a formal notice states (C. civ. 1344 as practised:
"the rate applied for each period, the periods, and the date to which the
amounts are computed", french-collection-law.md s.3).

A period is a run of consecutive days at one rate drawn from one half-year's
row; payment dates split segments but not periods. Each period carries the
row's status and source, so a reported rate is visible wherever it is printed.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from legal.accrual import Segment
from legal.half_year import HalfYear, half_year_of
from legal.kinds import DebtorKind
from legal.money import format_rate
from legal.rates import RateTable


class RatePeriod(BaseModel):
    """One period at one rate: dates, rate, why that rate, and its provenance."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    days: int
    rate: Decimal
    half_year: str
    """The half-year whose rate applies, e.g. "2025 H1" (for a public buyer, the
    half-year in which interest started, R2192-31)."""
    basis: str
    article: str
    status: Literal["official", "reported"]
    source: str


def _describe(
    kind: DebtorKind, half: HalfYear, rate: Decimal, rates: RateTable, contract: Decimal | None
) -> tuple[str, str]:
    """(basis, article) of ``rate`` for ``half``."""
    row = rates.row(half)
    on = half.first_day
    if kind is DebtorKind.PUBLIC:
        basis = (
            f"ECB rate {format_rate(row.ecb_rate)} % on {on}, first day of the half-year "
            f"interest started, + 8 points, fixed for the whole period"
        )
        return basis, "C. commande publique R2192-31"
    if kind is DebtorKind.CONSUMER:
        return (
            f"legal interest rate of {half.label}, other cases",
            "C. civ. 1231-6; C. mon. fin. L313-2",
        )
    if contract is None:
        return f"ECB rate {format_rate(row.ecb_rate)} % on {on} + 10 points", "C. com. L441-10 II"
    if rate == contract:
        return f"contract rate {format_rate(contract)} %", "C. com. L441-10 II"
    basis = (
        f"3 x the legal interest rate of {half.label} (other cases), floor of the contract "
        f"rate of {format_rate(contract)} %"
    )
    return basis, "C. com. L441-10 II"


def rate_periods(
    kind: DebtorKind,
    segments: Sequence[Segment],
    rates: RateTable,
    *,
    due_date: date,
    contract_rate: Decimal | None = None,
) -> tuple[RatePeriod, ...]:
    """Group interest segments into the periods a letter states."""
    started = half_year_of(due_date + timedelta(days=1))
    periods: list[RatePeriod] = []
    for seg in segments:
        half = started if kind is DebtorKind.PUBLIC else half_year_of(seg.start)
        last = periods[-1] if periods else None
        if (
            last is not None
            and last.rate == seg.rate
            and last.half_year == half.label
            and last.end + timedelta(days=1) == seg.start
        ):
            periods[-1] = last.model_copy(update={"end": seg.end, "days": last.days + seg.days})
            continue
        basis, article = _describe(kind, half, seg.rate, rates, contract_rate)
        row = rates.row(half)
        periods.append(
            RatePeriod(
                start=seg.start,
                end=seg.end,
                days=seg.days,
                rate=seg.rate,
                half_year=half.label,
                basis=basis,
                article=article,
                status=row.status,
                source=row.source,
            )
        )
    return tuple(periods)
