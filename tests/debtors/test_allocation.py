"""One payment across a debtor's invoices: C. civ. 1342-10 (legal/allocation.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legal.allocation import (
    Allocation,
    OpenInvoice,
    allocate_as_indicated,
    allocate_payment,
    check_indication,
)
from legal.errors import LegalError

D = Decimal
PAID_ON = date(2026, 3, 1)
JAN, FEB, APR = date(2026, 1, 15), date(2026, 2, 15), date(2026, 4, 15)


def pairs(allocation: Allocation) -> list[tuple[str, str]]:
    return [(case_id, str(amount)) for case_id, amount in allocation.pairs()]


LEGAL_ORDER_CASES = [
    pytest.param(
        [("late", FEB, D("300.00")), ("future", APR, D("500.00"))],
        "400.00",
        [("late", "300.00"), ("future", "100.00")],
        "0.00",
        id="c_civ_1342_10_due_debts_first",
    ),
    pytest.param(
        [("feb", FEB, D("300.00")), ("jan", JAN, D("200.00"))],
        "250.00",
        [("jan", "200.00"), ("feb", "50.00")],
        "0.00",
        id="c_civ_1342_10_oldest_due_first",
    ),
    pytest.param(
        [OpenInvoice("jan", JAN, D("200.00")), OpenInvoice("feb", FEB, D("300.00"), 1)],
        "250.00",
        [("feb", "250.00")],
        "0.00",
        id="c_civ_1342_10_most_interest_before_oldest",
    ),
    pytest.param(
        [("a", JAN, D("100.00")), ("b", JAN, D("200.00"))],
        "150.00",
        [("a", "50.00"), ("b", "100.00")],
        "0.00",
        id="c_civ_1342_10_all_equal_proportionally",
    ),
    pytest.param(
        [("a", JAN, D("100.00")), ("b", JAN, D("200.00"))],
        "100.00",
        [("a", "33.33"), ("b", "66.67")],
        "0.00",
        id="c_civ_1342_10_proportional_largest_remainder",
    ),
    pytest.param(
        [("c", JAN, D("1.00")), ("a", JAN, D("1.00")), ("b", JAN, D("1.00"))],
        "0.02",
        [("a", "0.01"), ("b", "0.01")],
        "0.00",
        id="c_civ_1342_10_equal_remainders_smaller_case_id_first",
    ),
    pytest.param(
        [("today", PAID_ON, D("100.00")), ("jan", JAN, D("100.00"))],
        "150.00",
        [("jan", "100.00"), ("today", "50.00")],
        "0.00",
        id="c_civ_1342_10_due_on_the_payment_day_is_due",
    ),
    pytest.param(
        [("may", date(2026, 5, 1), D("100.00")), ("apr", APR, D("100.00"))],
        "120.00",
        [("apr", "100.00"), ("may", "20.00")],
        "0.00",
        id="c_civ_1342_10_not_due_nearest_term_first",
    ),
    pytest.param(
        [("a", JAN, D("100.00")), ("b", APR, D("50.00"))],
        "200.00",
        [("a", "100.00"), ("b", "50.00")],
        "50.00",
        id="overpayment_reported_unallocated",
    ),
    pytest.param(
        [("paid", JAN, D("0.00")), ("open", FEB, D("80.00"))],
        "50.00",
        [("open", "50.00")],
        "0.00",
        id="zero_balances_skipped",
    ),
    pytest.param([], "10.00", [], "10.00", id="no_invoice_everything_unallocated"),
]


@pytest.mark.parametrize(("invoices", "amount", "expected", "unallocated"), LEGAL_ORDER_CASES)
def test_legal_order(
    invoices: list[OpenInvoice | tuple[str, date, Decimal]],
    amount: str,
    expected: list[tuple[str, str]],
    unallocated: str,
) -> None:
    allocation = allocate_payment(invoices, D(amount), PAID_ON)
    assert pairs(allocation) == expected
    assert str(allocation.unallocated) == unallocated
    assert allocation.method == "legal_order"
    assert allocation.article == "C. civ. 1342-10"


def test_c_civ_1342_10_shares_say_due_or_not_due() -> None:
    allocation = allocate_payment(
        [("late", FEB, D("300.00")), ("future", APR, D("500.00"))], D("400.00"), PAID_ON
    )
    assert [(s.case_id, s.basis) for s in allocation.shares] == [
        ("late", "due"),
        ("future", "not_due"),
    ]
    assert "1342-10" in allocation.explanation_fr and "1342-10" in allocation.explanation_en


def test_c_civ_1342_10_surplus_kept_off_invoices_not_due_when_asked() -> None:
    allocation = allocate_payment(
        [("late", FEB, D("300.00")), ("future", APR, D("500.00"))],
        D("400.00"),
        PAID_ON,
        include_not_due=False,
    )
    assert pairs(allocation) == [("late", "300.00")]
    assert allocation.unallocated == D("100.00")


INDICATED_CASES = [
    pytest.param(
        {"future": D("100")},
        "100.00",
        [("future", "100.00")],
        id="c_civ_1342_10_al_1_debtor_chooses_even_not_due",
    ),
    pytest.param(
        {"future": D("50.00")},
        "350.00",
        [("future", "50.00"), ("feb", "300.00")],
        id="c_civ_1342_10_al_1_rest_by_legal_order",
    ),
    pytest.param(
        {"feb": D("200.00"), "future": D("100.00")},
        "300.00",
        [("feb", "200.00"), ("future", "100.00")],
        id="c_civ_1342_10_al_1_several_invoices",
    ),
]


@pytest.mark.parametrize(("indicated", "amount", "expected"), INDICATED_CASES)
def test_debtor_indication(
    indicated: dict[str, Decimal], amount: str, expected: list[tuple[str, str]]
) -> None:
    invoices = [("feb", FEB, D("300.00")), ("future", APR, D("500.00"))]
    allocation = allocate_as_indicated(invoices, D(amount), PAID_ON, indicated)
    assert pairs(allocation) == expected
    assert allocation.method == "indicated"
    assert allocation.unallocated == D("0.00")
    assert allocation.shares[0].basis == "indicated"


def test_indicated_and_legal_shares_of_one_invoice_merge_in_pairs() -> None:
    invoices = [("feb", FEB, D("300.00")), ("future", APR, D("500.00"))]
    allocation = allocate_as_indicated(invoices, D("350.00"), PAID_ON, {"feb": D("50.00")})
    assert [(s.case_id, s.amount, s.basis) for s in allocation.shares] == [
        ("feb", D("50.00"), "indicated"),
        ("feb", D("250.00"), "due"),
        ("future", D("50.00"), "not_due"),
    ]
    assert allocation.pairs() == [("feb", D("300.00")), ("future", D("50.00"))]


@pytest.mark.parametrize(
    ("indicated", "message"),
    [
        pytest.param({"other": D("10")}, "not one of its open invoices", id="unknown-invoice"),
        pytest.param({"feb": D("300.01")}, "whose balance is 300.00", id="beyond-balance"),
        pytest.param(
            {"feb": D("200"), "future": D("200")}, "more than the payment", id="beyond-payment"
        ),
        pytest.param({"feb": D("0")}, "zero or negative", id="zero-share"),
        pytest.param({"feb": D("1.005")}, "more than 2 decimals", id="sub-cent"),
    ],
)
def test_c_civ_1342_10_al_1_indication_is_validated(
    indicated: dict[str, Decimal], message: str
) -> None:
    invoices = [("feb", FEB, D("300.00")), ("future", APR, D("500.00"))]
    with pytest.raises(LegalError, match=message):
        check_indication(invoices, D("300.00"), indicated)
    with pytest.raises(LegalError, match=message):
        allocate_as_indicated(invoices, D("300.00"), PAID_ON, indicated)


@pytest.mark.parametrize(
    ("invoices", "amount", "message"),
    [
        pytest.param([("a", JAN, D("1"))], D("0"), "zero or negative", id="zero-payment"),
        pytest.param([("a", JAN, D("1"))], D("-5"), "zero or negative", id="negative-payment"),
        pytest.param([("a", JAN, D("1"))], D("0.001"), "more than 2 decimals", id="sub-cent"),
        pytest.param([("a", JAN, D("-1"))], D("1"), "must not be negative", id="negative-bal"),
        pytest.param(
            [("a", JAN, D("1")), ("a", FEB, D("2"))], D("1"), "listed twice", id="duplicate"
        ),
        pytest.param([("", JAN, D("1"))], D("1"), "no case id", id="no-case-id"),
    ],
)
def test_bad_input_is_refused(
    invoices: list[tuple[str, date, Decimal]], amount: Decimal, message: str
) -> None:
    with pytest.raises(LegalError, match=message):
        allocate_payment(invoices, amount, PAID_ON)


# --- properties -------------------------------------------------------------------------

PROPERTIES = settings(database=None, max_examples=300, deadline=None)
cents = st.integers(0, 10_000_000).map(lambda c: D(c) / 100)
payments = st.integers(1, 20_000_000).map(lambda c: (D(c) / 100).quantize(D("0.01")))
invoice_lists = st.lists(
    st.tuples(
        st.integers(-60, 60).map(lambda d: PAID_ON + timedelta(days=d)),
        cents,
        st.integers(0, 2),
    ),
    max_size=8,
).map(
    lambda rows: [
        OpenInvoice(f"case-{n:02d}", due, balance.quantize(D("0.01")), rank)
        for n, (due, balance, rank) in enumerate(rows)
    ]
)


def _check_exact(allocation: Allocation, invoices: list[OpenInvoice], amount: Decimal) -> None:
    total = sum((s.amount for s in allocation.shares), D("0.00"))
    assert total + allocation.unallocated == amount
    balances = {i.case_id: i.balance for i in invoices}
    for case_id, share in allocation.pairs():
        assert D("0.00") < share <= balances[case_id], (case_id, share)
        assert share == share.quantize(D("0.01"))
    assert allocation.unallocated >= 0


@PROPERTIES
@given(invoices=invoice_lists, amount=payments)
def test_c_civ_1342_10_shares_sum_exactly_to_the_payment(
    invoices: list[OpenInvoice], amount: Decimal
) -> None:
    allocation = allocate_payment(invoices, amount, PAID_ON)
    _check_exact(allocation, invoices, amount)
    owed = sum((i.balance for i in invoices), D("0.00"))
    assert allocation.unallocated == max(D("0.00"), amount - owed)


@PROPERTIES
@given(invoices=invoice_lists, amount=payments)
def test_c_civ_1342_10_a_later_rank_is_paid_only_once_earlier_ones_are(
    invoices: list[OpenInvoice], amount: Decimal
) -> None:
    """Due before not due; more interest first; then the oldest; equal tiers pro rata."""
    allocation = allocate_payment(invoices, amount, PAID_ON)
    got = dict(allocation.pairs())

    def tier(i: OpenInvoice) -> tuple[bool, int, date]:
        return (i.due_date > PAID_ON, -i.interest_rank, i.due_date)

    live = [i for i in invoices if i.balance > 0]
    for paid in live:
        if got.get(paid.case_id):
            for earlier in live:
                if tier(earlier) < tier(paid):
                    assert got.get(earlier.case_id) == earlier.balance, (earlier, paid)
    # Within a tier paid in part, each share is within a cent of its exact proportion.
    tiers: dict[tuple[bool, int, date], list[OpenInvoice]] = {}
    for i in live:
        tiers.setdefault(tier(i), []).append(i)
    for members in tiers.values():
        received = sum((got.get(i.case_id, D(0)) for i in members), D("0.00"))
        owed = sum((i.balance for i in members), D("0.00"))
        if 0 < received < owed:
            for i in members:
                exact = received * i.balance / owed
                assert abs(got.get(i.case_id, D(0)) - exact) < D("0.01"), (i, exact)


@PROPERTIES
@given(invoices=invoice_lists, amount=payments, data=st.data())
def test_c_civ_1342_10_al_1_indicated_shares_are_kept_and_the_rest_is_exact(
    invoices: list[OpenInvoice], amount: Decimal, data: st.DataObject
) -> None:
    indicated: dict[str, Decimal] = {}
    left = amount
    for invoice in invoices:
        if invoice.balance <= 0 or left <= 0 or not data.draw(st.booleans()):
            continue
        most = min(invoice.balance, left)
        share = D(data.draw(st.integers(1, int(most * 100)))) / 100
        indicated[invoice.case_id] = share.quantize(D("0.01"))
        left -= indicated[invoice.case_id]
    allocation = allocate_as_indicated(invoices, amount, PAID_ON, indicated)
    _check_exact(allocation, invoices, amount)
    chosen = {s.case_id: s.amount for s in allocation.shares if s.basis == "indicated"}
    assert chosen == indicated


@PROPERTIES
@given(invoices=invoice_lists, amount=payments)
def test_allocation_ignores_the_order_invoices_come_in(
    invoices: list[OpenInvoice], amount: Decimal
) -> None:
    forward = allocate_payment(invoices, amount, PAID_ON)
    backward = allocate_payment(list(reversed(invoices)), amount, PAID_ON)
    assert sorted(forward.pairs()) == sorted(backward.pairs())
    assert forward.unallocated == backward.unallocated
