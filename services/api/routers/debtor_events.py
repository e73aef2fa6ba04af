"""Holds at the debtor's level: a pause, its lifting, an insolvency, on every open invoice.

A dispute concerns one invoice (POST /v1/cases/{case_id}/disputes); an operator's pause
or an insolvency concerns the debtor, so it applies to each of the debtor's open cases,
each recording it in its own journal (the same event as on the case, with the same actor).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from projections.case_view_store import debtor_case_views
from schemas.case import Stage
from schemas.case_events import InsolvencyPublished, OperatorPause, OperatorResume
from services.api.deps import OperatorPrincipal, Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse
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


async def _fan_out(
    runtime: Runtime, principal: Principal, debtor_id: str, event: Any
) -> DebtorEventResult:
    tenant = principal.tenant
    async with runtime.reads.connect() as conn:
        try:
            await runtime.debtors.record(conn, tenant, debtor_id)
        except UnknownDebtor:
            raise ApiError(404, "not_found", f"debtor_id: no debtor {debtor_id}") from None
        views = await debtor_case_views(conn, tenant, [debtor_id])
    results = []
    for view in views:
        if view.stage is Stage.closed:
            continue
        try:
            acked = await send_case_event(runtime, principal, view.case_id, event)
        except ApiError as err:
            if err.status == 503:
                raise  # nothing half-said: the cases already done take the retry as a no-op
            results.append(CaseResult(case_id=view.case_id, applied=False, detail=err.message))
            continue
        results.append(
            CaseResult(
                case_id=view.case_id,
                applied=True,
                stage=acked.stage.value,
                position=acked.position,
            )
        )
    if not results:
        raise ApiError(409, "no_open_case", "debtor_id: the debtor has no open case")
    return DebtorEventResult(debtor_id=debtor_id, cases=results)


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
