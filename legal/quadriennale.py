"""Prescription of claims on public-law persons: the "prescription quadriennale".

Loi 68-1250 of 31 Dec 1968:
- art. 1: claims on the State, départements, communes and public establishments
  with a public accountant lapse 4 years from 1 January of the year after the
  one in which the rights arose (for an invoice: the year of its due date);
  the last day to act is therefore 31 December of that year + 4;
- art. 2: any written request for payment to the authority, a formal notice
  included, interrupts it (so do a court recourse, an acknowledgement and a
  payment); a new 4-year period runs from 1 January of the following year.

Public companies outside that list follow the ordinary 5 years (C. com. L110-4).
``prescription_for_debtor`` picks the rule for any debtor.
"""

from collections.abc import Sequence
from datetime import date
from typing import Literal

from legal.errors import LegalError
from legal.kinds import DebtorKind, parse_debtor_kind
from legal.prescription import (
    Interruption,
    Prescription,
    Suspension,
    alert_dates,
    compute_prescription,
    ordinary_article,
    run_period,
)

QUADRIENNALE_YEARS = 4
QUADRIENNALE_ARTICLE = "loi 68-1250 art. 1"

PublicBody = Literal["state", "local_authority", "public_establishment", "public_company"]
"""Which public debtor: ``public_establishment`` means one with a public accountant
(a public hospital, for instance); ``public_company`` one without (EPIC, SEM...)."""

QUADRIENNALE_BODIES: frozenset[str] = frozenset(
    {"state", "local_authority", "public_establishment"}
)


def quadriennale_last_day(year: int) -> date:
    """Last day of a 4-year period running from 1 January of ``year + 1``."""
    return date(year + QUADRIENNALE_YEARS, 12, 31)


def _as_interruption(event: date | Interruption) -> Interruption:
    return event if isinstance(event, Interruption) else Interruption(on=event)


def quadriennale_prescription(
    arose_on: date, interruptions: Sequence[date | Interruption] = ()
) -> Prescription:
    """Last day to act on a claim on a public-law person (loi 68-1250 art. 1, 2).

    ``arose_on``: the day the rights arose (for an invoice, its due date).
    ``interruptions``: dates (or ``Interruption``) of written payment requests,
    formal notices included, court recourses, acknowledgements or payments; each
    one made before the claim lapsed starts a new period on 1 January after it.
    Example: due 3 Mar 2022, no interruption: last day 31 Dec 2026.
    Alerts 90 and 30 days before, as for the ordinary periods.
    """
    last_day = quadriennale_last_day(arose_on.year)
    history = [
        f"{arose_on}: rights arose; 4 years from {date(arose_on.year + 1, 1, 1)} "
        f"(loi 68-1250 art. 1), last day {last_day}"
    ]
    events = sorted((_as_interruption(e) for e in interruptions), key=lambda e: e.on)
    for event in events:
        if event.on < arose_on:
            history.append(f"{event.on}: ignored, before the rights arose on {arose_on}")
            continue
        if event.on > last_day:
            history.append(f"{event.on}: ignored, the claim lapsed on {last_day}")
            continue
        last_day = quadriennale_last_day(event.on.year)
        history.append(
            f"{event.on}: {event.kind} interrupts (loi 68-1250 art. 2); new period from "
            f"{date(event.on.year + 1, 1, 1)}, last day {last_day}"
        )
    return Prescription(
        years=QUADRIENNALE_YEARS,
        trigger=arose_on,
        last_day=last_day,
        alert_dates=alert_dates(last_day),
        history=tuple(history),
        article=QUADRIENNALE_ARTICLE,
    )


def prescription_for_debtor(
    debtor_kind: DebtorKind | str,
    arose_on: date,
    interruptions: Sequence[date | Interruption] = (),
    suspensions: Sequence[Suspension] = (),
    *,
    public_body: PublicBody = "state",
) -> Prescription:
    """The prescription that applies to the debtor, from the day the right arose.

    - business: 5 years (C. com. L110-4); consumer: 2 years (C. consom. L218-2);
      a formal notice or payment request does not interrupt them;
    - public debtor: the quadriennale (loi 68-1250) unless ``public_body`` is a
      ``public_company`` (ordinary 5 years). The default is the quadriennale. Without
      interruption its last day is earlier than the 5 years'; once a written request
      restarts it, it may be later: a caller that does not know which applies keeps the
      earlier of the two (workflows/claim.py, legal/cli.py; french-collection-law.md s.7).
    """
    kind = parse_debtor_kind(debtor_kind)
    events = [_as_interruption(e) for e in interruptions]
    if kind is DebtorKind.PUBLIC and public_body in QUADRIENNALE_BODIES:
        if suspensions:
            raise LegalError("no suspension is modelled for the quadriennale (loi 68-1250)")
        return quadriennale_prescription(arose_on, events)
    if kind is not DebtorKind.PUBLIC:
        return compute_prescription(arose_on, kind, events, suspensions)
    years = 5
    history = [
        f"{arose_on}: public company outside loi 68-1250: ordinary period of {years} years "
        f"(C. com. L110-4)"
    ]
    last_day = run_period(arose_on, years, history, events, suspensions)
    return Prescription(
        years=years,
        trigger=arose_on,
        last_day=last_day,
        alert_dates=alert_dates(last_day),
        history=tuple(history),
        article=ordinary_article(DebtorKind.BUSINESS),
    )
