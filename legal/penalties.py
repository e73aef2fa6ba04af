"""Late-payment interest for the three kinds of debtor.

- Business (C. com. L441-10 II, D441-5): statutory rate = ECB + 10 points per
  half-year, or a contract rate never below 3 x the legal interest rate
  ("other cases") of the half-year; runs from the day after the due date.
- Public buyer (C. commande publique L2192-13, R2192-31): ECB rate in force on
  the first day of the half-year in which interest started + 8 points, fixed
  for the whole period.
- Consumer (C. civ. 1231-6, 1344-1): legal interest rate ("other cases", the
  creditor being a business), only from the formal notice.

All functions are pure: the rate table is passed in. Amounts are Decimal.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from legal.accrual import InterestResult, Payment, RateRule, accrue, check_payments
from legal.errors import LegalError
from legal.half_year import HalfYear, half_year_of
from legal.money import check_amount, format_rate
from legal.rates import RateTable

PUBLIC_MARGIN = Decimal("8")  # R2192-31: ECB rate + 8 points
CONTRACT_FLOOR_FACTOR = Decimal("3")  # L441-10 II: at least 3 x legal rate


def _reported(rates: RateTable, half: HalfYear) -> str | None:
    row = rates.row(half)
    if row.status == "reported":
        return f"{half.label}: ECB rate is reported, not confirmed ({row.source})"
    return None


def _statutory_rule(rates: RateTable) -> RateRule:
    def rule(half: HalfYear) -> tuple[Decimal, str | None]:
        return rates.b2b_rate(half), _reported(rates, half)

    return rule


def _contract_rule(rates: RateTable, contract_rate: Decimal) -> RateRule:
    def rule(half: HalfYear) -> tuple[Decimal, str | None]:
        floor = CONTRACT_FLOOR_FACTOR * rates.legal_rate(half)
        if contract_rate >= floor:
            return contract_rate, None
        note = (
            f"{half.label}: contract rate {format_rate(contract_rate)} % is below the "
            f"floor of 3 x the legal interest rate ({format_rate(floor)} %); "
            f"the floor applies (C. com. L441-10 II)"
        )
        return floor, note

    return rule


def b2b_penalties(
    principal: Decimal,
    due_date: date,
    as_of: date,
    rates: RateTable,
    payments: Sequence[Payment] = (),
    contract_rate: Decimal | None = None,
) -> InterestResult:
    """Penalties owed by a business debtor through ``as_of`` (C. com. L441-10 II).

    A ``contract_rate`` below the floor is raised to the floor (3 x legal rate,
    "other cases") for that half-year, and a note says so.
    """
    principal = check_amount(principal, "principal")
    paid = check_payments(payments, as_of)
    if contract_rate is None:
        rule = _statutory_rule(rates)
    else:
        if not contract_rate.is_finite() or contract_rate < 0:
            raise LegalError(f"contract rate must be a positive percentage: {contract_rate}")
        rule = _contract_rule(rates, contract_rate)
    return accrue(principal, paid, due_date, as_of, rule)


def public_interest(
    principal: Decimal,
    due_date: date,
    as_of: date,
    rates: RateTable,
    payments: Sequence[Payment] = (),
) -> InterestResult:
    """Moratorium interest owed by a public buyer (L2192-13, R2192-31)."""
    principal = check_amount(principal, "principal")
    paid = check_payments(payments, as_of)
    started = half_year_of(due_date + timedelta(days=1))

    def rule(_: HalfYear) -> tuple[Decimal, str | None]:
        rate = rates.ecb_rate(started) + PUBLIC_MARGIN
        note = (
            f"R2192-31: ECB rate on the first day of {started.label} + 8 points = "
            f"{format_rate(rate)} %, fixed for the whole period"
        )
        reported = _reported(rates, started)
        return rate, note if reported is None else f"{note}; {reported}"

    return accrue(principal, paid, due_date, as_of, rule, split_half_years=False)


def consumer_interest(
    principal: Decimal,
    due_date: date,
    as_of: date,
    rates: RateTable,
    formal_notice_date: date | None,
    payments: Sequence[Payment] = (),
) -> InterestResult:
    """Legal interest owed by a consumer, from the formal notice only
    (C. civ. 1231-6, 1344-1); zero without a formal notice."""
    principal = check_amount(principal, "principal")
    paid = check_payments(payments, as_of)
    if formal_notice_date is None:
        note = "no formal notice: no interest is owed (C. civ. 1231-6, 1344-1)"
        return InterestResult(notes=(note,))
    start = max(due_date, formal_notice_date)

    def rule(half: HalfYear) -> tuple[Decimal, str | None]:
        rate = rates.legal_rate(half)
        return rate, f"{half.label}: legal interest rate, other cases (C. civ. 1231-6)"

    result = accrue(principal, paid, start, as_of, rule)
    if formal_notice_date >= due_date:
        return result
    early = f"formal notice of {formal_notice_date} precedes the due date: interest from {due_date}"
    return result.model_copy(update={"notes": (early, *result.notes)})
