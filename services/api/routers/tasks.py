"""Operators' phone tasks: the calls the timeline asks for, and their outcomes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.case_events import CaseEventEnvelope, PhoneOutcome
from schemas.money import Balance
from services.api.acks import CaseAck, ack
from services.api.case_access import case_handle, case_update
from services.api.deps import OperatorPrincipal, Runtime, RuntimeDep, attributed
from services.api.errors import ApiError, ErrorResponse
from storage.debtor_vault import ERASED_TEXT
from storage.tables import cases, channel_outbox

router = APIRouter(prefix="/v1/tasks", tags=["operator tasks"])
OPEN, DONE, MOOT = "recorded", "done", "moot"
"""A phone task's ``channel_outbox.status``: open, answered, or closed with its case."""
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


async def _task(runtime: Runtime, conn: AsyncConnection, tenant: str, row: Any) -> PhoneTask:
    """The task with the debtor's contact: from the vault (opened now, ``[données
    effacées]`` once erased) or, for cases opened before the debtor accounts, the case."""
    invoice = row.invoice
    debtor = invoice["debtor"]
    debtor_id = debtor.get("debtor_id")
    script = await runtime.debtors.open_text(conn, tenant, debtor_id, "outbox", row.body)
    if debtor_id is not None:
        found = (await runtime.debtors.records(conn, tenant, [debtor_id]))[:1]
        identity = found[0].identity if found else None
        debtor = (
            {"name": ERASED_TEXT, "email": ERASED_TEXT}
            if identity is None
            else identity.model_dump(mode="json")
        )
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
        call_script=script,
    )


async def _open_tasks(runtime: Runtime, tenant: str, limit: int) -> list[PhoneTask]:
    query = (
        select(channel_outbox, cases.c.invoice)
        .join(cases, cases.c.case_id == channel_outbox.c.case_id)
        .where(
            cases.c.tenant == tenant,
            channel_outbox.c.channel == "phone_task",
            channel_outbox.c.status == OPEN,
        )
        .order_by(channel_outbox.c.created_at)
        .limit(limit)
    )
    async with runtime.engine.connect() as conn:
        return [await _task(runtime, conn, tenant, row) for row in await conn.execute(query)]


@router.get("", operation_id="listPhoneTasks")
async def list_tasks(
    principal: OperatorPrincipal,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskList:
    """Open phone tasks of the caller's tenant, oldest first, with the debtor's contact,
    the invoice and the call script."""
    return TaskList(tasks=await _open_tasks(runtime, principal.tenant, limit))


async def _claim(runtime: Runtime, tenant: str, task_id: str) -> str:
    """Close the open task in one conditional UPDATE: of two concurrent outcomes, exactly
    one claims it; the other gets 409. Returns the task's case."""
    claim = (
        update(channel_outbox)
        .where(
            channel_outbox.c.reference == task_id,
            channel_outbox.c.channel == "phone_task",
            channel_outbox.c.status == OPEN,
            channel_outbox.c.case_id == cases.c.case_id,
            cases.c.tenant == tenant,
        )
        .values(status=DONE)
        .returning(channel_outbox.c.case_id)
    )
    async with runtime.engine.begin() as conn:
        claimed = (await conn.execute(claim)).scalar_one_or_none()
        if claimed is not None:
            return str(claimed)
        exists = (
            await conn.execute(
                select(channel_outbox.c.status)
                .join(cases, cases.c.case_id == channel_outbox.c.case_id)
                .where(
                    channel_outbox.c.reference == task_id,
                    channel_outbox.c.channel == "phone_task",
                    cases.c.tenant == tenant,
                )
            )
        ).first()
    if exists is None:
        raise ApiError(404, "not_found", f"no phone task {task_id}")
    raise ApiError(409, "conflict", f"task {task_id} already has an outcome")


async def _set_status(runtime: Runtime, task_id: str, status: str) -> None:
    """Undo a claim: only a task this request closed (still ``done``) changes."""
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(channel_outbox)
            .where(
                channel_outbox.c.reference == task_id,
                channel_outbox.c.channel == "phone_task",
                channel_outbox.c.status == DONE,
            )
            .values(status=status)
        )


@router.post("/{task_id}/outcome", operation_id="recordPhoneTaskOutcome", responses=RESPONSES)
async def post_outcome(
    task_id: str, outcome: PhoneOutcome, principal: OperatorPrincipal, runtime: RuntimeDep
) -> CaseAck:
    """Record the call's result (reached, promise with date, dispute with reason, no
    answer); the task is closed, then the case's workflow acts on it. Twice: 409. If the
    case refuses it (it was closed meanwhile), the task is closed as moot and the answer
    is 409; if the workflow cannot be reached, the task is open again (retry)."""
    outcome = attributed(outcome, principal)
    case_id = await _claim(runtime, principal.tenant, task_id)
    try:
        handle = await case_handle(runtime, principal.tenant, case_id)
        state = await case_update(
            runtime,
            handle,
            "apply_event",
            CaseEventEnvelope(event=outcome),
            update_id=f"task-outcome/{task_id}",
        )
    except ApiError as refused:
        # 409: the case's state refuses any call outcome (it is closed): nothing to call
        # about any more. Anything else (503, a field): the task is open again.
        await _set_status(runtime, task_id, MOOT if refused.status == 409 else OPEN)
        raise
    except Exception:
        await _set_status(runtime, task_id, OPEN)
        raise
    return ack(state)
