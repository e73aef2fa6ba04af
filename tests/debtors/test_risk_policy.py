"""A policy may pick a firmer or gentler timeline by the debtor's risk band (issue 12):
fr-b2b-by-risk runs fr-b2b-firm for a high-risk debtor (an insolvency proceeding alone puts
it there, C. com. L622-21), fr-b2b-gentle for a low-risk one, and itself for a debtor with
no history or in the medium band."""

from __future__ import annotations

from datetime import date

from policies.catalog import load_catalog
from projections.debtor_risk import debtor_risk
from schemas.invoice import DebtorKind
from services.api.risk_policy import policy_for_risk
from tests.debtors.builders import apply, open_case, pay

AS_OF = date(2026, 6, 30)
BY_RISK = load_catalog()["fr-b2b-by-risk"]


def test_a_debtor_with_no_history_keeps_the_policy_asked_for() -> None:
    assert policy_for_risk(BY_RISK, DebtorKind.business, [], AS_OF) == (BY_RISK, None)


def test_a_high_risk_debtor_gets_the_firmer_timeline_c_com_l622_21() -> None:
    insolvent = apply(
        open_case("a", due=date(2026, 5, 1)),
        {
            "type": "insolvency",
            "published_on": "2026-03-10",
            "proceeding": "redressement",
            "mandataire": "Me Martin",
        },
        date(2026, 3, 12),
    )
    chosen, why = policy_for_risk(BY_RISK, DebtorKind.business, [insolvent], AS_OF)
    assert chosen.id == "fr-b2b-firm"
    assert why is not None and why.startswith("risk band high")
    firm, standard = chosen.steps, BY_RISK.steps
    assert firm[0].offset < standard[0].offset, "reminders come sooner"


def test_a_debtor_that_pays_on_time_gets_the_gentler_timeline() -> None:
    punctual = pay(open_case("b", due=date(2026, 3, 31)), "1000.00", date(2026, 3, 31))
    assert debtor_risk([punctual], AS_OF).band == "low"
    chosen, why = policy_for_risk(BY_RISK, DebtorKind.business, [punctual], AS_OF)
    assert chosen.id == "fr-b2b-gentle" and why is not None
    assert chosen.steps[0].offset > BY_RISK.steps[0].offset
