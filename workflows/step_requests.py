"""Build what each step asks of its channel: pure functions of the case and its invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from activities.channel_requests import ChannelName, ChannelRequest, PartnerKind, Recipient
from activities.email_request import EmailRequest
from legal import FIXED_INDEMNITY, LegalError, RateTable, Statement
from schemas.case import CaseView
from schemas.french_format import french_amount, french_date
from schemas.invoice import InvoiceIn
from schemas.policy import Policy
from workflows.claim import statement_for


def email_request(case: CaseView, invoice: InvoiceIn, step: str, template: str) -> EmailRequest:
    return EmailRequest(
        idempotency_key=f"{case.case_id}/{step}",
        case_id=case.case_id,
        tenant=case.tenant,
        step=step,
        template=template,
        to=str(invoice.debtor.email),
        debtor_name=invoice.debtor.name,
        debtor_kind=invoice.debtor.kind.value,
        invoice_number=invoice.invoice_number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount_due=invoice.amount_due,
        balance=case.balance,
        currency=invoice.currency,
    )


def recipient(invoice: InvoiceIn, name: str | None = None) -> Recipient:
    address = invoice.debtor.address
    lines = [address.line1, *([address.line2] if address.line2 else [])]
    lines.append(f"{address.postal_code} {address.city}")
    return Recipient(
        name=name or invoice.debtor.name, email=str(invoice.debtor.email), address_lines=lines
    )


def claim_context(
    case: CaseView, invoice: InvoiceIn, rates: RateTable | None, as_of: date
) -> tuple[dict[str, str], Statement | None]:
    """The amounts a letter states. A rate that is not configured is said, never guessed."""
    money = case.currency
    debtor = invoice.debtor
    siren = f" (SIREN {debtor.siren})" if debtor.siren else ""
    notice = case.formal_notice
    presented = notice.first_presented_on if notice is not None else None
    context = {
        "document_date": french_date(as_of),
        "invoice_number": invoice.invoice_number,
        "issue_date": french_date(invoice.issue_date),
        "due_date": french_date(invoice.due_date),
        "claim_basis": f"facture n° {invoice.invoice_number} du {french_date(invoice.issue_date)}",
        "debtor_name": f"{debtor.name}{siren}",
        "debtor_address": "\n".join(recipient(invoice).address_lines),
        "notice_date": french_date(presented) if presented else "",
        "contact_phone": "",
        "title_description": "",
        "small_claims_issuer": "",
        "principal": french_amount(case.amount_due - case.credited, money),
        "paid": french_amount(case.paid_total, money) if case.paid_total else "",
        "balance": french_amount(case.balance, money),
        "debtor_kind": case.debtor_kind,
        "as_of": french_date(as_of),
        "penalties": "",
        "indemnity": "",
        "total": french_amount(case.balance, money),
        "rates_note": "",
    }
    # The 40 EUR indemnity (C. com. D441-5, C. commande publique D2192-35) needs no rate:
    # it is claimed even when the penalties cannot be computed.
    indemnity_only = FIXED_INDEMNITY if case.debtor_kind != "consumer" else Decimal(0)
    failure = "barème absent" if rates is None else ""
    statement = None
    if rates is not None:
        try:
            statement = statement_for(case, rates, as_of)
        except LegalError as err:
            failure = str(err)
    if statement is None:
        context["rates_note"] = f"pénalités non calculées : {failure}"
        if indemnity_only:
            context["indemnity"] = french_amount(indemnity_only, money)
            context["total"] = french_amount(case.balance + indemnity_only, money)
        return context, None
    context["penalties"] = french_amount(statement.penalties, money)
    if statement.indemnity > 0:
        context["indemnity"] = french_amount(statement.indemnity, money)
    context["total"] = french_amount(statement.total, money)
    return context, statement


def channel_request(
    case: CaseView,
    invoice: InvoiceIn,
    step: str,
    channel: ChannelName,
    template: str,
    context: dict[str, str],
    partner: PartnerKind | None = None,
    to: Recipient | None = None,
) -> ChannelRequest:
    return ChannelRequest(
        idempotency_key=f"{case.case_id}/{step}/{channel}",
        case_id=case.case_id,
        tenant=case.tenant,
        step=step,
        channel=channel,
        template=template,
        recipient=to or recipient(invoice),
        partner=partner,
        context=context,
    )


PARTNERS: dict[str, str] = {
    "agency": "Agence de recouvrement partenaire",
    "commissaire_small_claims": "Commissaire de justice partenaire (procédure simplifiée)",
    "commissaire_enforcement": "Commissaire de justice partenaire (exécution)",
    "court": "Monsieur le Président du tribunal compétent (lieu du domicile du débiteur)",
}


def partner_recipient(partner: str) -> Recipient:
    """Who receives a hand-off; issue 5 replaces these with configured partners."""
    return Recipient(name=PARTNERS[partner])


def deadline_days(policy: Policy) -> str:
    """The formal notice's deadline as letters state it ("8"), or raw seconds for demos."""
    delta = policy.formal_notice_deadline
    return str(delta.days) if delta.seconds == 0 else f"{int(delta.total_seconds())} s"
