"""Renderings of the CLI results: the JSON contract and readable FR/EN text."""

from typing import Any

from legal.deadlines import Deadline
from legal.kinds import DebtorKind
from legal.money import format_amount, format_rate
from legal.prescription import Prescription
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
    lines += [f"Note: {note}" for note in statement.notes]
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


def prescription_text(result: Prescription) -> str:
    """A readable summary of a prescription computation."""
    alerts = ", ".join(day.isoformat() for day in result.alert_dates)
    lines = [
        f"Prescription: {result.years} ans / years",
        f"Dernier jour pour agir / Last day to act: {result.last_day}",
        f"Alertes / Alerts: {alerts}",
    ]
    lines += [f"- {entry}" for entry in result.history]
    return "\n".join(lines)
