"""Holds at the debtor's level: a pause, its lifting, an insolvency, a payment plan, on every
open invoice.

A dispute concerns one invoice (POST /v1/cases/{case_id}/disputes); an operator's pause
or an insolvency concerns the debtor, so it applies to each of the debtor's open cases,
each recording it in its own journal (the same event as on the case, with the same actor).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, model_validator

from legal import LegalError
from legal.allocation import allocate_plan
from projections.case_view_store import debtor_case_views
from schemas.bounds import ApiModel, BoundedDate
from schemas.case import CaseView, Stage
from schemas.case_events import (
    InsolvencyPublished,
    Instalment,
    OperatorPause,
    OperatorResume,
    PaymentPlanAgreed,
)
from services.api.acks import CaseAck
from services.api.deps import OperatorPrincipal, Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse, field_error
from services.api.keys import Principal
from services.api.routers.case_events import _send as send_case_event
from storage.debtor_vault import UnknownDebtor

router = APIRouter(prefix="/v1/debtors", tags=["debtors"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 503)
}
DebtorId = Annotated[str, Path(pattern=r"^dbt-[0-9a-f]{24}$", max_length=40)]


class CaseResult(BaseModel):
    case_id: str
    applied: bool
    stage: str | None = None
    position: int | None = Field(default=None, description="The case's journal position")
    detail: str = ""


class DebtorEventResult(BaseModel):
    debtor_id: str
    cases: list[CaseResult] = Field(description="Each open case of the debtor, oldest first")


async def _open_cases(runtime: Runtime, principal: Principal, debtor_id: str) -> list[CaseView]:
    """The debtor's open cases, oldest first (404 for no such debtor, 409 for none open)."""
    async with runtime.reads.connect() as conn:
        try:
            await runtime.debtors.record(conn, principal.tenant, debtor_id)
        except UnknownDebtor:
            raise ApiError(404, "not_found", f"debtor_id: no debtor {debtor_id}") from None
        views = await debtor_case_views(conn, principal.tenant, [debtor_id])
    open_views = [view for view in views if view.stage is not Stage.closed]
    if not open_views:
        raise ApiError(409, "no_open_case", "debtor_id: the debtor has no open case")
    return open_views


CaseSender = Callable[[str, Any], Awaitable[CaseAck]]
"""Sends one event to one case (its validated update), answering the case's ack."""


async def send_each_case(
    debtor_id: str, events: list[tuple[str, Any]], send: CaseSender
) -> DebtorEventResult:
    """Each (case, event), through ``send``: a case that refuses is reported, not raised;
    503 (Temporal unreachable) is raised, the cases already done take a retry as a no-op.
    The API's debtor endpoints and the insolvency watch (inbound/insolvency_watch.py)."""
    results = []
    for case_id, event in events:
        try:
            acked = await send(case_id, event)
        except ApiError as err:
            if err.status == 503:
                raise  # nothing half-said: the cases already done take the retry as a no-op
            results.append(CaseResult(case_id=case_id, applied=False, detail=err.message))
            continue
        results.append(
            CaseResult(
                case_id=case_id, applied=True, stage=acked.stage.value, position=acked.position
            )
        )
    return DebtorEventResult(debtor_id=debtor_id, cases=results)


async def _send_each(
    runtime: Runtime, principal: Principal, debtor_id: str, events: list[tuple[str, Any]]
) -> DebtorEventResult:
    """Each (case, event), through the case's own validated update, by the caller."""
    return await send_each_case(debtor_id, events, partial(send_case_event, runtime, principal))


async def _fan_out(
    runtime: Runtime, principal: Principal, debtor_id: str, event: Any
) -> DebtorEventResult:
    views = await _open_cases(runtime, principal, debtor_id)
    return await _send_each(runtime, principal, debtor_id, [(v.case_id, event) for v in views])


class DebtorPlanIn(ApiModel):
    """A payment plan agreed for all of the debtor's open invoices together."""

    agreed_on: BoundedDate
    instalments: list[Instalment] = Field(min_length=1, max_length=60)

    @model_validator(mode="after")
    def _ordered(self) -> DebtorPlanIn:
        dates = [i.due_on for i in self.instalments]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("instalments: due dates must be strictly increasing")
        if dates[0] < self.agreed_on:
            raise ValueError("instalments: the first is due before the plan was agreed")
        return self


@router.post("/{debtor_id}/pause", operation_id="pauseDebtor", responses=RESPONSES)
async def pause_debtor(
    debtor_id: DebtorId, event: OperatorPause, principal: OperatorPrincipal, runtime: RuntimeDep
) -> DebtorEventResult:
    """Operator pause of every open invoice of the debtor (who and why recorded on each)."""
    return await _fan_out(runtime, principal, debtor_id, event)


@router.post("/{debtor_id}/resume", operation_id="resumeDebtor", responses=RESPONSES)
async def resume_debtor(
    debtor_id: DebtorId, event: OperatorResume, principal: OperatorPrincipal, runtime: RuntimeDep
) -> DebtorEventResult:
    """Lift the operator's pause on every open invoice of the debtor (a case not paused
    answers with its refusal, the others resume)."""
    return await _fan_out(runtime, principal, debtor_id, event)


@router.post("/{debtor_id}/insolvency", operation_id="recordDebtorInsolvency", responses=RESPONSES)
async def debtor_insolvency(
    debtor_id: DebtorId,
    event: InsolvencyPublished,
    principal: OperatorPrincipal,
    runtime: RuntimeDep,
) -> DebtorEventResult:
    """An insolvency published (BODACC) for the debtor: every open invoice freezes
    (C. com. L622-21) and each prepares its declaration of claim (R622-24)."""
    return await _fan_out(runtime, principal, debtor_id, event)


@router.post(
    "/{debtor_id}/payment-plan", operation_id="agreeDebtorPaymentPlan", responses=RESPONSES
)
async def debtor_payment_plan(
    debtor_id: DebtorId, plan: DebtorPlanIn, principal: OperatorPrincipal, runtime: RuntimeDep
) -> DebtorEventResult:
    """One payment plan for the debtor's open invoices together: the instalments must total
    their open balances; each is imputed as a payment on its due date would be (due
    invoices first, the oldest first: C. civ. 1342-10), and each invoice's case gets its own
    plan (its share of each instalment), which holds its timeline until an instalment of
    its own is missed."""
    views = await _open_cases(runtime, principal, debtor_id)
    try:
        shares = allocate_plan(
            [(v.case_id, v.due_date, v.balance) for v in views],
            [(i.due_on, i.amount) for i in plan.instalments],
        )
    except LegalError as err:
        raise field_error("instalments", str(err)) from None
    events = [
        (
            case_id,
            PaymentPlanAgreed(
                agreed_on=plan.agreed_on,
                instalments=[Instalment(due_on=d, amount=a) for d, a in parts],
            ),
        )
        for case_id, parts in shares.items()
    ]
    return await _send_each(runtime, principal, debtor_id, events)
