"""Build what each step asks of its channel: pure functions of the case and its invoice."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from activities.channel_requests import ChannelName, ChannelRequest, PartnerKind, Recipient
from activities.debtor_contact import identity_context, placeholder, recipient_of
from activities.email_request import EmailRequest
from legal import FIXED_INDEMNITY, LegalError, RateTable, Statement
from schemas.case import CaseView
from schemas.debtor import CaseInvoice, DebtorRef
from schemas.french_format import french_amount, french_date
from schemas.policy import Policy
from workflows.claim import statement_for


def email_request(case: CaseView, invoice: CaseInvoice, step: str, template: str) -> EmailRequest:
    debtor = invoice.debtor
    if isinstance(debtor, DebtorRef):
        to, name, debtor_id = placeholder(debtor.debtor_id), "", debtor.debtor_id
    else:
        to, name, debtor_id = str(debtor.email), debtor.name, None
    return EmailRequest(
        idempotency_key=f"{case.case_id}/{step}",
        case_id=case.case_id,
        tenant=case.tenant,
        step=step,
        template=template,
        to=to,
        debtor_name=name,
        debtor_kind=debtor.kind.value,
        debtor_id=debtor_id,
        invoice_number=invoice.invoice_number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount_due=invoice.amount_due,
        balance=case.balance,
        currency=invoice.currency,
    )


def recipient(invoice: CaseInvoice) -> Recipient:
    """The debtor as a letter's recipient: by id when the vault holds its identity."""
    debtor = invoice.debtor
    if isinstance(debtor, DebtorRef):
        return Recipient(name=placeholder(debtor.debtor_id), debtor_id=debtor.debtor_id)
    return recipient_of(debtor)


def claim_context(
    case: CaseView, invoice: CaseInvoice, rates: RateTable | None, as_of: date
) -> tuple[dict[str, str], Statement | None]:
    """The amounts a letter states. A rate that is not configured is said, never guessed.
    The debtor's name and address are added by the activity when the vault holds them."""
    money = case.currency
    debtor = invoice.debtor
    identity = (
        {"debtor_name": "", "debtor_address": ""}
        if isinstance(debtor, DebtorRef)
        else identity_context(debtor)
    )
    notice = case.formal_notice
    presented = notice.first_presented_on if notice is not None else None
    context = {
        "document_date": french_date(as_of),
        "invoice_number": invoice.invoice_number,
        "issue_date": french_date(invoice.issue_date),
        "due_date": french_date(invoice.due_date),
        "claim_basis": f"facture n° {invoice.invoice_number} du {french_date(invoice.issue_date)}",
        **identity,
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
        "complaint_refused": "yes" if case.complaint_refused else "no",
    }
    # The 40 EUR indemnity (C. com. D441-5, C. commande publique D2192-35) needs no rate:
    # it is claimed even when the penalties cannot be computed.
    indemnity_only = claimed_total(case, None) - case.balance
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
            context["total"] = french_amount(claimed_total(case, None), money)
        return context, None
    context["penalties"] = french_amount(statement.penalties, money)
    if statement.indemnity > 0:
        context["indemnity"] = french_amount(statement.indemnity, money)
    context["total"] = french_amount(statement.total, money)
    # Each period and its rate, for the letters that state them (activities/letter_layout).
    context["rate_periods_json"] = json.dumps(
        [period.model_dump(mode="json") for period in statement.rate_periods]
    )
    return context, statement


def claimed_total(case: CaseView, statement: Statement | None) -> Decimal:
    """What a letter's total claims: the statement's total, else the balance and (but for
    a consumer) the 40 EUR indemnity, as ``claim_context`` states it."""
    if statement is not None:
        return statement.total
    indemnity = FIXED_INDEMNITY if case.debtor_kind != "consumer" else Decimal(0)
    return case.balance + indemnity


def channel_request(
    case: CaseView,
    invoice: CaseInvoice,
    step: str,
    channel: ChannelName,
    template: str,
    context: dict[str, str],
    partner: PartnerKind | None = None,
    to: Recipient | None = None,
) -> ChannelRequest:
    key = f"{case.case_id}/{step}/{channel}"
    undelivered = sum(1 for problem in case.letter_problems if problem.final)
    if channel == "registered_letter" and undelivered:
        key += f"/{undelivered + 1}"  # a new letter: the one before will never be delivered
    return ChannelRequest(
        idempotency_key=key,
        case_id=case.case_id,
        tenant=case.tenant,
        step=step,
        channel=channel,
        template=template,
        recipient=to or recipient(invoice),
        partner=partner,
        context=context,
        debtor_id=invoice.debtor_id,
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
