"""What a formal notice must state, as data on the statement (C. civ. 1344 as practised:
the rate of each period, the periods, the date amounts are computed to; C. civ. 1343-1
imputation), and the small-claims request (CPCE L125-1)."""

from datetime import date
from decimal import Decimal

import pytest

from legal.accrual import Payment
from legal.kinds import DebtorKind
from legal.rates import RateTable
from legal.small_claims import (
    SMALL_CLAIMS_CEILING,
    small_claims_for_statement,
    small_claims_request,
)
from legal.statement import Statement, build_statement

DUE = date(2025, 3, 31)
PRINCIPAL = Decimal("12000.00")


def statement(rates: RateTable, **kwargs: object) -> Statement:
    args: dict[str, object] = {
        "principal": PRINCIPAL,
        "due_date": DUE,
        "as_of": date(2025, 9, 15),
        "debtor_kind": DebtorKind.BUSINESS,
        "rates": rates,
    }
    args.update(kwargs)
    return build_statement(**args)  # type: ignore[arg-type]


def test_c_civ_1344_formal_notice_states_each_period_its_rate_and_the_as_of_date(
    rates: RateTable,
) -> None:
    """default-policies.md example 1: two periods, 13.15 % then 12.15 %, to 2025-09-15."""
    result = statement(rates)
    assert result.as_of == date(2025, 9, 15)
    assert result.interest_start == date(2025, 4, 1)
    periods = [(p.start, p.end, p.days, p.rate, p.half_year) for p in result.rate_periods]
    assert periods == [
        (date(2025, 4, 1), date(2025, 6, 30), 91, Decimal("13.15"), "2025 H1"),
        (date(2025, 7, 1), date(2025, 9, 15), 77, Decimal("12.15"), "2025 H2"),
    ]
    first = result.rate_periods[0]
    assert first.basis == "ECB rate 3.15 % on 2025-01-01 + 10 points"
    assert (first.article, first.status) == ("C. com. L441-10 II", "official")
    assert "18 Dec 2024" in first.source


def test_c_civ_1344_a_payment_splits_segments_not_periods(rates: RateTable) -> None:
    paid = [Payment(on=date(2025, 5, 15), amount=Decimal("2000.00"))]
    result = statement(rates, as_of=date(2025, 6, 30), payments=paid)
    assert len(result.segments) == 2
    assert [(p.start, p.end, p.days) for p in result.rate_periods] == [
        (date(2025, 4, 1), date(2025, 6, 30), 91)
    ]


def test_c_civ_1344_public_buyer_period_is_one_fixed_rate_r2192_31(rates: RateTable) -> None:
    result = statement(rates, debtor_kind=DebtorKind.PUBLIC, as_of=date(2026, 3, 1))
    (period,) = result.rate_periods
    assert (period.rate, period.half_year, period.end) == (
        Decimal("11.15"),
        "2025 H1",
        date(2026, 3, 1),
    )
    assert "+ 8 points, fixed" in period.basis


def test_c_civ_1344_consumer_periods_and_start_from_presentation_c_civ_1231_6(
    rates: RateTable,
) -> None:
    result = statement(
        rates,
        debtor_kind=DebtorKind.CONSUMER,
        formal_notice_date=date(2025, 6, 10),
        formal_notice_presented_on=date(2025, 6, 15),
    )
    assert result.penalties == Decimal("88.17")
    assert result.interest_start == date(2025, 6, 16)
    assert "first presentation on 2025-06-15" in result.interest_start_basis
    assert [(p.rate, p.article) for p in result.rate_periods] == [
        (Decimal("3.71"), "C. civ. 1231-6; C. mon. fin. L313-2"),
        (Decimal("2.76"), "C. civ. 1231-6; C. mon. fin. L313-2"),
    ]


