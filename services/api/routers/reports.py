"""Operators and auditors read the projections: the case list, balance âgée and DSO.

Always the caller's tenant. Read models lag the event log by a moment: every answer
says the last event position it includes, and `GET /v1/cases?after_position=N` waits
(briefly) until the list includes event N.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from projections.aged_balance import AgedBalanceReport, aged_balance
from projections.calendar import today
from projections.dso import DsoReport, dso_report
from projections.listing import CaseListPage, CaseQuery
from projections.projector import wait_for_position
from schemas.bounds import BoundedDate
from services.api.debtor_names import named_aging, named_case_list
from services.api.deps import ReaderPrincipal, RuntimeDep
from services.api.errors import ApiError, ErrorResponse

router = APIRouter(tags=["reports"])
READ_YOUR_WRITES_WAIT_S = 5.0
MAX_DSO_MONTHS = 36
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 422, 503)
}


class CaseListParams(CaseQuery):
    after_position: int | None = Field(
        default=None,
        ge=0,
        le=2**62,
        description="Wait until the list includes this event position (read your writes)",
    )


class AgedBalanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: BoundedDate | None = Field(default=None, description="Default today (Paris)")
    by: Literal["tenant", "debtor"] = Field(
        default="tenant", description="`debtor` adds one line per debtor"
    )


class DsoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_: BoundedDate = Field(alias="from", description="First day of the range")
    to: BoundedDate = Field(description="Last day of the range (a point of its own)")

    @model_validator(mode="after")
    def _range(self) -> DsoParams:
        if self.to < self.from_:
            raise ValueError("to: must not be before from")
        months = (self.to.year - self.from_.year) * 12 + self.to.month - self.from_.month
        if months >= MAX_DSO_MONTHS:
            raise ValueError(f"to: the range spans at most {MAX_DSO_MONTHS} months")
        return self


@router.get("/v1/cases", operation_id="listCases", responses=ERRORS)
async def get_case_list(
    params: Annotated[CaseListParams, Query()], principal: ReaderPrincipal, runtime: RuntimeDep
) -> CaseListPage:
    """The tenant's cases: filter by stage, debtor (part of the name, any case), balance,
    days overdue as of a date, next action date; sort by one key (`-` for descending);
    page with `limit` and `offset` (`total` counts every match)."""
    wanted = params.after_position
    if wanted is not None and not await wait_for_position(
        runtime.engine, wanted, READ_YOUR_WRITES_WAIT_S
    ):
        raise ApiError(
            503,
            "projection_behind",
            f"the case list does not include event {wanted} yet; retry shortly",
            headers={"Retry-After": "1"},
        )
    return await named_case_list(runtime, principal.tenant, params)


@router.get("/v1/reports/aged-balance", operation_id="getAgedBalance", responses=ERRORS)
async def get_aged_balance(
    params: Annotated[AgedBalanceParams, Query()], principal: ReaderPrincipal, runtime: RuntimeDep
) -> AgedBalanceReport:
    """Balance âgée: open balances on `as_of` by days past due (not due, 1-30, 31-60,
    61-90, over 90), for the tenant and, with `by=debtor`, per debtor."""
    as_of = params.as_of or today()
    report = await aged_balance(
        runtime.engine, principal.tenant, as_of, by_debtor=params.by == "debtor"
    )
    await named_aging(runtime, principal.tenant, report)
    return report


@router.get("/v1/reports/dso", operation_id="getDso", responses=ERRORS)
async def get_dso(
    params: Annotated[DsoParams, Query()], principal: ReaderPrincipal, runtime: RuntimeDep
) -> DsoReport:
    """DSO by the countback method at each month end from `from` to `to`, and on `to`:
    open receivables counted back through the months' invoiced sales."""
    return await dso_report(runtime.engine, principal.tenant, params.from_, params.to)
