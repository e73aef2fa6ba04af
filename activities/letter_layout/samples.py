"""Sample contexts of every letter kind for every debtor kind: tests and page images.

Shaped like the workflow's (workflows/step_requests.py ``claim_context`` plus the keys each
step adds), amounts formatted by schemas.french_format as the workflow formats them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from activities.channel_requests import Recipient
from activities.letter_layout.builder import LETTER_KEYS
from activities.letter_layout.document import DebtorKind, LetterKind
from schemas.french_format import french_amount

TEMPLATES: dict[LetterKind, str] = {
    "reminder_3": "reminder_3@1",
    "formal_notice": "formal_notice@1",
    "handoff_small_claims": "handoff_small_claims@2",
    "handoff_agency": "handoff_agency@1",
    "handoff_enforcement": "handoff_enforcement@1",
    "injonction_de_payer": "injonction_de_payer@1",
    "claim_declaration": "claim_declaration@1",
    "payment_receipt": "payment_receipt@1",
}
"""The template each letter kind is rendered from: the version the workflow and the shipped
policies use. Newer versions (``injonction_de_payer@2``, ``reminder_3@2``, ``formal_notice@2``,
``handoff_agency@2``, ``handoff_small_claims@3``) take these contexts plus the creditor keys
of activities/creditor_identity.py (tests/letter_layout/test_legal_identity.py)."""

DEBTORS: dict[DebtorKind, tuple[str, str, tuple[str, ...]]] = {
    "business": (
        "Durand SARL",
        "Durand SARL (SIREN 732 829 320)",
        ("Service comptabilité", "12 rue de la Paix", "75002 Paris"),
    ),
    "consumer": ("Mme Claire Martin", "Mme Claire Martin", ("8 allée des Tilleuls", "69003 Lyon")),
    "public": (
        "Commune de Montreuil",
        "Commune de Montreuil (SIREN 219 300 480)",
        ("Direction des finances", "Place Jean Jaurès", "93100 Montreuil"),
    ),
}

PARTNERS: dict[LetterKind, tuple[str, tuple[str, ...]]] = {
    "handoff_small_claims": (
        "Me Sophie Bernard, commissaire de justice",
        ("SELARL Bernard & Associés", "4 rue de Lille", "75007 Paris"),
    ),
    "handoff_agency": ("Recouvrement Conseil SAS", ("25 avenue de l'Opéra", "75001 Paris")),
    "handoff_enforcement": (
        "Me Paul Lefèvre, commissaire de justice",
        ("10 boulevard Haussmann", "75009 Paris"),
    ),
    "injonction_de_payer": (
        "Madame, Monsieur le Président du tribunal compétent",
        ("(lieu du domicile du débiteur)",),
    ),
    "claim_declaration": (
        "Me Anne Roux, mandataire judiciaire",
        ("3 quai Saint-Vincent", "69001 Lyon"),
    ),
}

CLAIM_CONTEXT_KEYS = frozenset(
    {
        "creditor_name",
        "creditor_address",
        "payment_instructions",
        "document_date",
        "invoice_number",
        "issue_date",
        "due_date",
        "claim_basis",
        "debtor_name",
        "debtor_address",
        "notice_date",
        "contact_phone",
        "title_description",
        "small_claims_issuer",
        "principal",
        "paid",
        "balance",
        "debtor_kind",
        "as_of",
        "penalties",
        "indemnity",
        "total",
        "rates_note",
    }
)
"""The keys every step's context has (workflows/step_requests.py ``claim_context`` and
workflows/case_activities.py ``_channel``), whatever its template uses."""

PRINCIPAL = Decimal("1200.00")
PAID = Decimal("200.00")
INDEMNITY = Decimal("40.00")
PENALTIES: dict[DebtorKind, Decimal] = {
    "business": Decimal("18.21"),
    "public": Decimal("14.93"),
    "consumer": Decimal("3.12"),
}


def _amounts(kind: LetterKind, debtor: DebtorKind) -> dict[str, Decimal | None]:
    balance = PRINCIPAL - PAID
    if kind == "payment_receipt":
        return {"paid": PRINCIPAL, "balance": Decimal(0), "penalties": None, "indemnity": None}
    # A consumer's interest runs only from the formal notice's first presentation
    # (C. civ. 1231-6, 1344-1): none in the last reminder nor in the notice itself.
    consumer_before_notice = debtor == "consumer" and kind in ("reminder_3", "formal_notice")
    penalties = None if consumer_before_notice else PENALTIES[debtor]
    indemnity = None if debtor == "consumer" else INDEMNITY
    return {"paid": PAID, "balance": balance, "penalties": penalties, "indemnity": indemnity}


def sample_context(kind: LetterKind, debtor: DebtorKind) -> dict[str, str]:
    """The context of ``kind`` for a debtor of kind ``debtor``: exactly the template's keys."""
    amounts = _amounts(kind, debtor)
    paid, balance = amounts["paid"], amounts["balance"]
    penalties, indemnity = amounts["penalties"], amounts["indemnity"]
    assert paid is not None and balance is not None
    total = balance + (penalties or 0) + (indemnity or 0)
    _, debtor_name, debtor_lines = DEBTORS[debtor]
    values = {
        "creditor_name": "Démo Créancier SAS",
        "creditor_address": "1 place de la Bourse\n75002 Paris",
        "document_date": "02/12/2026",
        "as_of": "02/12/2026",
        "invoice_number": "F-2026-0042",
        "issue_date": "01/10/2026",
        "due_date": "31/10/2026",
        "debtor_kind": debtor,
        "debtor_name": debtor_name,
        "debtor_address": "\n".join(debtor_lines),
        "principal": french_amount(PRINCIPAL),
        "paid": french_amount(paid) if paid else "",
        "balance": french_amount(balance),
        "penalties": french_amount(penalties) if penalties is not None else "",
        "indemnity": french_amount(indemnity) if indemnity is not None else "",
        "total": french_amount(total),
        "claimed": french_amount(balance + (penalties or 0)),
        "payment_instructions": "par virement sur l'IBAN FR76 3000 6000 0112 3456 7890 189 "
        "(BIC AGRIFRPP)",
        "deadline_days": "15" if debtor == "consumer" else "8",
        "contact_phone": "",
        "claim_basis": "maintenance informatique, commande BC-12 du 15/09/2026",
        "notice_date": "19/11/2026",
        "title_description": "ordonnance d'injonction de payer du président du tribunal de "
        "commerce de Paris du 12/01/2027, revêtue de la formule exécutoire",
        "small_claims_issuer": "",
        "proceeding": "redressement judiciaire ouvert par jugement du tribunal de commerce de "
        "Lyon du 02/11/2026",
        "publication_date": "10/11/2026",
        "declaration_deadline": "10/01/2027",
        "payment_date": "28/11/2026",
        "payment_amount": french_amount(PRINCIPAL - PAID),
        "rates_note": "",
    }
    keys = LETTER_KEYS[TEMPLATES[kind]] | CLAIM_CONTEXT_KEYS
    return {key: values[key] for key in sorted(keys)}


