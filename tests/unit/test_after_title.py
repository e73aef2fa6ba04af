"""After the court: a court claim's interruption lasts until its proceeding ends (C. civ.
2242: no last day while it is pending, a new full period from its end), and once a title is
obtained its 10 years to enforce it (CPCE L111-4) replace the claim's prescription, each
enforcement act restarting them (C. civ. 2244). Cases opened before patch after-title-v1
keep the old rule (the title restarts the ordinary period)."""

from __future__ import annotations

from datetime import date
from typing import Any

from schemas.case import CaseView, Stage
from tests.unit.reducer_cases import apply, escalated, new_case
from workflows.claim import prescription_last_day


def _report(status: str, on: str, **extra: Any) -> dict[str, Any]:
    return {"type": "partner_report", "status": status, "on": on, **extra}


def _filed() -> CaseView:
    case = escalated(new_case(), Stage.injonction_de_payer)
    case.after_title_rules = True
    case.prescription_last_day = prescription_last_day(case)
    return case


def test_a_filed_injonction_suspends_prescription_until_the_proceeding_ends_c_civ_2242() -> None:
    case = _filed()
    assert case.prescription_last_day is not None
    apply(case, _report("accepted", "2027-01-15"))
    assert case.court_claim_on == date(2027, 1, 15)
    assert case.prescription_last_day is None, "pending: no last day runs"


def test_a_proceeding_ended_without_a_title_starts_a_new_full_period_c_civ_2242() -> None:
    case = _filed()
    apply(case, _report("accepted", "2027-01-15"))
    apply(case, _report("closed", "2027-06-30", result="withdrawn"))
    assert case.court_claim_ended_on == date(2027, 6, 30)
    assert case.prescription_last_day == date(2032, 6, 30), "5 years from the end (L110-4)"


def test_a_title_gives_ten_years_to_enforce_it_cpce_l111_4_restarted_by_enforcement() -> None:
    case = _filed()
    apply(case, _report("accepted", "2027-01-15"))
    assert apply(case, _report("title_obtained", "2027-04-01")) == ["enforcement_handoff"]
    assert case.title_on == date(2027, 4, 1)
    assert case.prescription_last_day == date(2037, 4, 1)
    apply(case, _report("enforcement_measure", "2028-02-10"))
    assert case.prescription_last_day == date(2038, 2, 10), "an enforcement act (C. civ. 2244)"


def test_a_case_opened_before_the_rule_keeps_its_old_course() -> None:
    case = escalated(new_case(), Stage.injonction_de_payer)
    apply(case, _report("accepted", "2027-01-15"))
    assert case.court_claim_on is None
    apply(case, _report("title_obtained", "2027-04-01"))
    assert case.title_on is None
    assert case.prescription_last_day == date(2032, 4, 1), "the ordinary period, restarted"
