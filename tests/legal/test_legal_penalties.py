"""Late-payment interest: B2B penalties, public buyers, consumers."""

from datetime import date
from decimal import Decimal

import pytest

from legal.accrual import Payment
from legal.errors import LegalError, RateNotConfigured
from legal.penalties import b2b_penalties, consumer_interest, public_interest
from legal.rates import RateTable

DUE = date(2025, 3, 31)
PRINCIPAL = Decimal("12000.00")


def test_partial_payment_reduces_the_base_from_the_next_day(rates: RateTable) -> None:
    paid = [Payment(on=date(2025, 5, 15), amount=Decimal("2000.00"))]
    result = b2b_penalties(PRINCIPAL, DUE, date(2025, 6, 30), rates, paid)
    rows = [(s.start, s.end, s.days, s.base, s.amount) for s in result.segments]
    assert rows == [
        (date(2025, 4, 1), date(2025, 5, 15), 45, Decimal("12000.00"), Decimal("194.55")),
        (date(2025, 5, 16), date(2025, 6, 30), 46, Decimal("10000.00"), Decimal("165.73")),
    ]
    # (7,101,000 + 6,049,000) / 36,500 = 360.2739...: rounded once, not 194.55 + 165.73.
    assert result.total == Decimal("360.27")


def test_no_interest_once_the_principal_is_paid(rates: RateTable) -> None:
    paid = [Payment(on=date(2025, 4, 10), amount=PRINCIPAL)]
    result = b2b_penalties(PRINCIPAL, DUE, date(2025, 9, 15), rates, paid)
    assert [(s.start, s.end) for s in result.segments] == [(date(2025, 4, 1), date(2025, 4, 10))]
    assert result.total == Decimal("43.23")  # 12000 x 13.15 % x 10 / 365 = 43.2329


def test_nothing_accrues_until_the_day_after_the_due_date(rates: RateTable) -> None:
    assert b2b_penalties(PRINCIPAL, DUE, DUE, rates).total == Decimal("0.00")
    assert b2b_penalties(PRINCIPAL, DUE, date(2025, 4, 1), rates).total == Decimal("4.32")


def test_contract_rate_below_the_floor_is_raised_to_3_times_legal_rate(rates: RateTable) -> None:
    result = b2b_penalties(
        PRINCIPAL, date(2025, 6, 30), date(2025, 7, 31), rates, contract_rate=Decimal("5.00")
    )
    assert [s.rate for s in result.segments] == [Decimal("8.28")]
    assert any("8.28 %" in note and "L441-10 II" in note for note in result.notes)


def test_contract_rate_above_the_floor_applies(rates: RateTable) -> None:
    result = b2b_penalties(PRINCIPAL, DUE, date(2025, 9, 15), rates, contract_rate=Decimal("15"))
    assert {s.rate for s in result.segments} == {Decimal("15")}
    assert result.notes == ()


def test_contract_rate_floor_needs_the_legal_rate(rates: RateTable) -> None:
    with pytest.raises(RateNotConfigured) as error:
        b2b_penalties(
            PRINCIPAL, date(2026, 6, 30), date(2026, 7, 31), rates, contract_rate=Decimal("20")
        )
    assert str(error.value) == "legal interest rate for 2026 H2 not configured"


def test_public_buyer_rate_is_fixed_at_ecb_of_the_starting_half_year_plus_8(
    rates: RateTable,
) -> None:
    result = public_interest(PRINCIPAL, DUE, date(2025, 9, 15), rates)
    rows = [(s.start, s.end, s.days, s.rate, s.amount) for s in result.segments]
    # 12000 x 11.15 % x 168 / 365 = 615.8466
    assert rows == [(date(2025, 4, 1), date(2025, 9, 15), 168, Decimal("11.15"), Decimal("615.85"))]
    assert result.total == Decimal("615.85")
    later = public_interest(PRINCIPAL, date(2025, 6, 30), date(2026, 3, 1), rates)
    assert {s.rate for s in later.segments} == {Decimal("10.15")}


def test_consumer_owes_nothing_without_formal_notice(rates: RateTable) -> None:
    result = consumer_interest(PRINCIPAL, DUE, date(2025, 9, 15), rates, None)
    assert result.total == Decimal("0.00")
    assert result.segments == ()
    assert "1231-6" in result.notes[0]


def test_consumer_owes_legal_interest_from_the_formal_notice(rates: RateTable) -> None:
    result = consumer_interest(PRINCIPAL, DUE, date(2025, 9, 15), rates, date(2025, 6, 15))
    rows = [(s.start, s.end, s.days, s.rate, s.amount) for s in result.segments]
    assert rows == [
        (date(2025, 6, 16), date(2025, 6, 30), 15, Decimal("3.71"), Decimal("18.30")),
        (date(2025, 7, 1), date(2025, 9, 15), 77, Decimal("2.76"), Decimal("69.87")),
    ]
    assert result.total == Decimal("88.17")  # 3,218,040 / 36,500 = 88.1654


def test_formal_notice_before_due_date_starts_interest_at_due_date(rates: RateTable) -> None:
    result = consumer_interest(PRINCIPAL, DUE, date(2025, 4, 30), rates, date(2025, 3, 1))
    assert result.segments[0].start == date(2025, 4, 1)
    assert "precedes the due date" in result.notes[0]


