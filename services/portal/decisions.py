"""The operator's side of the portal: what debtors asked (table ``portal_requests``),
listed on the console's worklist, accepted or refused there.

An accepted payment plan goes through the API's own code path (the case's
``payment_plan`` event, ``services.api.routers.case_events._send``), so the workflow
checks it as it would an operator's: a plan that no longer fits (the balance changed, a
date passed) is refused and the request stays pending. An accepted email or
phone replaces the debtor's in the vault at once; the operator carries the correction to
the ERP too, which owns the debtor's identity (the next invoice it sends refreshes it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.calendar import today
from schemas.case_events import PaymentPlanAgreed
from services.api.deps import Runtime
from services.api.errors import ApiError
from services.api.routers.case_events import _send
from services.console.pages import ConsoleRoute, Visit, checked_form, require_operator, signed_in
from services.portal.requests import PortalRequest, decide_request, list_requests
from storage.debtor_vault import DebtorErased

router = APIRouter(route_class=ConsoleRoute)
SignedIn = Annotated[Visit, Depends(signed_in)]
MAX_DECISION_NOTE = 500


def _back(outcome: str) -> str:
    return f"/?portal={outcome}#portal-requests"


@router.post("/portail/demandes/{request_id}/decision")
async def decide(request_id: str, request: Request, current: SignedIn) -> Response:
    """Accept or refuse one pending request (operators only, CSRF checked)."""
    form = await checked_form(request, current)
    principal = require_operator(current)
    decision = form.get("decision")
    note = form.get("note", "")[:MAX_DECISION_NOTE] or None
    if decision not in ("accepted", "refused"):
        raise ApiError(422, "validation_error", "decision : accepter ou refuser")
    runtime = current.runtime
    async with runtime.reads.connect() as conn:
        pending = await list_requests(conn, runtime.debtors, principal.tenant)
    found = next((r for r in pending if r.request_id == request_id), None)
    if found is None:
        return current.redirect(_back("gone"))
    if decision == "accepted" and found.kind == "payment_plan":
        payload = found.payload or {}
        try:
            plan = PaymentPlanAgreed.model_validate(
                {"agreed_on": today(), "instalments": payload.get("instalments", [])}
            )
            # One plan per request, even if two operators accept it at the same moment.
            case_id, update_id = str(payload.get("case_id", "")), f"portal-plan/{request_id}"
            await _send(runtime, principal, case_id, plan, update_id=update_id)
        except (ValidationError, ApiError):
            return current.redirect(_back("plan_refused"))
    outcome = decision
    async with runtime.engine.begin() as conn:
        status: Literal["accepted", "refused"] = "accepted" if decision == "accepted" else "refused"
        if not await decide_request(
            conn, principal.tenant, request_id, status, principal.actor, note
        ):
            return current.redirect(_back("gone"))  # another operator decided meanwhile
        if decision == "accepted" and found.kind == "contact_details":
            outcome = await _apply_contact(conn, runtime, principal.tenant, found)
    return current.redirect(_back(outcome))


async def _apply_contact(
    conn: AsyncConnection, runtime: Runtime, tenant: str, found: PortalRequest
) -> str:
    """The accepted email and phone replace the debtor's in the vault (the next reminder
    uses them); a postal address, free text here, is for the operator to carry to the
    ERP, which owns the structured address registered letters are posted to."""
    payload = found.payload or {}
    email, phone = payload.get("email") or None, payload.get("phone") or None
    if email or phone:
        try:
            await runtime.debtors.correct_contact(
                conn, tenant, found.debtor_id, email=email, phone=phone
            )
        except (ValidationError, DebtorErased):
            return "contact_unusable"
    return "contact_address" if payload.get("address") else "contact_applied"
