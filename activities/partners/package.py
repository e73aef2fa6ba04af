"""The hand-off package: everything a partner receives about a case, as one JSON document.

Built from the hand-off's ``ChannelRequest`` (its context already holds the formatted figures
the letter states) and from the case's ledgers: every other document recouvre recorded for the
case (``channel_outbox``) or emailed (``deliveries``) is listed with its SHA-256, so the
partner can ask for exactly those documents and check what it gets. The rendered hand-off
document itself travels in full (``document.text``).

The package is deterministic for a given database state (no clock read), and its digest is the
SHA-256 of its canonical JSON (``canonical_json``): keys sorted, no spaces, UTF-8.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.channel_requests import ChannelRequest, reference_for
from activities.partners.settings import HandoffPartner, handoff_partner
from storage.tables import channel_outbox, deliveries

PACKAGE_VERSION = 1
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_AMOUNT = re.compile(r"(-?\d+)(?:,(\d{1,2}))?(\D*)")
_SIREN = re.compile(r"^(?P<name>.*?)\s*\(SIREN (?P<siren>[\d\s\u00a0\u202f]+)\)\s*$")
_FRENCH_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Party(_Model):
    """A person or company with its postal address (lines, the last "<postal code> <city>")."""

    name: str
    address_lines: list[str] = Field(default_factory=list)
    siren: str | None = None
    kind: str | None = Field(default=None, description="business, consumer or public (debtor)")
    email: str | None = None


class InvoiceRef(_Model):
    number: str
    issue_date: date | None = None
    due_date: date | None = None
    claim_basis: str = ""


class Decompte(_Model):
    """The statement of the claim: the strings the document prints ("" when a line is absent)
    and, when they parse, the same figures as decimals (None when absent or unparsable)."""

    currency: str = "EUR"
    principal: str = ""
    paid: str = ""
    balance: str = ""
    penalties: str = ""
    indemnity: str = ""
    total: str = ""
    principal_value: Decimal | None = None
    paid_value: Decimal | None = None
    balance_value: Decimal | None = None
    """The principal still due: the most a partner's collection can settle on the case."""
    penalties_value: Decimal | None = None
    indemnity_value: Decimal | None = None
    total_value: Decimal | None = None
    as_of: str = ""
    rates_note: str = ""


DocumentSource = Literal["handoff", "channel_outbox", "deliveries"]


class DocumentRef(_Model):
    """One document of the case, identified by its digest."""

    source: DocumentSource
    step: str
    channel: str
    reference: str
    """The ledger's reference (outbox reference, or the email's Message-ID)."""
    sha256: str
    title: str = ""
    """Template id (outbox) or subject (email)."""
    status: str = ""
    recorded_at: datetime | None = None


class HandoffDocument(_Model):
    """The rendered hand-off document (mandate letter / request to the commissaire)."""

    template: str
    reference: str
    sha256: str
    text: str


class HandoffPackage(_Model):
    """What ``POST /v1/mandates`` carries."""

    package_version: int = PACKAGE_VERSION
    idempotency_key: str
    case_id: str
    tenant: str
    step: str
    partner_kind: HandoffPartner
    partner: Party
    """The addressee of the hand-off document, as the request names it."""
    creditor: Party
    debtor: Party
    invoice: InvoiceRef
    decompte: Decompte
    notice_date: str = ""
    """First presentation of the formal notice, as printed (dd/mm/yyyy)."""
    title_description: str = ""
    """Enforcement: the enforceable title."""
    small_claims_issuer: str = ""
    """Enforcement: the commissaire who issued a small-claims title (CPCE R125-8)."""
    document: HandoffDocument
    documents: list[DocumentRef]
    """Every document of the case, the hand-off document first."""

    def canonical_json(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json()).hexdigest()


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no insignificant spaces, UTF-8: the bytes that are hashed and sent."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_french_amount(text: str) -> tuple[Decimal, str] | None:
    """'1 234,50 €' -> (Decimal('1234.50'), 'EUR'); None for "" or anything else."""
    compact = _SPACES.sub("", text or "")
    match = _AMOUNT.fullmatch(compact)
    if match is None:
        return None
    whole, cents, symbol = match.groups()
    try:
        value = Decimal(f"{whole}.{(cents or '0').ljust(2, '0')}")
    except InvalidOperation:
        return None
    currency = "EUR" if symbol in ("€", "") else symbol
    return value, currency


