"""Renderings of the CLI results: the JSON contract and readable FR/EN text."""

from datetime import date
from typing import Any

from legal.after_title import ProceedingPrescription
from legal.deadlines import Deadline
from legal.kinds import DebtorKind
from legal.money import format_amount, format_rate
from legal.prescription import Prescription
from legal.small_claims import small_claims_request
from legal.statement import Statement
from legal.working_days import DebtorCalendar


def statement_json(statement: Statement) -> dict[str, Any]:
    """The décompte JSON contract: amounts and percent rates as 2-decimal strings."""
    return {
        "principal": format_amount(statement.principal),
        "paid": format_amount(statement.paid),
        "penalties": format_amount(statement.penalties),
        "indemnity": format_amount(statement.indemnity),
        "total": format_amount(statement.total),
        "segments": [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "days": s.days,
                "rate": format_rate(s.rate),
                "amount": format_amount(s.amount),
            }
            for s in statement.segments
        ],
        "as_of": statement.as_of.isoformat(),
        "interest_start": _iso(statement.interest_start),
        "interest_start_basis": statement.interest_start_basis,
        "rate_periods": [
            {
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "days": p.days,
                "rate": format_rate(p.rate),
                "half_year": p.half_year,
                "basis": p.basis,
                "article": p.article,
                "status": p.status,
                "source": p.source,
            }
            for p in statement.rate_periods
        ],
        "imputation": {
            "rule": statement.imputation.rule,
            "article": statement.imputation.article,
            "explanation": statement.imputation.explanation_en,
            "payments": [
                {
                    "on": i.on.isoformat(),
                    "amount": format_amount(i.amount),
                    "to_principal": format_amount(i.to_principal),
                    "beyond_principal": format_amount(i.beyond_principal),
                }
                for i in statement.imputation.payments
            ],
        },
        "small_claims": _small_claims_json(statement),
        "notes": list(statement.notes),
        "rate_table_version": statement.rate_table_version,
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _small_claims_json(statement: Statement) -> dict[str, Any]:
    request = small_claims_request(statement)
    return {
        "amount": format_amount(request.amount),
        "indemnity_left_out": format_amount(request.indemnity_left_out),
        "ceiling": format_amount(request.ceiling),
        "eligible": request.eligible,
    }


def statement_text(statement: Statement) -> str:
    """A readable bilingual table of the décompte."""
    interest = "Intérêts / Interest"
    if statement.debtor_kind is not DebtorKind.CONSUMER:
        interest = "Pénalités / Penalties"
    lines = [
        f"Décompte au / Statement as of {statement.as_of} "
        f"(échéance / due {statement.due_date}, {statement.debtor_kind.value})",
        f"{'Du / From':<12}{'Au / To':<12}{'Jours / Days':>13}{'Taux / Rate':>13}"
        f"{'Montant / Amount':>18}",
    ]
    for s in statement.segments:
        lines.append(
            f"{s.start.isoformat():<12}{s.end.isoformat():<12}{s.days:>13}"
            f"{format_rate(s.rate) + ' %':>13}{format_amount(s.amount):>18}"
        )
    totals = [
        ("Principal / Principal", statement.principal),
        ("Déjà payé / Paid", statement.paid),
        (interest, statement.penalties),
        ("Indemnité forfaitaire / Fixed indemnity", statement.indemnity),
        ("Total dû / Total due", statement.total),
    ]
    lines += [f"{label:<50}{format_amount(value):>18}" for label, value in totals]
    if statement.interest_start_basis:
        lines.append(f"Point de départ / Interest from: {statement.interest_start_basis}")
    for p in statement.rate_periods:
        flag = " [REPORTED, not confirmed]" if p.status == "reported" else ""
        lines.append(
            f"Taux / Rate {p.start} -> {p.end}: {format_rate(p.rate)} %, {p.basis} "
            f"({p.article}){flag}; source: {p.source}"
        )
    if statement.imputation.payments:
        lines.append(f"Imputation: {statement.imputation.explanation_fr}")
    lines += [f"Note: {note}" for note in statement.notes]
    lines.append(f"Barème / Rate table: {statement.rate_table_version}")
    return "\n".join(lines)


def deadline_text(deadline: Deadline, cal: DebtorCalendar) -> str:
    """A readable summary of a deadline."""
    return "\n".join(
        [
            f"Calendrier / Calendar: {cal.label}",
            f"Départ / Start: {deadline.start}",
            f"Dernier jour / Last day: {deadline.last_day}",
            f"Sans report / Unextended: {deadline.unextended_last_day}",
            f"Motif / Reason: {deadline.reason}",
        ]
    )


def prescription_json(result: Prescription | ProceedingPrescription, years: int) -> dict[str, Any]:
    """The prescription JSON contract (``last_day`` is null while a proceeding runs)."""
    pending = isinstance(result, ProceedingPrescription) and result.pending
    return {
        "last_day": _iso(result.last_day),
        "years": years,
        "article": result.article,
        "pending": pending,
        "alert_dates": [day.isoformat() for day in result.alert_dates],
        "history": list(result.history),
    }


def prescription_text(result: Prescription | ProceedingPrescription, years: int) -> str:
    """A readable summary of a prescription computation."""
    alerts = ", ".join(day.isoformat() for day in result.alert_dates)
    last_day = str(result.last_day)
    if isinstance(result, ProceedingPrescription) and result.pending:
        last_day = "none while the proceeding runs (C. civ. 2242)"
    lines = [
        f"Prescription: {years} ans / years ({result.article})",
        f"Dernier jour pour agir / Last day to act: {last_day}",
        f"Alertes / Alerts: {alerts}",
    ]
    lines += [f"- {entry}" for entry in result.history]
    return "\n".join(lines)
