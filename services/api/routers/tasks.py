"""Operators' phone tasks: the calls the timeline asks for, and their outcomes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select, update

from activities.channel_activities import channel_outbox
from schemas.case import CaseView
from schemas.case_events import CaseEventEnvelope, PhoneOutcome
from schemas.money import Balance
from services.api.case_access import case_handle, case_update
from services.api.deps import Runtime, RuntimeDep, require
from services.api.errors import ApiError, ErrorResponse
from services.api.keys import Principal, Role
from services.db.tables import cases

router = APIRouter(prefix="/v1/tasks", tags=["operator tasks"])
OperatorPrincipal = Annotated[Principal, Depends(require(Role.operator))]
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 503)
}


class PhoneTask(BaseModel):
    """A call to make, with what the operator needs on screen."""

    task_id: str
    case_id: str
    created_at: datetime
    invoice_number: str
    due_date: str
    amount_due: Balance
    debtor_name: str
    debtor_email: str
    debtor_phone: str | None
    call_script: str


class TaskList(BaseModel):
    tasks: list[PhoneTask]


def _task(row: Any) -> PhoneTask:
    invoice = row.invoice
    debtor = invoice["debtor"]
    return PhoneTask(
        task_id=row.reference,
        case_id=row.case_id,
        created_at=row.created_at,
        invoice_number=invoice["invoice_number"],
        due_date=invoice["due_date"],
        amount_due=Decimal(invoice["amount_due"]),
        debtor_name=debtor["name"],
        debtor_email=debtor["email"],
        debtor_phone=debtor.get("phone"),
        call_script=row.body,
    )


async def _open_tasks(runtime: Runtime, tenant: str, limit: int) -> list[PhoneTask]:
    query = (
        select(channel_outbox, cases.c.invoice)
        .join(cases, cases.c.case_id == channel_outbox.c.case_id)
        .where(
            cases.c.tenant == tenant,
            channel_outbox.c.channel == "phone_task",
            channel_outbox.c.status == "recorded",
        )
        .order_by(channel_outbox.c.created_at)
        .limit(limit)
    )
    async with runtime.engine.connect() as conn:
        return [_task(row) for row in await conn.execute(query)]


@router.get("", operation_id="listPhoneTasks")
async def list_tasks(
    principal: OperatorPrincipal,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskList:
    """Open phone tasks of the caller's tenant, oldest first, with the debtor's contact,
    the invoice and the call script."""
    return TaskList(tasks=await _open_tasks(runtime, principal.tenant, limit))


@router.post("/{task_id}/outcome", operation_id="recordPhoneTaskOutcome", responses=RESPONSES)
async def post_outcome(
    task_id: str, outcome: PhoneOutcome, principal: OperatorPrincipal, runtime: RuntimeDep
) -> CaseView:
    """Record the call's result (reached, promise with date, dispute with reason, no
    answer); the case's workflow acts on it, and the task is closed."""
    query = (
        select(channel_outbox.c.case_id, channel_outbox.c.status)
        .join(cases, cases.c.case_id == channel_outbox.c.case_id)
        .where(
            channel_outbox.c.reference == task_id,
            channel_outbox.c.channel == "phone_task",
            cases.c.tenant == principal.tenant,
        )
    )
    async with runtime.engine.connect() as conn:
        found = (await conn.execute(query)).first()
    if found is None:
        raise ApiError(404, "not_found", f"no phone task {task_id}")
    if found.status != "recorded":
        raise ApiError(409, "conflict", f"task {task_id} already has an outcome")
    if outcome.by is None:
        outcome = outcome.model_copy(update={"by": f"operator@{principal.tenant}"})
    handle = await case_handle(runtime, principal.tenant, found.case_id)
    state = await case_update(runtime, handle, "apply_event", CaseEventEnvelope(event=outcome))
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(channel_outbox)
            .where(channel_outbox.c.reference == task_id)
            .values(status="done")
        )
    return state
