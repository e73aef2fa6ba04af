"""A debtor's risk score from its cases' views (projections/debtor_risk.py).

Views are built as the workflow builds them (tests/debtors/builders.py): real invoices and
policies, events through the reducer, and the facts the timeline journals itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from projections.debtor_risk import DebtorRisk, RiskModel, debtor_risk
from schemas.case import CaseView
from tests.debtors.builders import (
    apply,
    bounced_email,
    broken_promise,
    formal_notice,
    missed_instalment,
    open_case,
    pay,
)

DUE = date(2026, 1, 31)
AS_OF = date(2026, 4, 1)  # 60 days after DUE


def points(risk: DebtorRisk) -> dict[str, int]:
    return {f.key: f.points for f in risk.factors}


def factor(risk: DebtorRisk, key: str) -> tuple[Decimal, int, str, str]:
    found = next(f for f in risk.factors if f.key == key)
    return found.measure, found.points, found.explanation_fr, found.explanation_en


def counted(risk: DebtorRisk, key: str) -> tuple[int, int]:
    """A count factor's (count, points)."""
    measure, got, _, _ = factor(risk, key)
    return int(measure), got


def test_no_invoice_is_no_risk() -> None:
    risk = debtor_risk([], AS_OF)
    assert (risk.score, risk.band, risk.cases) == (0, "low", 0)
    assert set(points(risk).values()) == {0}
    assert (risk.model_id, risk.model_version) == ("fr-debtor-risk", 1)


def test_an_invoice_paid_on_time_is_no_risk() -> None:
    case = pay(open_case("a", amount="500.00"), "500.00", DUE)
    risk = debtor_risk([case], AS_OF)
    assert case.outcome is not None and case.outcome.value == "paid"
    assert risk.score == 0
    assert factor(risk, "lateness")[0] == 0


LATENESS_CASES = [
    # 60 days open: 60/90 x 30 = 20 points.
    pytest.param(lambda: [open_case("a", due=DUE)], 60, 20, id="open-60-days"),
    # Not yet due: 0 days.
    pytest.param(lambda: [open_case("a", due=date(2026, 5, 1))], 0, 0, id="not-yet-due"),
    # Paid 30 days late, and one open 60 days: average 45 -> 15 points.
    pytest.param(
        lambda: [
            pay(open_case("p", due=DUE, amount="100.00"), "100.00", date(2026, 3, 2)),
            open_case("o", due=DUE),
        ],
        45,
        15,
        id="paid-late-and-open",
    ),
    # Saturates at 90 days: 30 points whatever the delay beyond.
    pytest.param(lambda: [open_case("a", due=date(2025, 1, 31))], 425, 30, id="saturated"),
    # A cancelled invoice is no debt: only the other counts.
    pytest.param(
        lambda: [
            apply(
                open_case("c", due=date(2025, 6, 1), amount="100.00"),
                {
                    "type": "credit_note",
                    "amount": "100.00",
                    "reference": "AV-1",
                    "issued_on": "2025-07-01",
                },
                date(2025, 7, 1),
            ),
            open_case("o", due=DUE),
        ],
        60,
        20,
        id="cancelled-not-counted",
    ),
    # A partial payment leaves the invoice open: late to as_of.
    pytest.param(
        lambda: [pay(open_case("a", due=DUE), "100.00", date(2026, 2, 10))],
        60,
        20,
        id="partly-paid-still-late",
    ),
]


@pytest.mark.parametrize(("build", "days", "expected"), LATENESS_CASES)
def test_average_days_late(build: Callable[[], list[CaseView]], days: int, expected: int) -> None:
    risk = debtor_risk(build(), AS_OF)
    measure, got, _, _ = factor(risk, "lateness")
    assert (int(measure), got) == (days, expected)


def test_broken_promises_count_and_cap() -> None:
    one = broken_promise(open_case("a", due=DUE), date(2026, 2, 20))
    assert counted(debtor_risk([one], AS_OF), "broken_promises") == (1, 10)
    many = [broken_promise(open_case(f"c{n}", due=DUE), date(2026, 2, 10 + n)) for n in range(3)]
    measure, got, fr, en = factor(debtor_risk(many, AS_OF), "broken_promises")
    assert (int(measure), got) == (3, 20)
    assert fr == "3 promesses de paiement non tenues : 20 points."
    assert en == "3 broken promises to pay: 20 points."


