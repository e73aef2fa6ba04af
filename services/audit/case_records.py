"""The rows an auditor reads about a case: its registration, emails and other documents.

Every query is scoped by tenant: a case of another tenant is not found, as the API says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.debtor_vault import FILE_PURPOSE, DebtorVault
from storage.tables import (
    case_files,
    cases,
    channel_outbox,
    deliveries,
    registered_letter_proofs,
    registered_letters,
)


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """The ``cases`` row: who owns the case, its workflow, and the invoice as posted."""

    case_id: str
    tenant: str
    invoice_number: str
    workflow_id: str
    policy_id: str
    policy_version: int
    invoice: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EmailRecord:
    """A row of the email ledger (the body itself is not kept: its SHA-256 is)."""

    idempotency_key: str
    step: str
    channel: str
    recipient: str
    subject: str
    message_id: str
    body_sha256: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    body: str | None = None
    """The text sent (None for emails sent before bodies were kept)."""


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A document of the other channels, with its full rendered body."""

    idempotency_key: str
    step: str
    channel: str
    template: str
    partner: str | None
    recipient: dict[str, Any]
    body: str
    body_sha256: str
    reference: str
    status: str
    created_at: datetime
    layout: str | None = None
    """The letter laid out (JSON), opened like ``body``; None before layouts or for tasks."""


def _case(row: Any) -> CaseRecord:
    return CaseRecord(
        case_id=row.case_id,
        tenant=row.tenant,
        invoice_number=row.invoice_number,
        workflow_id=row.workflow_id,
        policy_id=row.policy_id,
        policy_version=row.policy_version,
        invoice=dict(row.invoice),
        created_at=row.created_at,
    )


async def find_case(engine: AsyncEngine, tenant: str, case_id: str) -> CaseRecord | None:
    """The tenant's case, or None (also when the case belongs to another tenant)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(cases).where(cases.c.case_id == case_id, cases.c.tenant == tenant)
            )
        ).first()
    return None if row is None else _case(row)


async def find_cases(engine: AsyncEngine, tenant: str, case_ids: Sequence[str]) -> list[CaseRecord]:
    """The tenant's cases among ``case_ids`` (the others are left out)."""
    if not case_ids:
        return []
    async with engine.connect() as conn:
        found = await conn.execute(
            select(cases).where(cases.c.tenant == tenant, cases.c.case_id.in_(list(case_ids)))
        )
        return [_case(row) for row in found]


async def tenant_cases(
    engine: AsyncEngine, tenant: str, after: str | None, limit: int
) -> tuple[list[CaseRecord], bool]:
    """Up to ``limit`` of the tenant's cases in case id order after ``after``, and whether
    more remain."""
    query = select(cases).where(cases.c.tenant == tenant)
    if after is not None:
        query = query.where(cases.c.case_id > after)
    query = query.order_by(cases.c.case_id).limit(limit + 1)
    async with engine.connect() as conn:
        found = [_case(row) for row in await conn.execute(query)]
    return found[:limit], len(found) > limit


@dataclass(frozen=True, slots=True)
class ProofRecord:
    """A proof from the registered-mail provider (deposit proof, acknowledgement of receipt)."""

    step: str
    provider_id: str | None
    kind: str
    media_type: str
    sha256: str
    content: bytes


async def case_proofs(engine: AsyncEngine, case_id: str) -> list[ProofRecord]:
    """The proofs stored for the case's registered letters, in a stable order: its own,
    and those of its debtor's grouped letters its invoice went out in (``grouped_in``)."""
    letters, proofs = registered_letters.c, registered_letter_proofs.c
    grouped = select(channel_outbox.c.grouped_in).where(
        channel_outbox.c.case_id == case_id, channel_outbox.c.grouped_in.is_not(None)
    )
    query = (
        select(letters.step, letters.provider_id, proofs.kind, proofs.media_type)
        .add_columns(proofs.sha256, proofs.content)
        .join(registered_letter_proofs, proofs.idempotency_key == letters.idempotency_key)
        .where((letters.case_id == case_id) | letters.idempotency_key.in_(grouped))
        .order_by(letters.created_at, proofs.kind, proofs.sha256)
    )
    async with engine.connect() as conn:
        return [
            ProofRecord(
                step=row.step,
                provider_id=row.provider_id,
                kind=row.kind,
                media_type=row.media_type,
                sha256=row.sha256,
                content=bytes(row.content),
            )
            for row in await conn.execute(query)
        ]


