"""POST /v1/debtors/{debtor_id}/payments: a payment for the debtor, allocated by rule."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from legal.allocation import Allocation, OpenInvoice, allocate_as_indicated, allocate_payment
from legal.errors import LegalError
from projections.case_view_store import debtor_case_views
from schemas.bounds import ApiModel, BoundedDate
from schemas.case import PaymentIn, Stage
from schemas.money import Balance, BoundedAmount
from services.api.case_access import case_handle, case_update
from services.api.deps import PayerPrincipal, Runtime, RuntimeDep, attributed
from services.api.errors import ApiError, ErrorResponse, field_error
from storage.debtor_vault import UnknownDebtor
from storage.tables import debtor_payments

router = APIRouter(prefix="/v1/debtors", tags=["debtors"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 503)
}
DebtorId = Annotated[str, Path(pattern=r"^dbt-[0-9a-f]{24}$", max_length=40)]


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


async def _allocation(
    runtime: Runtime, tenant: str, debtor_id: str, payment: DebtorPaymentIn
) -> Allocation:
    """The stored allocation of this reference, else a new one, stored before it applies."""
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
        views = await debtor_case_views(conn, tenant, [debtor_id])
        invoices = [
            OpenInvoice(v.case_id, v.due_date, v.balance)
            for v in views
            if v.stage is not Stage.closed and v.balance > 0
        ]
        if not invoices:
            raise ApiError(409, "no_open_invoice", "debtor_id: the debtor owes nothing")
        try:
            if payment.allocation:
                allocation = allocate_as_indicated(
                    invoices, payment.amount, payment.paid_on, payment.allocation
                )
            else:
                allocation = allocate_payment(invoices, payment.amount, payment.paid_on)
        except LegalError as err:
            raise field_error("allocation", str(err)) from None
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


@router.post("/{debtor_id}/payments", operation_id="recordDebtorPayment", responses=RESPONSES)
async def post_debtor_payment(
    debtor_id: DebtorId, payment: DebtorPaymentIn, principal: PayerPrincipal, runtime: RuntimeDep
) -> DebtorPaymentOut:
    """A payment the ERP could not allocate to invoices: allocated to the debtor's open
    invoices by C. civ. 1342-10 (due before not due, then the oldest due first; the
    debtor's own choice first when given), each invoice's share applied to its case as a
    payment with this reference. Recorded before it applies: the same reference and body
    again re-applies the same shares (each case applies its share once)."""
    if payment.paid_on > datetime.now(UTC).date():
        raise field_error("paid_on", "must not be in the future")
    payment = attributed(payment, principal)
    allocation = await _allocation(runtime, principal.tenant, debtor_id, payment)
    results = []
    for share in allocation.shares:
        applied = PaymentIn(
            amount=share.amount, paid_on=payment.paid_on, reference=payment.reference
        ).model_copy(update={"by": payment.by})
        update_id = f"payment/{payment.reference}/{share.amount}"
        try:
            handle = await case_handle(runtime, principal.tenant, share.case_id)
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
        method=allocation.method,
        article=allocation.article,
        explanation_fr=allocation.explanation_fr,
        shares=results,
        unallocated=allocation.unallocated,
    )
