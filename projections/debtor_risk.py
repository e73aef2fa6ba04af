"""A debtor's risk score, 0 to 100, with its reasons, from its cases' views (pure).

Each factor turns one observable fact of the views into points, capped per factor; the
score is their sum, capped at 100, and the band follows from the model's thresholds. The
weights are versioned data (``RiskModel``); each result names the model it used.

What the views tell, and how each factor reads them:

- lateness: the average, over the debtor's invoices, of the days late: a paid invoice from
  its due date to its last payment (the one that settled it), an unpaid one (open, or closed
  without payment: written off, prescribed, handed over, declared in insolvency) to
  ``as_of``; early or on time counts 0; cancelled invoices (credit note, upheld dispute,
  refused e-invoice) are not debts and do not count;
- broken promises and missed instalments: the ``PromiseBroken`` and ``InstalmentMissed``
  facts the timeline journals (workflows/case_steps.py);
- bounced addresses: the distinct email addresses refused for good (``EmailBounced``), plus
  the postal address when a registered letter came back "wrong address";
- disputes: disputes opened (``DisputeOpened``, or a dispute hold) that were not upheld in
  full: a dispute the creditor conceded says nothing against the debtor;
- amount at stake: the balance of the invoices still open, in the model's currency;
- insolvency: a collective proceeding published (an insolvency hold or stage, a publication
  date, a claim declared): alone it puts the debtor in the high band.

After continue-as-new a case carries only its recent journal (the event store keeps every
fact), so the journal's counts are a lower bound for very long cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.case import CaseView, HoldKind, Outcome, Stage
from schemas.french_format import french_amount, french_date

FactorKey = Literal[
    "lateness",
    "broken_promises",
    "missed_instalments",
    "bounced_addresses",
    "disputes",
    "amount_at_stake",
    "insolvency",
]
Band = Literal["low", "medium", "high"]
BAND_FR: dict[Band, str] = {"low": "faible", "medium": "moyen", "high": "élevé"}


class CountWeight(BaseModel):
    """``per_item`` points for each occurrence, at most ``max_points``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_item: int = Field(ge=0, le=100)
    max_points: int = Field(ge=0, le=100)


class ScaledWeight(BaseModel):
    """Points rising linearly from 0 to ``max_points`` at ``saturation`` (days or euros)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_points: int = Field(ge=0, le=100)
    saturation: Decimal = Field(gt=0)


class RiskModel(BaseModel):
    """The weights of the score: versioned data, recorded in every result.

    Defaults (fr-debtor-risk v1), chosen so that lateness and kept word weigh most, an
    insolvency alone is high risk, and no single soft signal (a dispute, a bounce, a large
    balance) reaches the medium band by itself: lateness up to 30 points (full at 90 days
    on average, the last aged-balance bucket); broken promises and missed instalments 10
    each, up to 20; bounced addresses and disputes 5 each, up to 10; amount at stake up to
    10 (full at 20,000 EUR); insolvency 60. Bands: medium from 30, high from 60.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default="fr-debtor-risk", pattern=r"^[a-z0-9-]+$")
    version: int = Field(default=1, ge=1)
    currency: str = "EUR"
    lateness: ScaledWeight = ScaledWeight(max_points=30, saturation=Decimal(90))
    broken_promises: CountWeight = CountWeight(per_item=10, max_points=20)
    missed_instalments: CountWeight = CountWeight(per_item=10, max_points=20)
    bounced_addresses: CountWeight = CountWeight(per_item=5, max_points=10)
    disputes: CountWeight = CountWeight(per_item=5, max_points=10)
    amount_at_stake: ScaledWeight = ScaledWeight(max_points=10, saturation=Decimal(20000))
    insolvency_points: int = Field(default=60, ge=0, le=100)
    medium_from: int = Field(default=30, ge=1, le=100)
    high_from: int = Field(default=60, ge=1, le=100)

    @model_validator(mode="after")
    def _bands_ordered(self) -> RiskModel:
        if self.medium_from >= self.high_from:
            raise ValueError("the medium band must start below the high band")
        return self

    def band(self, score: int) -> Band:
        if score >= self.high_from:
            return "high"
        return "medium" if score >= self.medium_from else "low"


DEFAULT_RISK_MODEL = RiskModel()


class RiskFactor(BaseModel):
    """One factor's measure, its points and the sentence that explains them."""

    model_config = ConfigDict(frozen=True)

    key: FactorKey
    measure: Decimal
    """Days (lateness), euros (amount at stake), else a count."""
    points: int
    max_points: int
    explanation_fr: str
    explanation_en: str


