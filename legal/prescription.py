"""Prescription of the claim (the last day the creditor can act).

- 5 years between merchants / merchant and non-merchant (C. com. L110-4),
  used for business and public debtors; 2 years for a consumer owing a
  professional (C. consom. L218-2).
- Convention (french-collection-law.md s.5): the day of the triggering event
  does not count; the last day is the same calendar date N years later
  (29 Feb -> 28 Feb), and it is NOT moved to a working day (Cass. 2e civ.
  7 Apr 2016).
- Interruption restarts a full period from the event: acknowledgement such as
  a partial payment or a signed plan (C. civ. 2240), a court claim (2241), a
  conservatory or enforcement act (2244). A formal notice does not interrupt.
- Suspension adds the suspended duration: small-claims agreement (C. civ. 2238).
- An event after the period has run does not revive the claim.

Claims on public-law persons (loi 68-1250) are in ``legal.quadriennale``; the
court claim (C. civ. 2242) and the enforceable title (CPCE L111-4) in
``legal.after_title``.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from legal.deadlines import add_months
from legal.errors import LegalError
from legal.kinds import DebtorKind, parse_debtor_kind

InterruptionKind = Literal[
    "acknowledgement",
    "partial_payment",
    "payment_plan",
    "court_claim",
    "enforcement_act",
    "conservatory_act",
    "payment_request",
    "formal_notice",
]
_ARTICLES: dict[str, str] = {
    "acknowledgement": "C. civ. 2240",
    "partial_payment": "C. civ. 2240",
    "payment_plan": "C. civ. 2240",
    "court_claim": "C. civ. 2241",
    "enforcement_act": "C. civ. 2244",
    "conservatory_act": "C. civ. 2244",
}
# A written request for payment, a formal notice included, interrupts only the
# quadriennale (loi 68-1250 art. 2); under the ordinary rules it does not
# (Cass. com. 18 May 2022, n° 20-23.204) unless the contract says so (C. civ. 2254).
WRITTEN_REQUESTS = frozenset({"payment_request", "formal_notice"})
ALERT_DAYS = (90, 30)


class Interruption(BaseModel):
    """An act that starts a new full period on ``on``."""

    model_config = ConfigDict(frozen=True)

    on: date
    kind: InterruptionKind = "acknowledgement"


class Suspension(BaseModel):
    """A small-claims agreement (C. civ. 2238) suspending from ``start`` to ``end``."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date


class Prescription(BaseModel):
    """The prescription date, its alert dates and how it was obtained."""

    model_config = ConfigDict(frozen=True)

    years: int
    trigger: date
    last_day: date
    alert_dates: tuple[date, ...]
    history: tuple[str, ...]
    article: str = ""
    """The rule applied: "C. com. L110-4", "C. consom. L218-2", "loi 68-1250 art. 1",
    "CPCE L111-4"."""


def prescription_years(kind: DebtorKind | str) -> int:
    """2 years for a consumer (L218-2), 5 otherwise (L110-4)."""
    return 2 if parse_debtor_kind(kind) is DebtorKind.CONSUMER else 5


def add_years(day: date, years: int) -> date:
    """Same calendar date ``years`` later; 29 Feb becomes 28 Feb."""
    return add_months(day, 12 * years)


def alert_dates(last_day: date) -> tuple[date, ...]:
    """The alert days before a last day to act: 90 and 30 days before."""
    return tuple(last_day - timedelta(days=n) for n in ALERT_DAYS)


def ordinary_article(kind: DebtorKind | str) -> str:
    """The article of the ordinary period of ``kind`` (``prescription_years``)."""
    if parse_debtor_kind(kind) is DebtorKind.CONSUMER:
        return "C. consom. L218-2"
    return "C. com. L110-4"


def run_period(
    trigger: date,
    years: int,
    history: list[str],
    interruptions: Sequence[Interruption] = (),
    suspensions: Sequence[Suspension] = (),
) -> date:
    """Last day of a period of ``years`` from ``trigger`` once the interruptions
    and suspensions are applied in date order; appends each step to ``history``."""
    last_day = add_years(trigger, years)
    events: list[tuple[date, Interruption | Suspension]] = []
    events += [(i.on, i) for i in interruptions]
    events += [(s.start, s) for s in suspensions]
    for on, event in sorted(events, key=lambda item: item[0]):
        if on <= trigger:
            history.append(f"{on}: ignored, not after the starting date {trigger}")
            continue
        if on > last_day:
            history.append(f"{on}: ignored, the claim was prescribed on {last_day}")
            continue
        if isinstance(event, Interruption):
            if event.kind in WRITTEN_REQUESTS:
                history.append(
                    f"{on}: {event.kind} does not interrupt (Cass. com. 18 May 2022, "
                    f"n° 20-23.204; unless the contract says so, C. civ. 2254)"
                )
                continue
            last_day = add_years(on, years)
            article = _ARTICLES[event.kind]
            history.append(f"{on}: {event.kind} interrupts ({article}), last day {last_day}")
        else:
            if event.end < event.start:
                raise LegalError(f"suspension ends ({event.end}) before it starts")
            last_day += event.end - event.start
            history.append(f"{on}: suspended until {event.end} (C. civ. 2238), last day {last_day}")
    return last_day


def compute_prescription(
    trigger: date,
    debtor_kind: DebtorKind | str,
    interruptions: Sequence[Interruption] = (),
    suspensions: Sequence[Suspension] = (),
) -> Prescription:
    """Last day to act from ``trigger`` (delivery date, or due date), then apply
    interruptions and suspensions in date order; alerts 90 and 30 days before.

    The ordinary periods only (5 years, 2 for consumers): for a public debtor it
    keeps 5 years and warns; ``prescription_for_debtor`` (``legal.quadriennale``)
    applies loi 68-1250 to public-law persons."""
    years = prescription_years(debtor_kind)
    history = [f"{trigger}: period of {years} years starts, last day {add_years(trigger, years)}"]
    if parse_debtor_kind(debtor_kind) is DebtorKind.PUBLIC:
        history.append(
            "public debtor: if it is a public-law person, the 4-year rule of loi "
            f"68-1250 may apply (earliest {date(trigger.year + 4, 12, 31)}): check"
        )
    last_day = run_period(trigger, years, history, interruptions, suspensions)
    return Prescription(
        years=years,
        trigger=trigger,
        last_day=last_day,
        alert_dates=alert_dates(last_day),
        history=tuple(history),
        article=ordinary_article(debtor_kind),
    )


def is_prescribed(prescription: Prescription, on: date) -> bool:
    """True when ``on`` is after the last day to act."""
    return on > prescription.last_day
