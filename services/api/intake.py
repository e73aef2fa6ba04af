"""Register an invoice: record it durably and start its case workflow, or do neither."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from inbound.einvoice.document import OriginalFile
from policies.catalog import UnknownPolicy, resolve_policy
from projections.calendar import today
from projections.case_view_store import debtor_case_views, save_case_view
from schemas.case import CaseCreated, CaseStart, CaseView
from schemas.debtor import CaseInvoice
from schemas.invoice import InvoiceIn
from services.api.case_files import store_case_file
from services.api.case_ids import case_id_for, workflow_id_for
from services.api.deps import Runtime
from services.api.errors import ApiError, field_error, temporal_error
from services.api.risk_policy import policy_for_risk
from storage.tables import cases
from workflows.collection_case import CollectionCaseWorkflow


async def register_invoice(
    runtime: Runtime,
    tenant: str,
    invoice: InvoiceIn,
    original: tuple[OriginalFile, str] | None = None,
) -> tuple[CaseCreated, bool]:
    """Return the case and whether it is new. ``original`` (the file and its kind: an
    e-invoice, the ERP's PDF) is kept with the case, before its workflow starts.

    The row (with the opened case's first view, for reads) is inserted and the workflow
    started inside one transaction: the
    unique key (tenant, invoice number) makes concurrent identical requests
    wait for the first one, and if Temporal refuses the start the row is
    rolled back, so nothing half-created remains. Starting is idempotent
    (USE_EXISTING), so a retry after a lost commit heals instead of duplicating.
    """
    try:
        default = runtime.tenant_policies.get((tenant, invoice.debtor.kind.value))
        policy = resolve_policy(invoice.policy, invoice.debtor.kind, default)
    except UnknownPolicy as err:
        raise field_error("policy", str(err)) from None
    case_id = case_id_for(tenant, invoice.invoice_number)
    workflow_id = workflow_id_for(tenant, invoice.invoice_number)
    content_hash = invoice.content_hash()
    created = CaseCreated(
        case_id=case_id, workflow_id=workflow_id, policy_id=policy.id, policy_version=policy.version
    )
    async with runtime.reads.connect() as conn:
        known = await _registered(conn, tenant, invoice.invoice_number)
    if known is not None:  # a retry (200) or a conflicting resend (409): the vault untouched
        return _again(known, created, invoice, content_hash), False
    # The identity goes to the vault in its own short transaction; the case row, the
    # workflow and the views carry the debtor's id only. The case's transaction below then
    # takes no transaction id before its INSERT (an intake waiting there never holds back
    # the event store's readers); a debtor left without a case is harmless (the next
    # invoice naming it reuses it).
    async with runtime.engine.begin() as conn:
        ref = await runtime.debtors.register(conn, tenant, invoice.debtor)
    chosen_by = None
    if policy.risk_bands:  # a firmer or gentler timeline for a debtor known to be risky
        async with runtime.reads.connect() as conn:
            views = await debtor_case_views(conn, tenant, [ref.debtor_id])
        policy, chosen_by = policy_for_risk(policy, invoice.debtor.kind, views, today())
        created = created.model_copy(
            update={"policy_id": policy.id, "policy_version": policy.version}
        )
    case_invoice = CaseInvoice.of(invoice, ref)
    async with runtime.engine.begin() as conn:
        inserted = await conn.execute(
            insert(cases)
            .values(
                case_id=case_id,
                tenant=tenant,
                invoice_number=invoice.invoice_number,
                workflow_id=workflow_id,
                content_hash=content_hash,
                policy_id=policy.id,
                policy_version=policy.version,
                invoice=case_invoice.model_dump(mode="json"),
            )
            .on_conflict_do_nothing()
            .returning(cases.c.case_id)
        )
        if inserted.first() is None:  # registered concurrently since the check above
            raced = await _registered(conn, tenant, invoice.invoice_number)
            assert raced is not None
            return _again(raced, created, invoice, content_hash), False
        start = CaseStart(
            case_id=case_id,
            tenant=tenant,
            invoice=case_invoice,
            policy=policy,
            opened_at=datetime.now(UTC),
            rates=runtime.rates,
            creditor_name=runtime.settings.creditor_name,
            creditor_address=runtime.settings.creditor_address,
            payment_instructions=runtime.settings.payment_instructions,
            policy_chosen_by=chosen_by,
        )
        if original is not None:
            file, kind = original
            await store_case_file(conn, runtime.debtors, tenant, case_id, ref.debtor_id, file, kind)
        # The opened case is readable at once (revision 0), before its workflow runs.
        await save_case_view(conn, CaseView.opened(start))
        await _start_workflow(runtime, start, workflow_id)
    return created, True


async def _registered(conn: AsyncConnection, tenant: str, invoice_number: str) -> Any:
    """The tenant's ``cases`` row for this invoice number, if any."""
    query = select(cases).where(cases.c.tenant == tenant, cases.c.invoice_number == invoice_number)
    return (await conn.execute(query)).first()


def _again(
    existing: Any, created: CaseCreated, invoice: InvoiceIn, content_hash: str
) -> CaseCreated:
    """The answer to an invoice already registered: the same content is a retry (its case);
    other content under the same number is refused (409)."""
    if existing.content_hash != content_hash:
        raise ApiError(
            409,
            "invoice_conflict",
            f"invoice_number: {invoice.invoice_number} is already registered "
            "with different content",
            {"case_id": existing.case_id},
        )
    return created.model_copy(
        update={"policy_id": existing.policy_id, "policy_version": existing.policy_version}
    )


async def _start_workflow(runtime: Runtime, start: CaseStart, workflow_id: str) -> None:
    client: Client = runtime.temporal
    timeout = _timeout(runtime)
    try:
        # The SDK retries a failing RPC on its own; the overall bound keeps the answer
        # (503, row rolled back) within the configured timeout plus a margin.
        async with asyncio.timeout(timeout.total_seconds() + GRACE_S):
            await client.start_workflow(
                CollectionCaseWorkflow.run,
                start,
                id=workflow_id,
                task_queue=runtime.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=timeout,
            )
    except WorkflowAlreadyStartedError:
        return  # closed earlier under this id: the case exists
    except (RPCError, RPCTimeoutOrCancelledError, TimeoutError, RuntimeError) as err:
        raise temporal_error(err, timeout.total_seconds()) from err


def _timeout(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.temporal_rpc_timeout_s)


GRACE_S = 1.0
"""Margin over TEMPORAL_RPC_TIMEOUT_S before a call to Temporal is given up."""


def temporal_unavailable(err: BaseException, timeout_s: float | None = None) -> ApiError:
    """503 with Retry-After: the workflow engine (or a worker) did not answer.

    Kept for existing callers; see services.api.errors.temporal_error."""
    return temporal_error(err, timeout_s)
