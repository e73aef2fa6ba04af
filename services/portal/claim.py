"""What the portal shows a debtor: their open invoices with one creditor, what each
claims today, and the documents already sent, read from the read model (table
``case_views``) so the page answers even while no worker runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from legal import LegalError
from projections.calendar import today
from projections.case_view_store import debtor_case_views
from schemas.case import CaseView, HoldKind
from services.api.deps import Runtime
from storage.debtor_vault import DebtorErased, UnknownDebtor
from workflows.claim import statement_for

ZERO = Decimal("0.00")
CHANNELS = {
    "email": "Courriel",
    "letter": "Courrier",
    "letter_and_email": "Courrier et courriel",
    "registered_letter": "Lettre recommandée",
}
"""The channels whose actions are documents the debtor received (not calls, hand-offs)."""
HOLDS = {
    HoldKind.dispute: "Contestation en cours d'examen",
    HoldKind.promise: "Promesse de paiement enregistrée",
    HoldKind.payment_plan: "Échéancier en cours",
}


@dataclass(frozen=True)
class InvoiceLine:
    case_id: str
    invoice_number: str
    due_date: date
    amount_due: Decimal
    balance: Decimal
    penalties: Decimal
    indemnity: Decimal
    total: Decimal
    currency: str
    status: list[str]


@dataclass(frozen=True)
class SentDocument:
    at: datetime
    label: str
    channel: str
    invoice_number: str


@dataclass
class Claim:
    tenant: str
    debtor_id: str
    debtor_name: str
    business: bool
    invoices: list[InvoiceLine] = field(default_factory=list)
    documents: list[SentDocument] = field(default_factory=list)
    as_of: date = field(default_factory=today)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.invoices), ZERO)

    @property
    def balance(self) -> Decimal:
        return sum((line.balance for line in self.invoices), ZERO)

    @property
    def with_penalties(self) -> bool:
        return any(line.penalties or line.indemnity for line in self.invoices)

    def invoice(self, case_id: str) -> InvoiceLine | None:
        return next((line for line in self.invoices if line.case_id == case_id), None)


def _line(runtime: Runtime, view: CaseView, as_of: date) -> InvoiceLine:
    penalties = indemnity = ZERO
    total = view.balance
    if view.debtor_kind != "consumer":
        # The décompte of C. com. L441-10 (penalties, the 40 € indemnity), as the console
        # shows it; a rate not configured leaves the balance alone rather than guessing.
        try:
            statement = statement_for(view, runtime.rates, as_of)
        except LegalError:
            statement = None
        if statement is not None:
            penalties, indemnity, total = statement.penalties, statement.indemnity, statement.total
    status = [HOLDS[h.kind] for h in view.holds if h.kind in HOLDS]
    return InvoiceLine(
        case_id=view.case_id,
        invoice_number=view.invoice_number,
        due_date=view.due_date,
        amount_due=view.amount_due,
        balance=view.balance,
        penalties=penalties,
        indemnity=indemnity,
        total=total,
        currency=view.currency,
        status=status,
    )


async def load_claim(runtime: Runtime, tenant: str, debtor_id: str) -> Claim | None:
    """The debtor's claim; None for a debtor the vault does not know or has erased (the
    link then opens nothing, as an expired one would)."""
    as_of = today()
    async with runtime.reads.connect() as conn:
        try:
            identity = await runtime.debtors.identity(conn, tenant, debtor_id)
        except (UnknownDebtor, DebtorErased):
            return None
        views = await debtor_case_views(conn, tenant, [debtor_id])
    claim = Claim(
        tenant=tenant,
        debtor_id=debtor_id,
        debtor_name=identity.name,
        business=identity.kind.value != "consumer",
        as_of=as_of,
    )
    for view in views:
        if view.outcome is None and view.closed_at is None and view.balance > 0:
            claim.invoices.append(_line(runtime, view, as_of))
        for action in view.actions:
            if action.status == "sent" and action.channel.value in CHANNELS:
                claim.documents.append(
                    SentDocument(
                        at=action.done_at,
                        label=action.label,
                        channel=CHANNELS[action.channel.value],
                        invoice_number=view.invoice_number,
                    )
                )
    claim.invoices.sort(key=lambda line: (line.due_date, line.invoice_number))
    claim.documents.sort(key=lambda doc: doc.at, reverse=True)
    return claim
