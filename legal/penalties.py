"""Late-payment interest for the three kinds of debtor.

- Business (C. com. L441-10 II, D441-5): statutory rate = ECB + 10 points per
  half-year, or a contract rate never below 3 x the legal interest rate
  ("other cases") of the half-year; runs from the day after the due date.
- Public buyer (C. commande publique L2192-13, R2192-31): ECB rate in force on
  the first day of the half-year in which interest started + 8 points, fixed
  for the whole period.
- Consumer (C. civ. 1231-6, 1344-1): legal interest rate ("other cases", the
  creditor being a business), only from the formal notice, counted from the day
  it reached the debtor (its first presentation; a letter "avisé non réclamé"
  still counts as presented), not from its sending.

Each result says in ``start`` / ``start_basis`` which starting date was used.

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
    result = accrue(principal, paid, due_date, as_of, rule)
    return _started(result, due_date, "the day after the due date (C. com. L441-10 II)")


def _started(result: InterestResult, after: date, why: str) -> InterestResult:
    """``result`` with its starting day (the day after ``after``) and why."""
    if not result.segments:
        return result
    start = after + timedelta(days=1)
    return result.model_copy(update={"start": start, "start_basis": f"{start}: {why}"})


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

    result = accrue(principal, paid, due_date, as_of, rule, split_half_years=False)
    return _started(
        result, due_date, "the day after the payment deadline (C. commande publique L2192-13)"
    )


def consumer_interest(
    principal: Decimal,
    due_date: date,
    as_of: date,
    rates: RateTable,
    formal_notice_date: date | None,
    payments: Sequence[Payment] = (),
    *,
    formal_notice_presented_on: date | None = None,
) -> InterestResult:
    """Legal interest owed by a consumer, from the formal notice only
    (C. civ. 1231-6, 1344-1); zero without a formal notice.

    Interest counts from the day the notice reached the debtor: pass its first
    presentation as ``formal_notice_presented_on`` (interest from the next day,
    as for the notice's own deadline). ``formal_notice_date`` is its sending
    date; used alone (the presentation not known) it is the start, as before,
    and ``start_basis`` says so. Zero while neither is known.
    """
    principal = check_amount(principal, "principal")
    paid = check_payments(payments, as_of)
    sent = formal_notice_date
    presented = formal_notice_presented_on
    if presented is not None and sent is not None and presented < sent:
        raise LegalError(f"formal notice presented on {presented}, before it was sent on {sent}")
    notice = presented if presented is not None else sent
    if notice is None:
        note = "no formal notice: no interest is owed (C. civ. 1231-6, 1344-1)"
        return InterestResult(notes=(note,))
    start = max(due_date, notice)

    def rule(half: HalfYear) -> tuple[Decimal, str | None]:
        rate = rates.legal_rate(half)
        return rate, f"{half.label}: legal interest rate, other cases (C. civ. 1231-6)"

    result = accrue(principal, paid, start, as_of, rule)
    if presented is not None:
        why = f"the day after the formal notice's first presentation on {presented}"
    else:
        why = (
            f"the day after the formal notice's sending on {notice} (its first presentation "
            f"was not given; the law counts from it)"
        )
    if notice < due_date:
        why = f"the day after the due date (the formal notice of {notice} precedes it)"
    result = _started(result, start, f"{why} (C. civ. 1231-6, 1344-1)")
    if notice >= due_date:
        return result
    what = (
        f"formal notice presented on {notice}"
        if presented is not None
        else f"formal notice of {notice}"
    )
    early = f"{what} precedes the due date: interest from {due_date}"
    return result.model_copy(update={"notes": (early, *result.notes)})
