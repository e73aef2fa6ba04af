"""The write-off report for the creditor's accountant: JSON-ready data and a CSV journal.

``write_off_report`` renders a ``WriteOffAssessment`` (legal/write_off.py) as a dict of
plain JSON types: amounts as exact 2-decimal strings ("1234.56"), dates in ISO 8601.
``write_off_csv`` renders its entries as one CSV row per entry line, the columns an
accounting import expects: date, journal, account, label, debit, credit, piece. Amounts
are exact to the cent in both formats; ``french=True`` writes French headers, dates
(31/12/2025) and decimal commas (1234,56, no thousands separator so that imports parse
it). The delimiter is always ``;`` so a decimal comma never splits a cell.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) are prefixed with an apostrophe; amounts never are.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from legal.money import format_amount
from legal.write_off import (
    JournalEntry,
    WriteOffAssessment,
    rectification_mention_fr,
)

CSV_COLUMNS = ("date", "journal", "account", "label", "debit", "credit", "piece")
CSV_COLUMNS_FR = ("Date", "Journal", "Compte", "Libellé", "Débit", "Crédit", "Pièce")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _entry_json(entry: JournalEntry) -> dict[str, Any]:
    return {
        "date": entry.on.isoformat(),
        "journal": entry.journal,
        "piece": entry.piece,
        "stage": entry.stage,
        "description": entry.description,
        "lines": [
            {
                "account": line.account,
                "account_name": line.account_name,
                "label": line.label,
                "debit": format_amount(line.debit),
                "credit": format_amount(line.credit),
            }
            for line in entry.lines
        ],
        "total_debit": format_amount(entry.total_debit),
        "total_credit": format_amount(entry.total_credit),
        "balanced": entry.balanced,
    }


def write_off_report(assessment: WriteOffAssessment) -> dict[str, Any]:
    """The write-off as JSON-ready data (amounts as exact 2-decimal strings)."""
    a = assessment
    total_debit = sum((entry.total_debit for entry in a.entries), Decimal("0.00"))
    total_credit = sum((entry.total_credit for entry in a.entries), Decimal("0.00"))
    return {
        "invoice": {
            "reference": a.invoice_reference,
            "date": a.invoice_date.isoformat(),
            "amount_ttc": format_amount(a.principal_ttc),
            "amount_ht": format_amount(a.invoice_ht),
            "vat": format_amount(a.invoice_vat),
            "vat_rate": None if a.vat_rate is None else str(a.vat_rate),
            "vat_source": a.vat_source,
        },
        "assessed_on": a.assessed_on.isoformat(),
        "debtor_kind": a.debtor_kind.value,
        "vat_exigibility": a.vat_exigibility.value,
        "payments": {
            "total": format_amount(a.paid),
            "to_principal": format_amount(a.paid_to_principal),
            "beyond_principal": format_amount(a.paid_beyond_principal),
        },
        "unpaid": {
            "ttc": format_amount(a.unpaid_ttc),
            "ht": format_amount(a.unpaid_ht),
            "vat": format_amount(a.unpaid_vat),
        },
        "accessories": {
            "penalties": format_amount(a.penalties),
            "indemnity": format_amount(a.indemnity),
            "unpaid": format_amount(a.accessories_unpaid),
            "vat": "0.00",
            "booked": a.accessories_booked,
            "basis": "C. com. L441-10, D441-5; CGI art. 256-I; BOI-TVA-BASE-10-10-10",
        },
        "evidence": [
            {
                "kind": item.kind.value,
                "label_fr": item.rule.label_fr,
                "label_en": item.rule.label_en,
                "on": item.on.isoformat(),
                "reference": item.reference,
                "issuer": item.issuer,
                "strength": item.rule.strength,
                "loss_deductible": item.rule.loss_deductible,
                "vat_recoverable": item.rule.vat_recoverable,
                "basis": item.rule.basis,
            }
            for item in a.evidence
        ],
        "deciding_evidence": a.deciding_evidence.kind.value,
        "treatment": a.treatment,
        "loss_deductible": a.loss_deductible,
        "vat": {
            "status": a.vat_status,
            "recoverable": format_amount(a.vat_recoverable),
            "right_opened_on": _iso(a.vat_right_opened_on),
            "claim_deadline": _iso(a.vat_claim_deadline),
            "deadline_basis": "LPF R*196-1 c; CGI ann. II art. 208",
            "rectification_required": a.rectification_required,
            "rectification_mention_fr": rectification_mention_fr(a),
        },
        "provision": {
            "rate": str(a.provision_rate),
            "base": format_amount(a.provision_base),
            "amount": format_amount(a.provision),
        },
        "written_off": format_amount(a.written_off),
        "loss": format_amount(a.loss),
        "entries": [_entry_json(entry) for entry in a.entries],
        "totals": {
            "debit": format_amount(total_debit),
            "credit": format_amount(total_credit),
            "balanced": a.balanced and total_debit == total_credit,
        },
        "notes": list(a.notes),
        "articles": list(a.articles),
    }


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _amount(value: Decimal, french: bool) -> str:
    text = format_amount(value)
    return text.replace(".", ",") if french else text


def csv_rows(assessment: WriteOffAssessment, *, french: bool = False) -> list[list[str]]:
    """The journal lines as CSV rows (header first), in posting order."""
    rows = [list(CSV_COLUMNS_FR if french else CSV_COLUMNS)]
    for entry in assessment.entries:
        day = entry.on.strftime("%d/%m/%Y") if french else entry.on.isoformat()
        for line in entry.lines:
            rows.append(
                [
                    day,
                    _text(entry.journal),
                    line.account,
                    _text(line.label),
                    _amount(line.debit, french),
                    _amount(line.credit, french),
                    _text(entry.piece),
                ]
            )
    return rows


def write_off_csv(assessment: WriteOffAssessment, *, french: bool = False) -> str:
    """The entries as a ``;``-separated CSV (CRLF line ends, RFC 4180 quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows(csv_rows(assessment, french=french))
    return buffer.getvalue()