def parse_french_date(text: str) -> date | None:
    """'31/10/2026' -> date(2026, 10, 31); None otherwise."""
    match = _FRENCH_DATE.match((text or "").strip())
    if match is None:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def decompte_from(context: dict[str, str]) -> Decompte:
    figures: dict[str, Any] = {}
    currency = "EUR"
    for name in ("principal", "paid", "balance", "penalties", "indemnity", "total"):
        text = context.get(name, "")
        figures[name] = text
        parsed = parse_french_amount(text)
        figures[f"{name}_value"] = parsed[0] if parsed else None
        if parsed:
            currency = parsed[1]
    return Decompte(
        currency=currency,
        as_of=context.get("as_of", "") or context.get("document_date", ""),
        rates_note=context.get("rates_note", ""),
        **figures,
    )


def debtor_from(request: ChannelRequest) -> Party:
    """The debtor as the hand-off context names it (the request's recipient is the partner);
    for a request addressed to the debtor, its recipient."""
    context = request.context
    kind = context.get("debtor_kind") or None
    if not context.get("debtor_name"):
        recipient = request.recipient
        return Party(
            name=recipient.name,
            address_lines=list(recipient.address_lines),
            kind=kind,
            email=recipient.email,
        )
    name, siren = context["debtor_name"], None
    match = _SIREN.match(name)
    if match is not None:
        name, siren = match["name"], _SPACES.sub("", match["siren"])
    return Party(
        name=name, address_lines=_lines(context.get("debtor_address", "")), siren=siren, kind=kind
    )


async def case_documents(engine: AsyncEngine, case_id: str, exclude_key: str) -> list[DocumentRef]:
    """The case's other recorded documents, oldest first: outbox rows, then emails."""
    found: list[DocumentRef] = []
    async with engine.connect() as conn:
        outbox_rows = await conn.execute(
            select(channel_outbox)
            .where(
                channel_outbox.c.case_id == case_id,
                channel_outbox.c.idempotency_key != exclude_key,
            )
            .order_by(channel_outbox.c.created_at, channel_outbox.c.idempotency_key)
        )
        for row in outbox_rows:
            found.append(
                DocumentRef(
                    source="channel_outbox",
                    step=row.step,
                    channel=row.channel,
                    reference=row.reference,
                    sha256=row.body_sha256,
                    title=row.template,
                    status=row.status,
                    recorded_at=row.created_at,
                )
            )
        email_rows = await conn.execute(
            select(deliveries)
            .where(deliveries.c.case_id == case_id)
            .order_by(deliveries.c.created_at, deliveries.c.idempotency_key)
        )
        for row in email_rows:
            found.append(
                DocumentRef(
                    source="deliveries",
                    step=row.step,
                    channel=row.channel,
                    reference=row.message_id,
                    sha256=row.body_sha256,
                    title=row.subject,
                    status=row.status,
                    recorded_at=row.sent_at or row.created_at,
                )
            )
    return found


async def build_package(
    engine: AsyncEngine, request: ChannelRequest, document_body: str
) -> HandoffPackage:
    """The package for ``request`` (a hand-off to an agency or a commissaire de justice) whose
    rendered document is ``document_body``."""
    partner_kind = handoff_partner(request.partner)
    async with engine.connect() as conn:
        own = (
            await conn.execute(
                select(channel_outbox.c.reference, channel_outbox.c.created_at).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).first()
    reference = own.reference if own is not None else reference_for(request.idempotency_key)
    body_hash = hashlib.sha256(document_body.encode()).hexdigest()
    context = request.context
    handoff = DocumentRef(
        source="handoff",
        step=request.step,
        channel=request.channel,
        reference=reference,
        sha256=body_hash,
        title=request.template,
        status="recorded" if own is not None else "",
        recorded_at=own.created_at if own is not None else None,
    )
    others = await case_documents(engine, request.case_id, request.idempotency_key)
    return HandoffPackage(
        idempotency_key=request.idempotency_key,
        case_id=request.case_id,
        tenant=request.tenant,
        step=request.step,
        partner_kind=partner_kind,
        partner=Party(
            name=request.recipient.name,
            address_lines=list(request.recipient.address_lines),
            email=request.recipient.email,
        ),
        creditor=Party(
            name=context.get("creditor_name", ""),
            address_lines=_lines(context.get("creditor_address", "")),
        ),
        debtor=debtor_from(request),
        invoice=InvoiceRef(
            number=context.get("invoice_number", ""),
            issue_date=parse_french_date(context.get("issue_date", "")),
            due_date=parse_french_date(context.get("due_date", "")),
            claim_basis=context.get("claim_basis", ""),
        ),
        decompte=decompte_from(context),
        notice_date=context.get("notice_date", ""),
        title_description=context.get("title_description", ""),
        small_claims_issuer=context.get("small_claims_issuer", ""),
        document=HandoffDocument(
            template=request.template, reference=reference, sha256=body_hash, text=document_body
        ),
        documents=[handoff, *others],
    )
