"""What a laid-out letter says, as typed data: the builder fills it, the templates lay it out.

Every value is final text (amounts like "1 200,00 €", dates like "2 décembre 2026"): the
templates only place it, so the HTML preview, the PDF and the plain-text letter of the same
context state the same figures.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Literal

LetterKind = Literal[
    "reminder_3",
    "formal_notice",
    "handoff_small_claims",
    "handoff_agency",
    "handoff_enforcement",
    "injonction_de_payer",
    "claim_declaration",
    "payment_receipt",
]
LETTER_KINDS: tuple[LetterKind, ...] = (
    "reminder_3",
    "formal_notice",
    "handoff_small_claims",
    "handoff_agency",
    "handoff_enforcement",
    "injonction_de_payer",
    "claim_declaration",
    "payment_receipt",
)
DebtorKind = Literal["business", "consumer", "public"]
DEBTOR_KINDS: tuple[DebtorKind, ...] = ("business", "consumer", "public")


@dataclass(frozen=True)
class Logo:
    """An image drawn in the letterhead, embedded in the document (a data: URI)."""

    media_type: str
    data_uri: str


@dataclass(frozen=True)
class Party:
    """A name and its postal lines; a SIREN (9 digits, formatted) when known."""

    name: str
    address_lines: tuple[str, ...] = ()
    siren: str = ""
    logo: Logo | None = None


@dataclass(frozen=True)
class ClaimRow:
    """One invoice of the décompte. ``balance`` is what is claimed for it: principal +
    penalties (or interest) + indemnity - paid."""

    invoice: str
    issue_date: str
    due_date: str
    principal: str
    penalties: str
    indemnity: str
    paid: str
    balance: str


@dataclass(frozen=True)
class ClaimTotals:
    principal: str
    penalties: str
    indemnity: str
    paid: str
    balance: str


@dataclass(frozen=True)
class ClaimTable:
    """The décompte as a grid, with its total row. A column that does not apply to the
    letter (the indemnity for a consumer, or in a small-claims request) is not shown."""

    rows: tuple[ClaimRow, ...]
    totals: ClaimTotals
    penalties_label: str
    show_penalties: bool
    show_indemnity: bool
    balance_label: str
    caption: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """A mandatory mention: its text as printed, and the rule that requires it."""

    key: str
    text: str
    source: str
    """The article(s) it rests on, e.g. "C. com. L441-10 II, D441-5"."""


@dataclass(frozen=True)
class Section:
    """A titled block: the debtor of a hand-off, a list of enclosures, a quoted article."""

    title: str
    lines: tuple[str, ...]
    style: Literal["lines", "list", "numbered", "quote"] = "lines"
    position: Literal["before_table", "after_table"] = "after_table"


@dataclass(frozen=True)
class LetterDocument:
    kind: LetterKind
    template: str
    """The text template of the same context (e.g. "formal_notice@1"), for traceability."""
    debtor_kind: DebtorKind
    creditor: Party
    recipient: Party
    place: str
    date: date
    date_line: str
    """e.g. "Paris, le 2 décembre 2026"."""
    reference: str
    object: str
    """The subject line without its "Objet :" label."""
    banner: str
    """A line above the object, e.g. the LRAR mention; may be empty."""
    salutation: str
    paragraphs: tuple[str, ...]
    """Before the table."""
    table: ClaimTable
    after_table: tuple[str, ...]
    sections: tuple[Section, ...]
    mentions: tuple[Mention, ...]
    closing: str
    signature: tuple[str, ...]
    title: str
    """The PDF's title metadata."""
    created_at: datetime
    """The PDF's creation and modification dates: fixed by the input, never the clock."""
    notice: str = ""
    """A warning printed above everything, e.g. a draft court request's status."""
    portal_url: str = ""
    """The debtor's personal portal link, printed with its QR code (portal_block.py);
    empty: none (not a letter to the debtor, no portal, or kept before the portal)."""


def document_to_json(doc: LetterDocument) -> str:
    """The document as JSON (sorted keys, dates in ISO 8601): what an outbox row can keep so
    that the dossier and the provider re-render the very same letter later."""
    data = asdict(doc)
    data["date"] = doc.date.isoformat()
    data["created_at"] = doc.created_at.isoformat()
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def document_from_json(text: str) -> LetterDocument:
    """The inverse of ``document_to_json``."""
    data: dict[str, Any] = json.loads(text)

    def party(value: dict[str, Any]) -> Party:
        logo = value.get("logo")
        return Party(
            name=value["name"],
            address_lines=tuple(value["address_lines"]),
            siren=value["siren"],
            logo=Logo(**logo) if logo else None,
        )

    table = data["table"]
    return LetterDocument(
        **{
            **data,
            "creditor": party(data["creditor"]),
            "recipient": party(data["recipient"]),
            "date": date.fromisoformat(data["date"]),
            "created_at": datetime.fromisoformat(data["created_at"]),
            "paragraphs": tuple(data["paragraphs"]),
            "after_table": tuple(data["after_table"]),
            "signature": tuple(data["signature"]),
            "mentions": tuple(Mention(**m) for m in data["mentions"]),
            "sections": tuple(
                Section(**{**s, "lines": tuple(s["lines"])}) for s in data["sections"]
            ),
            "table": ClaimTable(
                **{
                    **table,
                    "rows": tuple(ClaimRow(**row) for row in table["rows"]),
                    "totals": ClaimTotals(**table["totals"]),
                    "notes": tuple(table["notes"]),
                }
            ),
        }
    )
