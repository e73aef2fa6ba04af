"""The décompte: principal, paid, penalties, indemnity and total."""

from datetime import date
from decimal import Decimal

import pytest

from legal.accrual import Payment
from legal.errors import LegalError
from legal.kinds import DebtorKind
from legal.rates import RateTable
from legal.small_claims import small_claims_eligibility, small_claims_for_statement
from legal.statement import build_statement

DUE = date(2025, 3, 31)
AS_OF = date(2025, 9, 15)


def test_partial_payment_in_the_statement(rates: RateTable) -> None:
    statement = build_statement(
        principal=Decimal("12000.00"),
        due_date=DUE,
        as_of=date(2025, 6, 30),
        debtor_kind="business",
        rates=rates,
        payments=[Payment(on=date(2025, 5, 15), amount=Decimal("2000.00"))],
    )
    assert (statement.paid, statement.penalties) == (Decimal("2000.00"), Decimal("360.27"))
    assert statement.total == Decimal("10400.27")  # 12000 - 2000 + 360.27 + 40


def test_public_buyer_owes_interest_and_the_40_euro_indemnity(rates: RateTable) -> None:
    statement = build_statement(
        principal=Decimal("12000.00"),
        due_date=DUE,
        as_of=AS_OF,
        debtor_kind=DebtorKind.PUBLIC,
        rates=rates,
    )
    assert (statement.penalties, statement.indemnity) == (Decimal("615.85"), Decimal("40.00"))
    assert statement.total == Decimal("12655.85")


def test_consumer_never_pays_the_indemnity(rates: RateTable) -> None:
    statement = build_statement(
        principal=Decimal("12000.00"),
        due_date=DUE,
        as_of=AS_OF,
        debtor_kind=DebtorKind.CONSUMER,
        rates=rates,
        formal_notice_date=date(2025, 6, 15),
    )
    assert (statement.penalties, statement.indemnity) == (Decimal("88.17"), Decimal("0.00"))
    assert statement.total == Decimal("12088.17")


def test_no_indemnity_before_the_invoice_is_late(rates: RateTable) -> None:
    on_time = build_statement(
        principal=Decimal("500.00"),
        due_date=DUE,
        as_of=AS_OF,
        debtor_kind=DebtorKind.BUSINESS,
        rates=rates,
        payments=[Payment(on=DUE, amount=Decimal("500.00"))],
    )
    assert (on_time.penalties, on_time.indemnity, on_time.total) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    not_yet_due = build_statement(
        principal=Decimal("500.00"),
        due_date=DUE,
        as_of=DUE,
        debtor_kind=DebtorKind.BUSINESS,
        rates=rates,
    )
    assert not_yet_due.total == Decimal("500.00")


def test_payments_covering_penalties_leave_a_nil_balance(rates: RateTable) -> None:
    statement = build_statement(
        principal=Decimal("12000.00"),
        due_date=DUE,
        as_of=AS_OF,
        debtor_kind=DebtorKind.BUSINESS,
        rates=rates,
        payments=[Payment(on=AS_OF, amount=Decimal("12741.00"))],
    )
    assert statement.total == Decimal("0.00")
    assert statement.notes


def test_contract_rate_is_refused_for_consumers(rates: RateTable) -> None:
    with pytest.raises(LegalError):
        build_statement(
            principal=Decimal("100.00"),
            due_date=DUE,
            as_of=AS_OF,
            debtor_kind=DebtorKind.CONSUMER,
            rates=rates,
            contract_rate=Decimal("10"),
        )


def test_unknown_debtor_kind_is_a_legal_error(rates: RateTable) -> None:
    with pytest.raises(LegalError, match="unknown debtor kind"):
        build_statement(
            principal=Decimal("100.00"), due_date=DUE, as_of=AS_OF, debtor_kind="x", rates=rates
        )


def test_small_claims_ceiling_is_5000_euros_principal_and_interest() -> None:
    assert small_claims_eligibility(Decimal("4900.00"), Decimal("100.00")).eligible
    assert not small_claims_eligibility(Decimal("4900.00"), Decimal("100.01")).eligible


def test_small_claims_from_a_statement_ignores_the_indemnity(rates: RateTable) -> None:
    statement = build_statement(
        principal=Decimal("4900.00"),
        due_date=DUE,
        as_of=date(2025, 4, 30),
        debtor_kind=DebtorKind.BUSINESS,
        rates=rates,
    )
    check = small_claims_for_statement(statement)
    # 4900 x 13.15 % x 30 / 365 = 52.96; the 40 EUR indemnity is not counted.
    assert (check.amount, check.eligible) == (Decimal("4952.96"), True)
    assert statement.total > Decimal("4990")
