"""What a case claims, when it prescribes, and which calendar it follows.

Pure functions over the case state, shared by the workflow (letters, escalation,
timers) and the API (penalties to date). The rate table comes in as a value.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from legal import (
    METROPOLITAN,
    DebtorCalendar,
    Interruption,
    LegalError,
    Payment,
    RateTable,
    Statement,
    build_statement,
    calendar_for_postal_code,
    compute_prescription,
    quadriennale_prescription,
)
from legal.after_title import court_claim_prescription, enforcement_prescription
from schemas.case import CaseView

QUADRIENNALE = "quadriennale"
"""``CaseView.prescription_rule`` of a claim on a public-law person (loi 68-1250)."""


def debtor_calendar(case: CaseView) -> DebtorCalendar:
    """The calendar of the debtor's department; metropolitan France when unknown."""
    try:
        return calendar_for_postal_code(case.postal_code)
    except LegalError:
        return METROPOLITAN


def statement_for(case: CaseView, rates: RateTable, as_of: date) -> Statement:
    """The décompte as of ``as_of``: credit notes lower the principal, payments are dated.
    A consumer owes interest from the day the formal notice reached them (its first
    presentation, C. civ. 1231-6 and 1344-1): none while the presentation is not known.

    Raises LegalError (e.g. a rate not configured) rather than guessing.
    """
    principal = case.amount_due - case.credited
    payments = [Payment(on=p.paid_on, amount=p.amount) for p in case.payments if p.paid_on <= as_of]
    notice = case.formal_notice
    presented = notice.first_presented_on if notice is not None else None
    sent = notice.sent_on if notice is not None else None
    if case.debtor_kind == "consumer" and presented is None:
        sent = None  # sent but not yet presented: no interest runs yet
    return build_statement(
        principal=principal if principal > 0 else Decimal("0.01"),
        due_date=case.due_date,
        as_of=max(as_of, case.due_date),
        debtor_kind=case.debtor_kind,
        rates=rates,
        formal_notice_date=sent,
        formal_notice_presented_on=presented,
        payments=payments,
    )


def prescription_last_day(case: CaseView) -> date | None:
    """Last day to act (C. com. L110-4 / C. consom. L218-2; for a public debtor once the
    case runs the quadriennale, the earlier of loi 68-1250's and the 5 years), from the due
    date, restarted by each acknowledgement or act recorded on the case (C. civ. 2240,
    2241, 2244; for the quadriennale also each written payment request, a formal notice
    included: loi 68-1250 art. 2). None while a court
    claim is pending (C. civ. 2242); once a title is obtained, its 10 years (CPCE L111-4)
    from the title, restarted by each enforcement act (C. civ. 2244)."""
    if case.title_on is not None:  # the title's own period replaces the claim's
        acts = [day for day in case.prescription_interruptions if day > case.title_on]
        return enforcement_prescription(case.title_on, acts).last_day
    interruptions = [Interruption(on=day) for day in case.prescription_interruptions]
    prescription = compute_prescription(case.due_date, case.debtor_kind, interruptions)
    if case.prescription_rule == QUADRIENNALE:
        # Whether the public debtor is a public-law person (the quadriennale) or a public
        # company (the ordinary 5 years) is not known here: the earlier last day is kept
        # (french-collection-law.md, the safe side of a doubtful extension).
        requests = [Interruption(on=day) for day in case.written_requests]
        quadriennale = quadriennale_prescription(case.due_date, [*interruptions, *requests])
        prescription = min(prescription, quadriennale, key=lambda p: p.last_day)
    if case.court_claim_on is None:
        return prescription.last_day
    return court_claim_prescription(
        prescription, case.court_claim_on, case.court_claim_ended_on
    ).last_day