class DebtorRisk(BaseModel):
    """The score of one debtor as of a day, and why."""

    model_config = ConfigDict(frozen=True)

    score: int = Field(ge=0, le=100)
    band: Band
    as_of: date
    model_id: str
    model_version: int
    cases: int
    factors: tuple[RiskFactor, ...]
    summary_fr: str
    summary_en: str


def _round(value: Fraction) -> int:
    """Half up: points are never negative."""
    return math.floor(value + Fraction(1, 2))


def _scaled(weight: ScaledWeight, measure: Fraction) -> int:
    return _round(min(measure / Fraction(weight.saturation), Fraction(1)) * weight.max_points)


def _counted(weight: CountWeight, count: int) -> int:
    return min(count * weight.per_item, weight.max_points)


def _days_late(view: CaseView, as_of: date) -> int | None:
    """Days late of one invoice, or None when it is not a debt (cancelled)."""
    if view.outcome is Outcome.cancelled:
        return None
    if view.outcome is Outcome.paid:
        paid = max((p.paid_on for p in view.payments), default=None)
        settled = paid or (view.closed_at.date() if view.closed_at else as_of)
        return max(0, (settled - view.due_date).days)
    return max(0, (as_of - view.due_date).days)


def _journal_count(view: CaseView, kind: str) -> int:
    return sum(1 for entry in view.journal if entry.type == kind)


def _disputes(view: CaseView) -> int:
    upheld = sum(
        1
        for entry in view.journal
        if entry.type == "DisputeResolved"
        and entry.fact is not None
        and entry.fact.get("data", {}).get("outcome") == "upheld"
    )
    opened = max(
        _journal_count(view, "DisputeOpened"),
        sum(1 for h in view.holds if h.kind is HoldKind.dispute),
    )
    return max(0, opened - upheld)


def _bounced(views: Sequence[CaseView]) -> tuple[int, int]:
    """(distinct refused email addresses, 1 if a registered letter found no one there)."""
    emails: set[str] = set()
    for view in views:
        for entry in view.journal:
            if entry.type != "EmailBounced":
                continue
            data = entry.fact.get("data", {}) if entry.fact else {}
            emails.add(str(data.get("recipient") or entry.detail.split(":", 1)[0]).lower())
    wrong_address = any(
        status == "wrong_address"
        for view in views
        if view.formal_notice is not None
        for status, _ in view.formal_notice.statuses
    )
    return len(emails), int(wrong_address)


def _insolvency_since(views: Sequence[CaseView]) -> tuple[bool, date | None]:
    signalled = False
    published: list[date] = []
    for view in views:
        if view.insolvency_published_on is not None:
            published.append(view.insolvency_published_on)
        if (
            view.insolvency_published_on is not None
            or view.stage is Stage.insolvency
            or view.outcome is Outcome.insolvency_claim_declared
            or any(h.kind is HoldKind.insolvency for h in view.holds)
        ):
            signalled = True
    return signalled, min(published, default=None)


def _fr(n: int, word: str, plural: str | None = None) -> str:
    """French: singular for 0 and 1 ("0 point", "1 jour")."""
    return f"{n} {word if n < 2 else (plural or word + 's')}"


