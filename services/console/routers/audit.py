"""The auditor's view: a case's event stream with its chain verification, the evidence
dossier, the tenant's trail of auditor reads. Auditor role only, as in the API; every
read is recorded by the API's own functions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.api.errors import ApiError
from services.api.keys import Principal, Role
from services.api.routers import audit as api_audit
from services.console.pages import ConsoleRoute, Visit, signed_in

router = APIRouter(route_class=ConsoleRoute)
SignedIn = Annotated[Visit, Depends(signed_in)]


def _auditor(current: Visit) -> Principal:
    principal = current.who
    if principal.role is not Role.auditor:
        raise ApiError(403, "forbidden", "Réservé aux auditeurs.")
    return principal


@router.get("/cases/{case_id}/events")
async def case_events(case_id: str, current: SignedIn) -> Response:
    principal = _auditor(current)
    export = await api_audit.get_case_events(case_id, principal, current.runtime, Response())
    return current.render("events.html", case_id=case_id, export=export)


@router.get("/cases/{case_id}/dossier")
async def case_dossier(case_id: str, current: SignedIn) -> Response:
    principal = _auditor(current)
    return await api_audit.get_case_dossier(case_id, principal, current.runtime)


@router.get("/audit/reads")
async def auditor_reads(current: SignedIn) -> Response:
    principal = _auditor(current)
    reads = await api_audit.get_reads(principal, current.runtime, limit=200)
    return current.render("reads.html", reads=reads)