def test_missed_instalments_of_a_payment_plan() -> None:
    case = missed_instalment(open_case("a", due=DUE), date(2026, 2, 15))
    measure, got, fr, en = factor(debtor_risk([case], AS_OF), "missed_instalments")
    assert (int(measure), got) == (1, 10)
    assert fr == "1 échéance d'échéancier impayée : 10 points."
    assert en == "1 missed instalment of a payment plan: 10 points."


def test_bounced_addresses_are_distinct_addresses() -> None:
    a = bounced_email(open_case("a", due=DUE), "compta@durand.example", date(2026, 2, 7))
    b = bounced_email(open_case("b", due=DUE), "COMPTA@durand.example", date(2026, 2, 8))
    assert counted(debtor_risk([a, b], AS_OF), "bounced_addresses") == (1, 5)
    c = formal_notice(
        open_case("c", due=DUE), date(2026, 3, 17), "wrong_address", date(2026, 3, 19)
    )
    measure, got, fr, en = factor(debtor_risk([a, b, c], AS_OF), "bounced_addresses")
    assert (int(measure), got) == (2, 10)
    assert "dont l'adresse postale" in fr and "wrong address" in en


def test_a_letter_presented_is_no_bounce() -> None:
    case = formal_notice(
        open_case("a", due=DUE), date(2026, 3, 17), "not_collected", date(2026, 3, 19)
    )
    assert counted(debtor_risk([case], AS_OF), "bounced_addresses") == (0, 0)


DISPUTE_CASES = [
    pytest.param([], 0, id="none"),
    pytest.param([{"type": "dispute_opened", "reason": "not delivered"}], 1, id="open"),
    pytest.param(
        [
            {"type": "dispute_opened", "reason": "not delivered"},
            {"type": "dispute_resolved", "outcome": "rejected"},
        ],
        1,
        id="rejected-counts",
    ),
    pytest.param(
        [
            {"type": "dispute_opened", "reason": "wrong price"},
            {"type": "dispute_resolved", "outcome": "upheld", "credit_note_amount": "100.00"},
        ],
        1,
        id="partly-upheld-counts",
    ),
    pytest.param(
        [
            {"type": "dispute_opened", "reason": "not ordered"},
            {"type": "dispute_resolved", "outcome": "upheld"},
        ],
        0,
        id="upheld-in-full-does-not",
    ),
]


@pytest.mark.parametrize(("events", "expected"), DISPUTE_CASES)
def test_disputes_not_upheld_in_full(events: list[dict[str, str]], expected: int) -> None:
    case = open_case("a", due=DUE)
    for event in events:
        apply(case, event, date(2026, 2, 20))
    assert counted(debtor_risk([case], AS_OF), "disputes") == (expected, 5 * expected)


AMOUNT_CASES = [
    pytest.param(["1000.00"], "1000.00", 1, id="1000-eur-half-point-up"),
    pytest.param(["5000.00", "5000.00"], "10000.00", 5, id="10000-eur"),
    pytest.param(["30000.00"], "30000.00", 10, id="saturated-at-20000"),
]


@pytest.mark.parametrize(("amounts", "total", "expected"), AMOUNT_CASES)
def test_amount_at_stake(amounts: list[str], total: str, expected: int) -> None:
    views = [open_case(f"c{n}", amount=a, due=date(2026, 5, 1)) for n, a in enumerate(amounts)]
    measure, got, fr, en = factor(debtor_risk(views, AS_OF), "amount_at_stake")
    assert (measure, got) == (Decimal(total), expected)
    assert "Encours de" in fr and f"{total} EUR outstanding" in en


def test_paid_invoices_are_not_at_stake() -> None:
    paid = pay(open_case("a", amount="9000.00"), "9000.00", DUE)
    assert counted(debtor_risk([paid], AS_OF), "amount_at_stake") == (0, 0)


def test_c_com_l622_21_insolvency_alone_is_high_risk() -> None:
    case = apply(
        open_case("a", due=date(2026, 5, 1)),
        {
            "type": "insolvency",
            "published_on": "2026-03-10",
            "proceeding": "redressement",
            "mandataire": "Me Martin",
        },
        date(2026, 3, 12),
    )
    risk = debtor_risk([case], AS_OF)
    measure, got, fr, en = factor(risk, "insolvency")
    assert (int(measure), got) == (1, 60)
    assert fr == "Procédure collective (publiée le 10/03/2026) : 60 points."
    assert en == "Insolvency proceeding (published 2026-03-10): 60 points."
    assert risk.band == "high"


