"""Agreed payment terms are flagged, never changed (L441-10 I, L441-11, R2192-10)."""

from datetime import date
from typing import Any

from legal.kinds import DebtorKind
from legal.payment_terms import check_payment_terms, statutory_due_date

INVOICE = date(2025, 1, 15)


def codes(**kwargs: Any) -> list[str]:
    """Warning codes for an invoice issued on INVOICE."""
    return [w.code for w in check_payment_terms(invoice_date=INVOICE, **kwargs)]


def test_sixty_days_from_the_invoice_date() -> None:
    assert codes(due_date=date(2025, 3, 16), debtor_kind="business") == []
    warnings = check_payment_terms(
        invoice_date=INVOICE, due_date=date(2025, 3, 17), debtor_kind=DebtorKind.BUSINESS
    )
    assert [w.code for w in warnings] == ["TERM_ABOVE_CAP"]
    assert warnings[0].article == "C. com. L441-10 I"
    assert "2025-03-16" in warnings[0].message_en
    assert "2025-03-16" in warnings[0].message_fr


def test_forty_five_days_end_of_month_has_two_computations() -> None:
    # 15 Jan + 45 days = 1 Mar -> end of month 31 Mar; end of Jan + 45 days = 17 Mar.
    eom = {"debtor_kind": "business", "basis": "end_of_month_45"}
    assert codes(due_date=date(2025, 3, 17), **eom) == []
    assert codes(due_date=date(2025, 3, 31), **eom) == ["EOM_COMPUTATION_CHECK"]
    assert codes(due_date=date(2025, 4, 1), **eom) == ["TERM_ABOVE_CAP"]


def test_periodic_invoices_forty_five_days() -> None:
    periodic = {"debtor_kind": "business", "basis": "periodic"}
    assert codes(due_date=date(2025, 3, 1), **periodic) == []
    assert codes(due_date=date(2025, 3, 2), **periodic) == ["TERM_ABOVE_CAP"]


def test_sector_caps() -> None:
    food = {"debtor_kind": "business", "sector": "perishable_food"}
    delivered = date(2025, 1, 10)
    assert codes(due_date=date(2025, 2, 9), delivery_date=delivered, **food) == []
    assert codes(due_date=date(2025, 2, 10), delivery_date=delivered, **food) == ["SECTOR_CAP"]
    assert codes(due_date=date(2025, 2, 1), **food) == ["DELIVERY_DATE_MISSING"]
    drinks = {"debtor_kind": "business", "sector": "alcoholic_drinks", "delivery_date": delivered}
    assert codes(due_date=date(2025, 3, 2), **drinks) == []
    assert codes(due_date=date(2025, 3, 3), **drinks) == ["SECTOR_CAP"]
    transport = {"debtor_kind": "business", "sector": "transport"}
    assert codes(due_date=date(2025, 2, 15), **transport) == ["SECTOR_CAP"]


def test_public_buyers_global_payment_period() -> None:
    assert codes(due_date=date(2025, 2, 14), debtor_kind="public") == []
    assert codes(due_date=date(2025, 2, 15), debtor_kind="public") == ["PUBLIC_TERM_ABOVE_CAP"]
    hospital = {"debtor_kind": "public", "public_buyer": "public_hospital"}
    assert codes(due_date=date(2025, 3, 6), **hospital) == []
    assert codes(due_date=date(2025, 3, 7), **hospital) == ["PUBLIC_TERM_ABOVE_CAP"]


def test_consumers_are_not_flagged() -> None:
    assert codes(due_date=date(2026, 1, 1), debtor_kind="consumer") == []


def test_no_agreed_term_means_thirty_days_after_receipt() -> None:
    assert statutory_due_date(date(2025, 1, 15)) == date(2025, 2, 14)
