"""A consumer's interest runs from the day the formal notice reached them (C. civ. 1231-6
and 1344-1: "à compter de la mise en demeure"), its first presentation, not its sending.
Dates in 2026 H1, whose legal rate is confirmed (2026 H2's is only reported)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from legal.rates import load_rate_table
from schemas.case import CaseView, FormalNoticeState
from tests.unit.reducer_cases import new_case
from workflows.claim import statement_for

RATES = load_rate_table()
DUE, SENT, AS_OF = date(2026, 1, 31), date(2026, 3, 2), date(2026, 6, 30)


def _noticed(kind: str, presented: date | None) -> CaseView:
    case = new_case(kind=kind, due=DUE)
    case.formal_notice = FormalNoticeState(
        sent_at=datetime.combine(SENT, datetime.min.time(), UTC),
        sent_on=SENT,
        first_presented_on=presented,
    )
    return case


def test_c_civ_1231_6_no_interest_while_the_notice_has_not_reached_the_consumer() -> None:
    statement = statement_for(_noticed("consumer", None), RATES, AS_OF)
    assert statement.penalties == Decimal("0.00")


def test_c_civ_1344_1_interest_runs_from_the_first_presentation() -> None:
    early = statement_for(_noticed("consumer", date(2026, 3, 5)), RATES, AS_OF)
    late = statement_for(_noticed("consumer", date(2026, 4, 10)), RATES, AS_OF)
    assert early.interest_start is not None and early.interest_start >= date(2026, 3, 5)
    assert early.penalties > late.penalties > Decimal("0")


def test_c_com_l441_10_a_business_owes_penalties_from_the_due_date_whatever_the_notice() -> None:
    sent_only = statement_for(_noticed("business", None), RATES, AS_OF)
    presented = statement_for(_noticed("business", date(2026, 4, 10)), RATES, AS_OF)
    assert sent_only.penalties == presented.penalties > Decimal("0")
