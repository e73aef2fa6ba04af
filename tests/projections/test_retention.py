"""A debtor's data is kept while any of its cases is open and, once all are closed, for the
claims' prescription period plus the creditor's margin (french-collection-law.md s.9: an
intermediate archive for the prescription period); then the sweep erases it, and not
before (real PostgreSQL, the real vault)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from legal import load_rate_table
from policies.catalog import resolve_policy
from projections.case_view_store import save_case_view
from projections.retention import erase_expired_debtors, retention_ends_on
from schemas.case import CaseStart, CaseView, Outcome, Stage
from schemas.debtor import CaseInvoice
from schemas.invoice import InvoiceIn
from storage.debtor_vault import DebtorVault
from storage.key_ring import KeyRing
from tests.support.invoices import invoice_payload

MARGIN = timedelta(days=365)


async def _case(
    engine: AsyncEngine, vault: DebtorVault, tenant: str, *, closed: bool, prescribed: date
) -> CaseView:
    invoice = InvoiceIn.model_validate(invoice_payload())
    async with engine.begin() as conn:
        ref = await vault.register(conn, tenant, invoice.debtor)
    start = CaseStart(
        case_id=f"case-{uuid.uuid4().hex[:12]}",
        tenant=tenant,
        invoice=CaseInvoice.of(invoice, ref),
        policy=resolve_policy(None, invoice.debtor.kind),
        opened_at=datetime(2019, 1, 1, tzinfo=UTC),
        rates=load_rate_table(),
    )
    view = CaseView.opened(start)
    view.prescription_last_day = prescribed
    view.view_revision = 1
    if closed:
        view.stage, view.outcome = Stage.closed, Outcome.paid
        view.closed_at = datetime(2020, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await save_case_view(conn, view)
    return view


def test_retention_ends_a_margin_after_the_last_prescription_and_never_while_open() -> None:
    closed = CaseView.model_construct(
        stage=Stage.closed, prescription_last_day=date(2024, 6, 1), closed_at=None
    )
    later = CaseView.model_construct(
        stage=Stage.closed, prescription_last_day=date(2025, 3, 1), closed_at=None
    )
    running = CaseView.model_construct(stage=Stage.amicable, prescription_last_day=None)
    assert retention_ends_on([closed, later], MARGIN) == date(2026, 3, 1)
    assert retention_ends_on([closed, running], MARGIN) is None
    assert retention_ends_on([], MARGIN) is None


async def test_the_sweep_erases_only_debtors_whose_retention_has_ended(
    engine: AsyncEngine,
) -> None:
    vault = DebtorVault(KeyRing.parse(KeyRing.new_entry("t1"), setting="T"), os.urandom(32))
    tenant = f"ret-{uuid.uuid4().hex[:6]}"
    expired = await _case(engine, vault, tenant, closed=True, prescribed=date(2024, 1, 10))
    kept = await _case(engine, vault, tenant, closed=True, prescribed=date(2026, 6, 1))
    running = await _case(engine, vault, tenant, closed=False, prescribed=date(2020, 1, 1))
    today = date(2026, 12, 2)
    erased = await erase_expired_debtors(engine, vault, MARGIN, today, tenant=tenant)
    mine = {e.debtor_id: e for e in erased if e.tenant == tenant}
    assert set(mine) == {expired.debtor_id}, "only the one whose retention ended"
    assert mine[expired.debtor_id].retention_ended_on == date(2024, 1, 10) + MARGIN
    async with engine.connect() as conn:
        gone = await vault.record(conn, tenant, str(expired.debtor_id))
        still = await vault.record(conn, tenant, str(kept.debtor_id))
        open_one = await vault.record(conn, tenant, str(running.debtor_id))
    assert gone.erased_at is not None and "retention_ended" in (gone.erasure_reason or "")
    assert still.erased_at is None and open_one.erased_at is None
    again = await erase_expired_debtors(engine, vault, MARGIN, today, tenant=tenant)
    assert not [e for e in again if e.tenant == tenant], "erased once"
