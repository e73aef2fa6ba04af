"""Recording one payment of a debtor on its invoices: allocated by C. civ. 1342-10, each
invoice's share applied to its case.

Shared by the API (POST /v1/debtors/{debtor_id}/payments) and the online payment path
(inbound/stripe_webhooks.py), so a payment made on Stripe Checkout is recorded exactly as
one the ERP reports: the allocation is stored under the payment's reference before any
share applies, and each share is the case update ``payment/{reference}/{amount}``, so a
retry re-applies the same shares and each case applies its share once.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from legal.allocation import Allocation, OpenInvoice, allocate_as_indicated, allocate_payment
from legal.errors import LegalError
from projections.case_view_store import debtor_case_views
from schemas.bounds import ApiModel, BoundedDate
from schemas.case import CaseView, PaymentIn, Stage
from schemas.money import Balance, BoundedAmount
from services.api.case_access import case_handle, case_update
from services.api.deps import Runtime
from services.api.errors import ApiError, field_error
from storage.debtor_vault import UnknownDebtor
from storage.tables import debtor_payments


class DebtorPaymentIn(ApiModel):
    """Body of POST /v1/debtors/{debtor_id}/payments."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"amount": "450.00", "paid_on": "2026-11-20", "reference": "VIR-778"}]
        },
    )

    amount: BoundedAmount
    paid_on: BoundedDate
    reference: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00]*$")
    allocation: dict[str, BoundedAmount] | None = Field(
        default=None,
        max_length=500,
        description="The debtor's own choice, case id to amount (C. civ. 1342-10 al. 1); "
        "what it leaves is allocated by the legal order",
    )
    by: SkipJsonSchema[str | None] = Field(default=None, max_length=100)

    def content_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json(exclude={"by"}).encode()).hexdigest()


class ShareResult(BaseModel):
    case_id: str
    amount: Balance
    basis: str
    applied: bool
    balance: Balance | None = None
    position: int | None = Field(
        default=None,
        description="The case's journal position after the share: pass it as "
        "`after_position` to GET /v1/cases/{case_id} to read the case with it",
    )
    detail: str = ""


class DebtorPaymentOut(BaseModel):
    reference: str
    amount: Balance
    method: str
    article: str
    explanation_fr: str
    shares: list[ShareResult]
    unallocated: Balance = Field(description="Overpayment: not applied to any invoice")


def open_invoices(views: list[CaseView]) -> list[OpenInvoice]:
    """The invoices a payment of the debtor may go to: open cases that still claim money."""
    return [
        OpenInvoice(v.case_id, v.due_date, v.balance)
        for v in views
        if v.stage is not Stage.closed and v.balance > 0
    ]


async def _allocation(
    runtime: Runtime,
    tenant: str,
    debtor_id: str,
    payment: DebtorPaymentIn,
    precomputed: Allocation | None,
) -> Allocation:
    """The stored allocation of this reference, else ``precomputed`` or a new one, stored
    before it applies."""
    async with runtime.engine.begin() as conn:
        try:
            await runtime.debtors.record(conn, tenant, debtor_id)
        except UnknownDebtor:
            raise ApiError(404, "not_found", f"debtor_id: no debtor {debtor_id}") from None
        key = (
            debtor_payments.c.tenant == tenant,
            debtor_payments.c.debtor_id == debtor_id,
            debtor_payments.c.reference == payment.reference,
        )
        stored = (await conn.execute(select(debtor_payments).where(*key).with_for_update())).first()
        if stored is not None:
            if stored.content_hash != payment.content_hash():
                raise field_error("reference", "already used for another payment of this debtor")
            return Allocation.model_validate(stored.allocation)
        if precomputed is not None:
            if precomputed.amount != payment.amount:
                raise field_error("amount", "differs from the amount of its allocation")
            allocation = precomputed
        else:
            allocation = await _new_allocation(conn, tenant, debtor_id, payment)
        await conn.execute(
            insert(debtor_payments).values(
                tenant=tenant,
                debtor_id=debtor_id,
                reference=payment.reference,
                content_hash=payment.content_hash(),
                allocation=allocation.model_dump(mode="json"),
                by=payment.by,
            )
        )
        return allocation


async def _new_allocation(
    conn: AsyncConnection, tenant: str, debtor_id: str, payment: DebtorPaymentIn
) -> Allocation:
    invoices = open_invoices(await debtor_case_views(conn, tenant, [debtor_id]))
    if not invoices:
        raise ApiError(409, "no_open_invoice", "debtor_id: the debtor owes nothing")
    try:
        if payment.allocation:
            return allocate_as_indicated(
                invoices, payment.amount, payment.paid_on, payment.allocation
            )
        return allocate_payment(invoices, payment.amount, payment.paid_on)
    except LegalError as err:
        raise field_error("allocation", str(err)) from None


async def record_debtor_payment(
    runtime: Runtime,
    tenant: str,
    debtor_id: str,
    payment: DebtorPaymentIn,
    *,
    allocation: Allocation | None = None,
) -> DebtorPaymentOut:
    """Allocate ``payment`` (or use ``allocation``, computed when the payment was started,
    e.g. at checkout), store the allocation under its reference, then apply each share to
    its case. 503 when Temporal cannot be reached: nothing is lost, the stored allocation
    is re-applied by the retry, each case applying its share once."""
    stored = await _allocation(runtime, tenant, debtor_id, payment, allocation)
    results = []
    for share in stored.shares:
        applied = PaymentIn(
            amount=share.amount, paid_on=payment.paid_on, reference=payment.reference
        ).model_copy(update={"by": payment.by})
        update_id = f"payment/{payment.reference}/{share.amount}"
        try:
            handle = await case_handle(runtime, tenant, share.case_id)
            view = await case_update(runtime, handle, "apply_payment", applied, update_id)
            results.append(
                ShareResult(
                    case_id=share.case_id,
                    amount=share.amount,
                    basis=share.basis,
                    applied=True,
                    balance=view.balance,
                    position=view.position,
                )
            )
        except ApiError as err:
            if err.status == 503:
                raise  # nothing lost: the allocation is stored; the retry applies the rest
            results.append(
                ShareResult(
                    case_id=share.case_id,
                    amount=share.amount,
                    basis=share.basis,
                    applied=False,
                    detail=err.message,
                )
            )
    return DebtorPaymentOut(
        reference=payment.reference,
        amount=payment.amount,
        method=stored.method,
        article=stored.article,
        explanation_fr=stored.explanation_fr,
        shares=results,
        unallocated=stored.unallocated,
    )
