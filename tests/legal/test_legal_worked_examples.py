"""The four worked examples of default-policies.md, exact to the cent and day."""

from datetime import date
from decimal import Decimal

from legal.deadlines import deadline_in_days, deadline_in_months
from legal.kinds import DebtorKind
from legal.prescription import Interruption, compute_prescription
from legal.rates import RateTable
from legal.statement import build_statement
from legal.working_days import METROPOLITAN


def test_example_1_b2b_penalties_across_a_half_year_change(rates: RateTable) -> None:
    statement = build_statement(
        principal=Decimal("12000.00"),
        due_date=date(2025, 3, 31),
        as_of=date(2025, 9, 15),
        debtor_kind=DebtorKind.BUSINESS,
        rates=rates,
    )
    assert statement.principal == Decimal("12000.00")
    assert statement.paid == Decimal("0.00")
    assert statement.penalties == Decimal("701.00")
    assert statement.indemnity == Decimal("40.00")
    assert statement.total == Decimal("12741.00")
    segments = [(s.start, s.end, s.days, s.rate, s.amount) for s in statement.segments]
    assert segments == [
        (date(2025, 4, 1), date(2025, 6, 30), 91, Decimal("13.15"), Decimal("393.42")),
        (date(2025, 7, 1), date(2025, 9, 15), 77, Decimal("12.15"), Decimal("307.58")),
    ]
    assert sum(s.days for s in statement.segments) == 168


def test_example_2_one_month_from_31_january_ends_28_february() -> None:
    result = deadline_in_months(date(2025, 1, 31), 1, METROPOLITAN)
    assert result.last_day == date(2025, 2, 28)
    assert result.moved_from is None


def test_example_3_deadline_ending_on_8_may_moves_to_9_may() -> None:
    result = deadline_in_days(date(2025, 4, 30), 8, METROPOLITAN)
    assert result.unextended_last_day == date(2025, 5, 8)
    assert result.last_day == date(2025, 5, 9)
    assert result.moved_from == date(2025, 5, 8)
    assert "2025-05-08 is a public holiday" in result.reason
    assert "moved to the next working day" in result.reason


def test_example_4_prescription_restarted_by_a_partial_payment() -> None:
    plain = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS)
    assert (plain.years, plain.last_day) == (5, date(2025, 6, 18))
    payment = Interruption(on=date(2022, 3, 10), kind="partial_payment")
    restarted = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS, [payment])
    assert restarted.last_day == date(2027, 3, 10)