def sample_recipient(kind: LetterKind, debtor: DebtorKind) -> Recipient:
    """The debtor for its own letters, the partner, court or mandataire for the others."""
    if kind in PARTNERS:
        name, lines = PARTNERS[kind]
    else:
        name, _, lines = DEBTORS[debtor]
    return Recipient(name=name, address_lines=list(lines))


GROUPED_TEMPLATES: dict[str, LetterKind] = {
    "grouped_statement@1": "reminder_3",
    "grouped_formal_notice@1": "formal_notice",
}
"""The grouped letters (activities/letter_layout/grouped.py) and the single letter whose
context each of their invoices has."""


def sample_grouped_items(template: str, debtor: DebtorKind, count: int = 3) -> list[dict[str, str]]:
    """``count`` invoices of one debtor for the grouped letter ``template``, each with the
    context its single letter would get: different numbers, dates and amounts, every other
    one partly paid; penalties and indemnity as ``sample_context`` has them."""
    kind = GROUPED_TEMPLATES[template]
    base = sample_context(kind, debtor)
    items: list[dict[str, str]] = []
    for index in range(count):
        issued = date(2026, 6, 1) + timedelta(days=3 * index)
        principal = PRINCIPAL + Decimal(150) * index
        paid = PAID if index % 2 == 0 else Decimal(0)
        amounts = _amounts(kind, debtor)
        penalties = (
            None if amounts["penalties"] is None else PENALTIES[debtor] + Decimal("2.35") * index
        )
        indemnity = amounts["indemnity"]
        balance = principal - paid
        total = balance + (penalties or 0) + (indemnity or 0)
        items.append(
            base
            | {
                "invoice_number": f"F-2026-{42 + index:04d}",
                "issue_date": issued.strftime("%d/%m/%Y"),
                "due_date": (issued + timedelta(days=30)).strftime("%d/%m/%Y"),
                "principal": french_amount(principal),
                "paid": french_amount(paid) if paid else "",
                "balance": french_amount(balance),
                "penalties": french_amount(penalties) if penalties is not None else "",
                "indemnity": french_amount(indemnity) if indemnity is not None else "",
                "total": french_amount(total),
            }
        )
    return items