def test_missing_half_year_is_an_explicit_error(rates: RateTable) -> None:
    with pytest.raises(RateNotConfigured) as error:
        b2b_penalties(PRINCIPAL, DUE, date(2027, 1, 10), rates)
    assert str(error.value) == "rate for 2027 H1 not configured"
    with pytest.raises(RateNotConfigured) as legal_error:
        consumer_interest(PRINCIPAL, DUE, date(2026, 7, 1), rates, date(2025, 5, 1))
    assert str(legal_error.value) == "legal interest rate for 2026 H2 not configured"


def test_table_without_2026_h2_says_so(rates: RateTable) -> None:
    trimmed = RateTable(version="test", rows=rates.rows[:-1])
    with pytest.raises(RateNotConfigured, match=r"^rate for 2026 H2 not configured$"):
        b2b_penalties(PRINCIPAL, date(2026, 6, 1), date(2026, 7, 1), trimmed)


def test_reported_rate_is_flagged_in_the_notes(rates: RateTable) -> None:
    result = b2b_penalties(PRINCIPAL, date(2026, 6, 30), date(2026, 7, 10), rates)
    assert [s.rate for s in result.segments] == [Decimal("12.40")]
    assert any("reported" in note for note in result.notes)


@pytest.mark.parametrize(
    "payment",
    [
        Payment(on=date(2025, 10, 1), amount=Decimal("10.00")),  # after the as-of date
        Payment(on=date(2025, 5, 1), amount=Decimal("-1.00")),
        Payment(on=date(2025, 5, 1), amount=Decimal("1.001")),
    ],
)
def test_invalid_payments_are_rejected(rates: RateTable, payment: Payment) -> None:
    with pytest.raises(LegalError):
        b2b_penalties(PRINCIPAL, DUE, date(2025, 9, 15), rates, [payment])


@pytest.mark.parametrize("principal", [Decimal("0"), Decimal("-5"), Decimal("1.005")])
def test_invalid_principal_is_rejected(rates: RateTable, principal: Decimal) -> None:
    with pytest.raises(LegalError):
        b2b_penalties(principal, DUE, date(2025, 9, 15), rates)


SENT = date(2025, 6, 10)
PRESENTED = date(2025, 6, 15)


def test_consumer_interest_c_civ_1231_6_1344_1_runs_from_first_presentation(
    rates: RateTable,
) -> None:
    """Interest counts from the day the notice reached the debtor, not its sending."""
    result = consumer_interest(
        PRINCIPAL, DUE, date(2025, 9, 15), rates, SENT, formal_notice_presented_on=PRESENTED
    )
    assert result.segments[0].start == date(2025, 6, 16)
    assert result.total == Decimal("88.17")  # same as a notice dated the 15th
    assert result.start == date(2025, 6, 16)
    assert "first presentation on 2025-06-15" in result.start_basis
    assert "1344-1" in result.start_basis


def test_consumer_interest_c_civ_1231_6_from_sending_only_when_presentation_unknown(
    rates: RateTable,
) -> None:
    """The old call (sending date only) keeps its numbers and says which date it used."""
    result = consumer_interest(PRINCIPAL, DUE, date(2025, 9, 15), rates, SENT)
    # 12000 x (3.71 % x 20 + 2.76 % x 77) / 365 = 94.2641
    assert (result.start, result.total) == (date(2025, 6, 11), Decimal("94.26"))
    assert "sending on 2025-06-10" in result.start_basis
    assert "first presentation was not given" in result.start_basis


def test_consumer_interest_c_civ_1344_1_presentation_cannot_precede_sending(
    rates: RateTable,
) -> None:
    with pytest.raises(LegalError, match="before it was sent"):
        consumer_interest(
            PRINCIPAL,
            DUE,
            date(2025, 9, 15),
            rates,
            SENT,
            formal_notice_presented_on=date(2025, 6, 9),
        )


def test_consumer_interest_c_civ_1231_6_presentation_alone_is_enough(rates: RateTable) -> None:
    result = consumer_interest(
        PRINCIPAL, DUE, date(2025, 9, 15), rates, None, formal_notice_presented_on=PRESENTED
    )
    assert result.total == Decimal("88.17")


def test_consumer_interest_c_civ_1231_6_presented_before_due_date_starts_at_due_date(
    rates: RateTable,
) -> None:
    result = consumer_interest(
        PRINCIPAL, DUE, date(2025, 4, 30), rates, None, formal_notice_presented_on=date(2025, 3, 1)
    )
    assert result.start == date(2025, 4, 1)
    assert result.notes[0].startswith("formal notice presented on 2025-03-01 precedes")
    assert "due date" in result.start_basis


def test_b2b_and_public_interest_say_they_start_the_day_after_the_due_date(
    rates: RateTable,
) -> None:
    """C. com. L441-10 II and C. commande publique L2192-13: no notice needed."""
    b2b = b2b_penalties(PRINCIPAL, DUE, date(2025, 9, 15), rates)
    public = public_interest(PRINCIPAL, DUE, date(2025, 9, 15), rates)
    assert b2b.start == public.start == date(2025, 4, 1)
    assert "L441-10 II" in b2b.start_basis
    assert "L2192-13" in public.start_basis
    assert b2b_penalties(PRINCIPAL, DUE, DUE, rates).start is None


def test_contract_rate_floor_in_2024_h1_uses_the_arrete_of_21_dec_2023(rates: RateTable) -> None:
    """C. com. L441-10 II: 3 x 5.07 % = 15.21 %, above ECB + 10 (14.50 %) in 2024 H1."""
    result = b2b_penalties(
        PRINCIPAL, date(2024, 1, 31), date(2024, 2, 29), rates, contract_rate=Decimal("12")
    )
    assert [s.rate for s in result.segments] == [Decimal("15.21")]