def _en(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def debtor_risk(
    views: Sequence[CaseView], as_of: date, model: RiskModel = DEFAULT_RISK_MODEL
) -> DebtorRisk:
    """Score one debtor from the views of its cases (any order) as of ``as_of``.

    Deterministic: the same views, day and model give the same result and sentences.
    """
    ordered = sorted(views, key=lambda v: v.case_id)
    factors: list[RiskFactor] = []

    lates = [d for d in (_days_late(v, as_of) for v in ordered) if d is not None]
    average = Fraction(sum(lates), len(lates)) if lates else Fraction(0)
    shown = _round(average)
    points = _scaled(model.lateness, average)
    factors.append(
        RiskFactor(
            key="lateness",
            measure=Decimal(shown),
            points=points,
            max_points=model.lateness.max_points,
            explanation_fr=f"Retard moyen de {_fr(shown, 'jour')} sur "
            f"{_fr(len(lates), 'facture')} : {_fr(points, 'point')}.",
            explanation_en=f"Average delay of {_en(shown, 'day')} over "
            f"{_en(len(lates), 'invoice')}: {_en(points, 'point')}.",
        )
    )

    broken = sum(_journal_count(v, "PromiseBroken") for v in ordered)
    points = _counted(model.broken_promises, broken)
    factors.append(
        RiskFactor(
            key="broken_promises",
            measure=Decimal(broken),
            points=points,
            max_points=model.broken_promises.max_points,
            explanation_fr=f"{_fr(broken, 'promesse')} de paiement non "
            f"{'tenue' if broken < 2 else 'tenues'} : {_fr(points, 'point')}.",
            explanation_en=f"{_en(broken, 'broken promise')} to pay: {_en(points, 'point')}.",
        )
    )

    missed = sum(_journal_count(v, "InstalmentMissed") for v in ordered)
    points = _counted(model.missed_instalments, missed)
    factors.append(
        RiskFactor(
            key="missed_instalments",
            measure=Decimal(missed),
            points=points,
            max_points=model.missed_instalments.max_points,
            explanation_fr=f"{_fr(missed, 'échéance')} d'échéancier "
            f"{'impayée' if missed < 2 else 'impayées'} : {_fr(points, 'point')}.",
            explanation_en=f"{_en(missed, 'missed instalment')} of a payment plan: "
            f"{_en(points, 'point')}.",
        )
    )

    emails, postal = _bounced(ordered)
    bounces = emails + postal
    points = _counted(model.bounced_addresses, bounces)
    postal_fr = " dont l'adresse postale (LRAR « adresse erronée »)" if postal else ""
    postal_en = " including the postal address (registered letter: wrong address)" if postal else ""
    factors.append(
        RiskFactor(
            key="bounced_addresses",
            measure=Decimal(bounces),
            points=points,
            max_points=model.bounced_addresses.max_points,
            explanation_fr=f"{_fr(bounces, 'adresse')} "
            f"{'invalide' if bounces < 2 else 'invalides'}{postal_fr} : "
            f"{_fr(points, 'point')}.",
            explanation_en=f"{_en(bounces, 'bounced address', 'bounced addresses')}"
            f"{postal_en}: {_en(points, 'point')}.",
        )
    )

    disputes = sum(_disputes(v) for v in ordered)
    points = _counted(model.disputes, disputes)
    factors.append(
        RiskFactor(
            key="disputes",
            measure=Decimal(disputes),
            points=points,
            max_points=model.disputes.max_points,
            explanation_fr=f"{_fr(disputes, 'contestation')} non "
            f"{'admise' if disputes < 2 else 'admises'} en totalité : "
            f"{_fr(points, 'point')}.",
            explanation_en=f"{_en(disputes, 'dispute')} not upheld in full: "
            f"{_en(points, 'point')}.",
        )
    )

    open_views = [v for v in ordered if v.stage is not Stage.closed]
    at_stake = sum((v.balance for v in open_views if v.currency == model.currency), Decimal("0.00"))
    points = _scaled(model.amount_at_stake, Fraction(at_stake))
    factors.append(
        RiskFactor(
            key="amount_at_stake",
            measure=at_stake,
            points=points,
            max_points=model.amount_at_stake.max_points,
            explanation_fr=f"Encours de {french_amount(at_stake, model.currency)} sur "
            f"{_fr(len(open_views), 'facture ouverte', 'factures ouvertes')} : "
            f"{_fr(points, 'point')}.",
            explanation_en=f"{at_stake:.2f} {model.currency} outstanding on "
            f"{_en(len(open_views), 'open invoice')}: {_en(points, 'point')}.",
        )
    )

    insolvent, published = _insolvency_since(ordered)
    points = model.insolvency_points if insolvent else 0
    since_fr = f" (publiée le {french_date(published)})" if published else ""
    since_en = f" (published {published.isoformat()})" if published else ""
    factors.append(
        RiskFactor(
            key="insolvency",
            measure=Decimal(int(insolvent)),
            points=points,
            max_points=model.insolvency_points,
            explanation_fr=(
                f"Procédure collective{since_fr} : {_fr(points, 'point')}."
                if insolvent
                else "Aucune procédure collective connue : 0 point."
            ),
            explanation_en=(
                f"Insolvency proceeding{since_en}: {_en(points, 'point')}."
                if insolvent
                else "No insolvency proceeding known: 0 points."
            ),
        )
    )

    total = sum(f.points for f in factors)
    score = min(100, total)
    band = model.band(score)
    capped_fr = f" (plafonné ; {total} points au total)" if total > score else ""
    capped_en = f" (capped; {total} points in all)" if total > score else ""
    where = f"{model.id} v{model.version}"
    return DebtorRisk(
        score=score,
        band=band,
        as_of=as_of,
        model_id=model.id,
        model_version=model.version,
        cases=len(ordered),
        factors=tuple(factors),
        summary_fr=f"Score de risque {score}/100{capped_fr}, risque {BAND_FR[band]}, au "
        f"{french_date(as_of)} ({where}, {_fr(len(ordered), 'facture')}).",
        summary_en=f"Risk score {score}/100{capped_en}, {band} risk, as of "
        f"{as_of.isoformat()} ({where}, {_en(len(ordered), 'invoice')}).",
    )
