"""A payment plan agreed for a debtor's invoices together becomes one plan per invoice:
each instalment imputed as a payment made on its due date would be (C. civ. 1342-10 al. 2:
due debts first, then the oldest, equal ones in proportion)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from legal import LegalError
from legal.allocation import allocate_plan

OLD = ("old", date(2026, 1, 31), Decimal("300.00"))
NEW = ("new", date(2026, 2, 28), Decimal("500.00"))


def test_c_civ_1342_10_each_instalment_pays_the_oldest_invoice_first() -> None:
    plans = allocate_plan(
        [NEW, OLD],
        [(date(2027, 1, 15), Decimal("400.00")), (date(2026, 12, 15), Decimal("400.00"))],
    )
    assert plans == {
        "old": [(date(2026, 12, 15), Decimal("300.00"))],
        "new": [(date(2026, 12, 15), Decimal("100.00")), (date(2027, 1, 15), Decimal("400.00"))],
    }


def test_c_civ_1342_10_a_debt_not_yet_due_comes_after_the_due_ones() -> None:
    later = ("later", date(2027, 6, 30), Decimal("100.00"))
    plans = allocate_plan([later, OLD], [(date(2026, 12, 15), Decimal("400.00"))])
    assert plans == {
        "old": [(date(2026, 12, 15), Decimal("300.00"))],
        "later": [(date(2026, 12, 15), Decimal("100.00"))],
    }


@pytest.mark.parametrize(("amount", "says"), [("900.00", "beyond"), ("700.00", "unplanned")])
def test_a_plan_must_total_the_open_balances(amount: str, says: str) -> None:
    with pytest.raises(LegalError, match=says):
        allocate_plan([OLD, NEW], [(date(2026, 12, 15), Decimal(amount))])