def test_c_civ_1344_contract_rate_floor_period_says_why(rates: RateTable) -> None:
    """C. com. L441-10 II: the floor (3 x legal rate) is stated as the period's basis."""
    result = statement(
        rates, due_date=date(2025, 6, 30), as_of=date(2025, 7, 31), contract_rate=Decimal("5")
    )
    (period,) = result.rate_periods
    assert period.rate == Decimal("8.28")
    assert period.basis.startswith("3 x the legal interest rate of 2025 H2")


def test_c_civ_1344_reported_rate_is_visible_on_its_period(rates: RateTable) -> None:
    result = statement(rates, due_date=date(2026, 6, 30), as_of=date(2026, 7, 10))
    (period,) = result.rate_periods
    assert (period.status, period.rate) == ("reported", Decimal("12.40"))


def test_c_civ_1343_1_payments_imputed_to_principal_first(rates: RateTable) -> None:
    """recouvre imputes to the principal first (the Code would take interest first)."""
    paid = [
        Payment(on=date(2025, 6, 30), amount=Decimal("1500.00")),
        Payment(on=date(2025, 5, 15), amount=Decimal("11000.00")),
    ]
    result = statement(rates, payments=paid)
    imputation = result.imputation
    assert (imputation.rule, imputation.article) == ("principal_first", "C. civ. 1343-1")
    assert "d'abord sur le principal" in imputation.explanation_fr
    rows = [
        (i.on, i.to_principal, i.beyond_principal, i.principal_after) for i in imputation.payments
    ]
    assert rows == [
        (date(2025, 5, 15), Decimal("11000.00"), Decimal("0.00"), Decimal("1000.00")),
        (date(2025, 6, 30), Decimal("1000.00"), Decimal("500.00"), Decimal("0.00")),
    ]
    assert result.total == PRINCIPAL - Decimal("12500.00") + result.penalties + result.indemnity


def test_c_civ_1343_1_imputation_is_stated_even_without_payments(rates: RateTable) -> None:
    assert statement(rates).imputation.payments == ()
    assert statement(rates).imputation.rule == "principal_first"


def test_cpce_l125_1_request_leaves_the_40_euro_indemnity_out_of_amount_and_ceiling(
    rates: RateTable,
) -> None:
    """4960 + 35.74 = 4995.74 is requested and eligible; with the indemnity the total
    (5035.74) would exceed 5,000 EUR, but the indemnity is neither counted nor asked."""
    result = statement(rates, principal=Decimal("4960.00"), as_of=date(2025, 4, 20))
    request = small_claims_request(result)
    assert (request.principal, request.interest, request.amount) == (
        Decimal("4960.00"),
        Decimal("35.74"),
        Decimal("4995.74"),
    )
    assert (request.indemnity_left_out, request.eligible) == (Decimal("40.00"), True)
    assert result.total == Decimal("5035.74") > SMALL_CLAIMS_CEILING
    assert "40 euros" in request.note_fr


@pytest.mark.parametrize(
    ("principal", "as_of", "paid"),
    [
        (Decimal("4900.00"), date(2025, 4, 30), None),
        (Decimal("5000.00"), date(2025, 4, 1), None),
        (Decimal("6000.00"), date(2025, 9, 15), Decimal("1500.00")),
        (Decimal("1000.00"), date(2025, 9, 15), Decimal("1010.00")),  # beyond the principal
    ],
)
def test_cpce_l125_1_ceiling_check_and_request_use_the_same_amount(
    rates: RateTable, principal: Decimal, as_of: date, paid: Decimal | None
) -> None:
    """The ceiling check and the request agree, and both equal total - indemnity
    (what workflows/case_steps.py compares today)."""
    payments = [] if paid is None else [Payment(on=date(2025, 4, 15), amount=paid)]
    result = statement(rates, principal=principal, as_of=as_of, payments=payments)
    request = small_claims_request(result)
    check = small_claims_for_statement(result)
    assert (check.amount, check.eligible) == (request.amount, request.eligible)
    assert request.amount == max(result.total - result.indemnity, Decimal("0.00"))
