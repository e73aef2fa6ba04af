"""Debtor accounts: GET /v1/debtors, GET /v1/debtors/{debtor_id}, and erasure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from projections.calendar import today
from projections.case_view_store import debtor_case_views
from projections.debtor_accounts import DebtorSummary, summarize
from projections.debtor_risk import DebtorRisk, debtor_risk
from projections.retention import retention_ends_on
from schemas.bounds import ApiModel
from schemas.case import CaseView, Stage
from schemas.invoice import Debtor
from services.api.deps import OperatorPrincipal, ReaderPrincipal, Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse, field_error
from storage.debtor_vault import DebtorRecord, UnknownDebtor

router = APIRouter(prefix="/v1/debtors", tags=["debtors"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422)
}
DebtorId = Annotated[str, Path(pattern=r"^dbt-[0-9a-f]{24}$", max_length=40)]


class DebtorAccount(DebtorSummary):
    debtor_id: str
    kind: str
    identified_by: str = Field(
        description="What makes two invoices this debtor's: siren, vat_number, "
        "registration_id, customer_id (the ERP's), else email"
    )
    identity: Debtor | None = Field(description="As the ERP sent it last; null once erased")
    erased_at: datetime | None = None
    erasure_reason: str | None = None
    risk: DebtorRisk = Field(description="Recomputed from the cases' records, explained")
    as_of: date


class DebtorList(BaseModel):
    as_of: date
    debtors: list[DebtorAccount]


class ErasureBasis(StrEnum):
    erasure_request = "erasure_request"
    """A private person's lawful request (RGPD art. 17)."""
    retention_ended = "retention_ended"
    """The cases are closed and their retention (prescription plus margin) has ended."""


class ErasureIn(ApiModel):
    basis: ErasureBasis
    reason: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")


def _account(record: DebtorRecord, views: list[CaseView], as_of: date) -> DebtorAccount:
    summary = summarize(views, as_of)
    return DebtorAccount(
        risk=debtor_risk(views, as_of),
        debtor_id=record.debtor_id,
        kind=record.kind,
        identified_by=record.identified_by,
        identity=record.identity,
        erased_at=record.erased_at,
        erasure_reason=record.erasure_reason,
        as_of=as_of,
        **summary.model_dump(),
    )


async def _accounts(
    runtime: Runtime, tenant: str, debtor_ids: list[str] | None
) -> list[DebtorAccount]:
    as_of = today()
    async with runtime.reads.connect() as conn:
        records = await runtime.debtors.records(conn, tenant, debtor_ids)
        views = await debtor_case_views(conn, tenant, [r.debtor_id for r in records])
    by_debtor: dict[str, list[CaseView]] = {}
    for view in views:
        by_debtor.setdefault(view.debtor_id or "", []).append(view)
    return [_account(r, by_debtor.get(r.debtor_id, []), as_of) for r in records]


@router.get("", operation_id="listDebtors", responses=RESPONSES)
async def list_debtors(
    principal: ReaderPrincipal,
    runtime: RuntimeDep,
    open_only: Annotated[bool, Query(description="Only debtors with an open invoice")] = False,
    sort: Annotated[
        Literal["balance", "risk"], Query(description="Largest open balance, or riskiest, first")
    ] = "balance",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DebtorList:
    """The tenant's debtors, largest open balance (or highest risk) first: identity, open
    invoices with their stages, total balance, aged buckets, contact history, holds and
    the risk score with its reasons."""
    accounts = await _accounts(runtime, principal.tenant, None)
    if open_only:
        accounts = [a for a in accounts if a.open_invoices]
    if sort == "risk":
        accounts.sort(key=lambda a: (-a.risk.score, -a.total_balance, a.debtor_id))
    else:
        accounts.sort(key=lambda a: (-a.total_balance, a.debtor_id))
    return DebtorList(as_of=today(), debtors=accounts[:limit])


@router.get("/{debtor_id}", operation_id="getDebtor", responses=RESPONSES)
async def get_debtor(
    debtor_id: DebtorId, principal: ReaderPrincipal, runtime: RuntimeDep
) -> DebtorAccount:
    """One debtor's account (404 for another tenant's debtor)."""
    found = await _accounts(runtime, principal.tenant, [debtor_id])
    if not found:
        raise ApiError(404, "not_found", f"debtor_id: no debtor {debtor_id}")
    return found[0]


@router.post("/{debtor_id}/erasure", operation_id="eraseDebtor", responses=RESPONSES)
async def erase_debtor(
    debtor_id: DebtorId, body: ErasureIn, principal: OperatorPrincipal, runtime: RuntimeDep
) -> DebtorAccount:
    """Erase the debtor's personal data by destroying its data key: its identity, mail
    copies and letters become unreadable wherever they are stored, while the event store's
    hash chains still verify (docs/data-protection.md). Refused (409) while a case of the
    debtor is open; an erasure request (RGPD art. 17) is for a private person only."""
    tenant = principal.tenant
    async with runtime.engine.begin() as conn:
        try:
            record = await runtime.debtors.record(conn, tenant, debtor_id)
        except UnknownDebtor:
            raise ApiError(404, "not_found", f"debtor_id: no debtor {debtor_id}") from None
        if body.basis is ErasureBasis.erasure_request and record.kind != "consumer":
            raise field_error(
                "basis", "an erasure request applies to a private person (consumer debtor)"
            )
        views = await debtor_case_views(conn, tenant, [debtor_id])
        still_open = [v.case_id for v in views if v.stage is not Stage.closed]
        if still_open:
            raise ApiError(
                409,
                "debtor_has_open_cases",
                f"debtor_id: {len(still_open)} case(s) still open; close them first",
                {"case_ids": still_open},
            )
        margin = timedelta(days=runtime.settings.retention_margin_days)
        ends = retention_ends_on(views, margin)
        if body.basis is ErasureBasis.retention_ended and ends is not None and ends >= today():
            raise ApiError(
                409,
                "retention_not_ended",
                f"basis: the debtor's retention ends on {ends} (prescription + "
                f"{margin.days} days); an erasure request is for a private person",
            )
        await runtime.debtors.erase(conn, tenant, debtor_id, f"{body.basis.value}: {body.reason}")
    return (await _accounts(runtime, tenant, [debtor_id]))[0]