def test_score_is_capped_at_100_and_says_so() -> None:
    case = open_case("a", amount="30000.00", due=date(2025, 6, 1))
    broken_promise(case, date(2025, 8, 1))
    broken_promise(case, date(2025, 9, 1))
    missed_instalment(case, date(2025, 10, 1))
    apply(
        case,
        {
            "type": "insolvency",
            "published_on": "2026-03-10",
            "proceeding": "liquidation",
            "mandataire": "Me Martin",
        },
        date(2026, 3, 12),
    )
    risk = debtor_risk([case], AS_OF)
    assert sum(points(risk).values()) > 100
    assert risk.score == 100 and risk.band == "high"
    assert "plafonné" in risk.summary_fr and "capped" in risk.summary_en


def test_summary_names_the_model_the_day_and_the_band() -> None:
    views = [open_case("a", due=DUE), broken_promise(open_case("b", due=DUE), date(2026, 2, 20))]
    risk = debtor_risk(views, AS_OF)
    assert risk.score == 31 and risk.band == "medium"  # 20 lateness + 10 promise + 1 amount
    assert risk.summary_fr == (
        "Score de risque 31/100, risque moyen, au 01/04/2026 (fr-debtor-risk v1, 2 factures)."
    )
    assert risk.summary_en == (
        "Risk score 31/100, medium risk, as of 2026-04-01 (fr-debtor-risk v1, 2 invoices)."
    )
    assert factor(risk, "lateness")[2] == "Retard moyen de 60 jours sur 2 factures : 20 points."


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "low"), (29, "low"), (30, "medium"), (59, "medium"), (60, "high"), (100, "high")],
)
def test_bands(score: int, band: str) -> None:
    assert RiskModel().band(score) == band


def test_weights_are_versioned_data() -> None:
    strict = RiskModel(
        id="strict",
        version=2,
        broken_promises=RiskModel().broken_promises.model_copy(update={"per_item": 30}),
        medium_from=20,
        high_from=30,
    )
    case = broken_promise(open_case("a", due=date(2026, 5, 1)), date(2026, 3, 1))
    risk = debtor_risk([case], AS_OF, strict)
    assert (risk.model_id, risk.model_version) == ("strict", 2)
    assert points(risk)["broken_promises"] == 20  # per item 30, still capped at 20
    assert risk.band == "medium"
    assert RiskModel.model_validate_json(strict.model_dump_json()) == strict


def test_a_model_with_bands_out_of_order_is_refused() -> None:
    with pytest.raises(ValidationError, match="medium band must start below"):
        RiskModel(medium_from=60, high_from=60)


def test_french_zero_is_singular() -> None:
    risk = debtor_risk([open_case("a", due=date(2026, 5, 1))], AS_OF)
    assert factor(risk, "broken_promises")[2] == "0 promesse de paiement non tenue : 0 point."
    assert factor(risk, "insolvency")[2] == "Aucune procédure collective connue : 0 point."


PROPERTIES = settings(database=None, max_examples=60, deadline=None)
STEPS = ["pay_part", "pay_all", "promise", "plan", "bounce", "dispute", "nothing"]


def _build(n: int, step: str, due_offset: int) -> CaseView:
    due = date(2026, 1, 1).replace(day=1 + n % 28)
    case = open_case(f"c{n}", due=due.replace(month=1 + due_offset % 4), amount="1200.00")
    if step == "pay_part":
        pay(case, "200.00", date(2026, 2, 15))
    elif step == "pay_all":
        pay(case, "1200.00", date(2026, 3, 10))
    elif step == "promise":
        broken_promise(case, date(2026, 2, 20))
    elif step == "plan":
        missed_instalment(case, date(2026, 2, 1))
    elif step == "bounce":
        bounced_email(case, f"c{n}@debtor.example", date(2026, 2, 1))
    elif step == "dispute":
        apply(case, {"type": "dispute_opened", "reason": "late delivery"}, date(2026, 2, 1))
    return case


@PROPERTIES
@given(
    plan=st.lists(st.tuples(st.sampled_from(STEPS), st.integers(0, 3)), max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_score_is_bounded_deterministic_and_order_free(
    plan: list[tuple[str, int]], order: object
) -> None:
    views = [_build(n, step, offset) for n, (step, offset) in enumerate(plan)]
    risk = debtor_risk(views, AS_OF)
    assert 0 <= risk.score <= 100
    assert risk.score == min(100, sum(points(risk).values()))
    assert all(0 <= f.points <= f.max_points for f in risk.factors)
    shuffled = list(views)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    assert debtor_risk(shuffled, AS_OF) == risk
