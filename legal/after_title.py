"""Prescription once the creditor goes to court, and after an enforceable title.

- C. civ. 2242: the interruption resulting from a court claim lasts until the
  proceeding ends; a new full period then runs from its end (for the
  quadriennale, from 1 January after the year it ended, loi 68-1250 art. 2).
  C. civ. 2243 (claim withdrawn, proceeding lapsed, claim finally rejected:
  the interruption is deemed never to have happened) is left to the operator,
  who then simply does not record the court claim.
- CPCE L111-4: a title from a court can be enforced for 10 years; once the title
  is obtained, that period replaces the claim's original prescription. An
  enforcement act interrupts it (C. civ. 2244).
"""

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from legal.errors import LegalError
from legal.prescription import Interruption, Prescription, add_years, alert_dates, run_period
from legal.quadriennale import QUADRIENNALE_ARTICLE, quadriennale_last_day

ENFORCEMENT_YEARS = 10
ENFORCEMENT_ARTICLE = "CPCE L111-4"


class ProceedingPrescription(BaseModel):
    """Prescription around a court claim: no last day while the proceeding runs."""

    model_config = ConfigDict(frozen=True)

    filed_on: date
    ended_on: date | None
    pending: bool
    """True while the proceeding runs: prescription does not run (C. civ. 2242)."""
    last_day: date | None
    """None while pending; else the last day to act (the original one if the claim
    was filed after it)."""
    alert_dates: tuple[date, ...]
    history: tuple[str, ...]
    article: str = "C. civ. 2242"


def court_claim_prescription(
    prescription: Prescription, filed_on: date, ended_on: date | None = None
) -> ProceedingPrescription:
    """Apply a court claim filed on ``filed_on`` to ``prescription`` (C. civ. 2241,
    2242): pending until ``ended_on``, then a new full period of the same rule
    from the end of the proceeding. A claim filed after the last day changes nothing."""
    history = list(prescription.history)
    if ended_on is not None and ended_on < filed_on:
        raise LegalError(f"the proceeding ends ({ended_on}) before it was filed ({filed_on})")
    if filed_on > prescription.last_day:
        history.append(f"{filed_on}: court claim ignored, prescribed on {prescription.last_day}")
        return ProceedingPrescription(
            filed_on=filed_on,
            ended_on=ended_on,
            pending=False,
            last_day=prescription.last_day,
            alert_dates=prescription.alert_dates,
            history=tuple(history),
        )
    history.append(f"{filed_on}: court claim interrupts until the proceeding ends (C. civ. 2242)")
    if ended_on is None:
        return ProceedingPrescription(
            filed_on=filed_on,
            ended_on=None,
            pending=True,
            last_day=None,
            alert_dates=(),
            history=tuple(history),
        )
    if prescription.article == QUADRIENNALE_ARTICLE:
        last_day = quadriennale_last_day(ended_on.year)
        rule = "loi 68-1250 art. 2"
    else:
        last_day = add_years(ended_on, prescription.years)
        rule = "C. civ. 2242"
    history.append(
        f"{ended_on}: proceeding ended; new period of {prescription.years} years ({rule}), "
        f"last day {last_day}"
    )
    return ProceedingPrescription(
        filed_on=filed_on,
        ended_on=ended_on,
        pending=False,
        last_day=last_day,
        alert_dates=alert_dates(last_day),
        history=tuple(history),
    )


def enforcement_prescription(
    title_on: date,
    enforcement_acts: Sequence[date | Interruption] = (),
    *,
    replaces: Prescription | None = None,
) -> Prescription:
    """The 10-year period to enforce a title from a court (CPCE L111-4), from the day
    the title became enforceable; each enforcement act restarts it (C. civ. 2244).
    It replaces the claim's original prescription (``replaces``, shown in history)."""
    history: list[str] = []
    if replaces is not None:
        history += replaces.history
        history.append(
            f"{title_on}: title replaces the {replaces.years}-year prescription "
            f"({replaces.article or 'ordinary rule'}, last day {replaces.last_day})"
        )
    history.append(
        f"{title_on}: enforceable title; {ENFORCEMENT_YEARS} years to enforce it "
        f"(CPCE L111-4), last day {add_years(title_on, ENFORCEMENT_YEARS)}"
    )
    acts = [
        act if isinstance(act, Interruption) else Interruption(on=act, kind="enforcement_act")
        for act in enforcement_acts
    ]
    last_day = run_period(title_on, ENFORCEMENT_YEARS, history, acts)
    return Prescription(
        years=ENFORCEMENT_YEARS,
        trigger=title_on,
        last_day=last_day,
        alert_dates=alert_dates(last_day),
        history=tuple(history),
        article=ENFORCEMENT_ARTICLE,
    )
