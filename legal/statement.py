"""The statement of claim (décompte): principal, payments, interest, indemnity.

- Business debtor: penalties of C. com. L441-10 II + 40 EUR fixed recovery
  indemnity (D441-5).
- Public buyer: moratorium interest (R2192-31) + 40 EUR indemnity (D2192-35).
- Consumer: legal interest from the formal notice's first presentation
  (C. civ. 1231-6, 1344-1), no indemnity and never any collection fee (CPCE L111-8).

total = principal - paid + penalties + indemnity (the balance still claimed).

For letters (a formal notice states the rate of each period, the periods and the
date to which amounts are computed), the statement also carries ``rate_periods``,
``interest_start`` / ``interest_start_basis`` and ``imputation`` (principal first).
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from legal.accrual import InterestResult, Payment, Segment, check_payments, outstanding_on
from legal.errors import LegalError
from legal.imputation import Imputation, impute_payments
from legal.kinds import DebtorKind, parse_debtor_kind
from legal.money import ZERO, check_amount
from legal.penalties import b2b_penalties, consumer_interest, public_interest
from legal.rate_periods import RatePeriod, rate_periods
from legal.rates import RateTable

FIXED_INDEMNITY = Decimal("40.00")  # C. com. D441-5; C. commande publique D2192-35


class Statement(BaseModel):
    """A décompte as of one date; all amounts in euros with two decimals."""

    model_config = ConfigDict(frozen=True)

    debtor_kind: DebtorKind
    due_date: date
    as_of: date
    """The date to which all amounts are computed (interest runs through it)."""
    principal: Decimal
    paid: Decimal
    penalties: Decimal
    indemnity: Decimal
    total: Decimal
    segments: tuple[Segment, ...]
    notes: tuple[str, ...]
    rate_table_version: str
    interest_start: date | None = None
    """First day of interest; None when none runs."""
    interest_start_basis: str = ""
    """Which starting date was used and why (e.g. the notice's first presentation)."""
    rate_periods: tuple[RatePeriod, ...] = ()
    """Each period with its rate, why that rate, and the rate-table row's source."""
    imputation: Imputation = Imputation()
    """How the payments were imputed: principal first, which claims less than the
    interest first of C. civ. 1343-1."""


def _interest(
    kind: DebtorKind,
    principal: Decimal,
    due_date: date,
    as_of: date,
    rates: RateTable,
    formal_notice_date: date | None,
    payments: Sequence[Payment],
    contract_rate: Decimal | None,
    formal_notice_presented_on: date | None,
) -> InterestResult:
    if contract_rate is not None and kind is not DebtorKind.BUSINESS:
        raise LegalError("a contract rate applies only to business debtors (L441-10 II)")
    if kind is DebtorKind.BUSINESS:
        return b2b_penalties(principal, due_date, as_of, rates, payments, contract_rate)
    if kind is DebtorKind.PUBLIC:
        return public_interest(principal, due_date, as_of, rates, payments)
    return consumer_interest(
        principal,
        due_date,
        as_of,
        rates,
        formal_notice_date,
        payments,
        formal_notice_presented_on=formal_notice_presented_on,
    )


def build_statement(
    *,
    principal: Decimal,
    due_date: date,
    as_of: date,
    debtor_kind: DebtorKind | str,
    rates: RateTable,
    formal_notice_date: date | None = None,
    payments: Sequence[Payment] = (),
    contract_rate: Decimal | None = None,
    formal_notice_presented_on: date | None = None,
) -> Statement:
    """Compute the décompte of one invoice as of ``as_of`` (pure function).

    The 40 EUR indemnity is included for business and public debtors once the
    invoice is late (some principal still unpaid after the due date).
    Consumers: interest runs from the formal notice's first presentation
    (``formal_notice_presented_on``); ``formal_notice_date`` (its sending) is
    used only when the presentation is not given, and ``interest_start_basis``
    says which one was used.
    """
    kind = parse_debtor_kind(debtor_kind)
    principal = check_amount(principal, "principal")
    ordered = check_payments(payments, as_of)
    interest = _interest(
        kind,
        principal,
        due_date,
        as_of,
        rates,
        formal_notice_date,
        ordered,
        contract_rate,
        formal_notice_presented_on,
    )
    paid = sum((p.amount for p in ordered), ZERO)
    # Late = some principal still unpaid on the day after the due date.
    first_late_day = due_date + timedelta(days=1)
    late = as_of > due_date and outstanding_on(principal, ordered, first_late_day) > 0
    owes_indemnity = late and kind is not DebtorKind.CONSUMER
    indemnity = FIXED_INDEMNITY if owes_indemnity else ZERO
    notes = list(interest.notes)
    if paid > principal:
        notes.append("payments exceed the principal: the excess reduces the total")
    total = principal - paid + interest.total + indemnity
    return Statement(
        debtor_kind=kind,
        due_date=due_date,
        as_of=as_of,
        principal=principal,
        paid=check_amount(paid, "paid", allow_zero=True),
        penalties=interest.total,
        indemnity=indemnity,
        total=total,
        segments=interest.segments,
        notes=tuple(notes),
        rate_table_version=rates.version,
        interest_start=interest.start,
        interest_start_basis=interest.start_basis,
        rate_periods=rate_periods(
            kind, interest.segments, rates, due_date=due_date, contract_rate=contract_rate
        ),
        imputation=impute_payments(principal, ordered),
    )