async def case_documents(
    engine: AsyncEngine,
    case_id: str,
    vault: DebtorVault | None = None,
    case: CaseRecord | None = None,
) -> tuple[list[EmailRecord], list[OutboxRecord]]:
    """The case's emails and other documents, oldest first (ties by idempotency key).
    Copies sealed with the debtor's data key are opened with ``vault`` (for ``case``'s
    debtor); once the debtor is erased they read ``[données effacées]``, and their
    SHA-256 still proves what was sent."""
    debtor_id = None if case is None else case.invoice.get("debtor", {}).get("debtor_id")
    tenant = "" if case is None else case.tenant

    async def opened(conn: AsyncConnection, purpose: str, value: str) -> str:
        if vault is None:
            return value
        return await vault.open_text(conn, tenant, debtor_id, purpose, value)

    async with engine.connect() as conn:
        emails = await conn.execute(
            select(deliveries)
            .where(deliveries.c.case_id == case_id)
            .order_by(deliveries.c.created_at, deliveries.c.idempotency_key)
        )
        email_records = [
            EmailRecord(
                idempotency_key=row.idempotency_key,
                step=row.step,
                channel=row.channel,
                recipient=await opened(conn, "mail", row.recipient),
                subject=row.subject,
                message_id=row.message_id,
                body_sha256=row.body_sha256,
                status=row.status,
                created_at=row.created_at,
                sent_at=row.sent_at,
                body=None if row.body is None else await opened(conn, "mail", row.body),
            )
            for row in emails
        ]
        outbox = await conn.execute(
            select(channel_outbox)
            .where(
                channel_outbox.c.case_id == case_id,
                # A grouped letter is shown once: as the invoice's own row pointing to it.
                channel_outbox.c.idempotency_key.not_in(
                    select(channel_outbox.c.grouped_in).where(
                        channel_outbox.c.case_id == case_id,
                        channel_outbox.c.grouped_in.is_not(None),
                    )
                ),
            )
            .order_by(channel_outbox.c.created_at, channel_outbox.c.idempotency_key)
        )
        outbox_records = [
            OutboxRecord(
                idempotency_key=row.idempotency_key,
                step=row.step,
                channel=row.channel,
                template=row.template,
                partner=row.partner,
                recipient=dict(row.recipient),
                body=await opened(conn, "outbox", row.body),
                layout=await opened(conn, "outbox", row.layout) if row.layout else None,
                body_sha256=row.body_sha256,
                reference=row.reference,
                status=row.status,
                created_at=row.created_at,
            )
            for row in outbox
        ]
    return email_records, outbox_records


@dataclass(frozen=True, slots=True)
class CaseFileRecord:
    """An e-invoice or e-credit note as received; ``content`` is None once its debtor is
    erased (the file was sealed with the destroyed key), ``sha256`` still says which it was."""

    kind: str
    media_type: str
    sha256: str
    size: int
    received_at: datetime
    content: bytes | None


async def case_file_records(
    engine: AsyncEngine, tenant: str, case_id: str, vault: DebtorVault
) -> list[CaseFileRecord]:
    """The files the tenant's case was opened or changed with, oldest first (ties by hash),
    opened with their debtor's data key."""
    query = (
        select(case_files)
        .where(case_files.c.case_id == case_id, case_files.c.tenant == tenant)
        .order_by(case_files.c.received_at, case_files.c.sha256)
    )
    async with engine.connect() as conn:
        rows = list(await conn.execute(query))
        keys = await vault.data_keys(
            conn, tenant, [row.debtor_id for row in rows if row.debtor_id is not None]
        )
    found = []
    for row in rows:
        content: bytes | None = bytes(row.content)
        if row.debtor_id is not None:
            key = keys.get(row.debtor_id)
            try:
                content = (
                    None
                    if key is None
                    else vault.open_with(key, tenant, row.debtor_id, FILE_PURPOSE, row.content)
                )
            except InvalidTag:
                content = None
        found.append(
            CaseFileRecord(
                kind=row.kind,
                media_type=row.media_type,
                sha256=row.sha256,
                size=row.size,
                received_at=row.received_at,
                content=content,
            )
        )
    return found
