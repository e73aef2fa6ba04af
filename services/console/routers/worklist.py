"""The worklist, the home page once signed in: what needs an operator today.

Phone tasks to call (with the outcome form), steps waiting for approval (the reminder:
until an operator decides, on the case page, nothing costly leaves), blocked steps,
promises and instalments due today. Each line opens its case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import func, or_, select

from projections.calendar import today
from schemas.case import CaseView, HoldKind, Stage
from services.api.debtor_names import named_views
from services.api.deps import Runtime
from services.api.keys import Role
from services.api.routers.tasks import _open_tasks
from services.console.forms import PHONE_FIELDS, FormErrors, submit_phone_outcome
from services.console.pages import ConsoleRoute, Visit, checked_form, require_operator, signed_in
from services.portal.pending import OUTCOMES, pending_portal_requests
from services.portal.unapplied_payments import unapplied_payments
from storage.tables import case_views

router = APIRouter(route_class=ConsoleRoute)
SignedIn = Annotated[Visit, Depends(signed_in)]
SCAN_LIMIT = 500


@dataclass(frozen=True)
class Line:
    """One line of the worklist: the case it opens and what to look at."""

    case_id: str
    invoice_number: str
    debtor_name: str
    balance: Decimal
    what: str
    when: date | datetime | None = None
    amount: Decimal | None = None


def pending_approvals(view: CaseView) -> list[Line]:
    """Steps waiting for a person's approval (policy steps with ``requires_approval``),
    each with what the hold says and since when."""
    return [
        Line(view.case_id, view.invoice_number, view.debtor_name, view.balance, hold.reason,
             hold.since)
        for hold in view.holds
        if hold.kind is HoldKind.approval
    ]  # fmt: skip


def _promised_on(view: CaseView) -> date | None:
    for entry in reversed(view.journal):
        if entry.type == "PromiseToPayMade" and entry.fact is not None:
            raw = entry.fact.get("data", {}).get("promised_by")
            if isinstance(raw, str):
                return date.fromisoformat(raw[:10])
    return None


def _lines(views: list[CaseView], day: date) -> dict[str, list[Line]]:
    approvals: list[Line] = []
    blocked: list[Line] = []
    due: list[Line] = []
    for view in views:
        base = (view.case_id, view.invoice_number, view.debtor_name, view.balance)
        approvals.extend(pending_approvals(view))
        for hold in view.holds:
            if hold.kind is HoldKind.blocked:
                blocked.append(Line(*base, f"{hold.ref or 'étape'} : {hold.reason}", hold.since))
            if hold.kind is HoldKind.promise:
                promised = _promised_on(view)
                if promised is not None and promised <= day <= (hold.until or promised):
                    due.append(Line(*base, "Promesse de paiement", promised, hold.amount))
        if view.plan is not None:
            for number, (due_on, amount) in enumerate(view.plan.instalments, start=1):
                if due_on == day:
                    due.append(Line(*base, f"Échéance n° {number}", due_on, amount))
    return {"approvals": approvals, "blocked": blocked, "due": due}


async def _open_views(runtime: Runtime, tenant: str) -> list[CaseView]:
    """Open cases whose view has a blocked step, a step awaiting approval, a promise or a
    plan (read model)."""
    view = case_views.c.view
    query = (
        select(view)
        .where(
            case_views.c.tenant == tenant,
            view["stage"].astext != Stage.closed.value,
            or_(
                view["holds"].contains([{"kind": HoldKind.blocked.value}]),
                view["holds"].contains([{"kind": HoldKind.approval.value}]),
                view["holds"].contains([{"kind": HoldKind.promise.value}]),
                func.jsonb_typeof(view["plan"]) == "object",
            ),
        )
        .order_by(case_views.c.recorded_at)
        .limit(SCAN_LIMIT)
    )
    async with runtime.reads.connect() as conn:
        views = [CaseView.model_validate(row.view) for row in await conn.execute(query)]
    return await named_views(runtime, tenant, views)


async def _worklist(
    current: Visit, status: int = 200, errors: dict[str, dict[str, str]] | None = None, **ctx: Any
) -> Response:
    principal = current.who
    runtime = current.runtime
    phone = (
        await _open_tasks(runtime, principal.tenant, 50) if principal.role is Role.operator else []
    )
    lines = _lines(await _open_views(runtime, principal.tenant), today())
    return current.render(
        "worklist.html",
        status,
        tasks=phone,
        phone_fields=PHONE_FIELDS,
        errors=errors or {},
        today=today(),
        portal_requests=await pending_portal_requests(runtime, principal.tenant),
        unapplied=await unapplied_payments(runtime, principal.tenant),
        **lines,
        **ctx,
    )


@router.get("/")
async def worklist(current: SignedIn, done: str | None = None, portal: str = "") -> Response:
    flash = OUTCOMES.get(portal) or (done and "Résultat de l'appel enregistré.")
    return await _worklist(current, flash=flash)


@router.post("/tasks/{task_id}/outcome")
async def phone_outcome(task_id: str, request: Request, current: SignedIn) -> Response:
    form = await checked_form(request, current)
    principal = require_operator(current)
    try:
        acked = await submit_phone_outcome(current.runtime, principal, task_id, form)
    except FormErrors as refused:
        return await _worklist(
            current, 422, errors={task_id: refused.errors}, values={task_id: form}
        )
    return current.redirect(f"/?done=outcome#case-{acked.case_id}")
