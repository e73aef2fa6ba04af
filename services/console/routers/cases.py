"""/cases (the list, from the projections) and /cases/{case_id} (the case, from its read
model), with the case's forms and documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from activities.letter_layout.stored import printed_pdf
from projections.listing import CaseQuery
from schemas.case import PlannedAction, Stage
from services.api.case_reads import Consistency
from services.api.debtor_names import named_case_list
from services.api.errors import ApiError, _field_of
from services.api.routers import cases as api_cases
from services.audit.case_records import case_documents, case_proofs, find_case
from services.console import labels
from services.console.forms import (
    FORMS,
    GENERAL,
    FormErrors,
    known_fields,
    placed,
    submit_case_form,
)
from services.console.pages import ConsoleRoute, Visit, checked_form, require_operator, signed_in
from storage.tables import case_views

router = APIRouter(route_class=ConsoleRoute)
SignedIn = Annotated[Visit, Depends(signed_in)]
PAGE = 25
BANDS: dict[str, tuple[int | None, int | None, str]] = {
    "not_due": (None, 0, "Non échu"),
    "1-30": (1, 30, "1 à 30 jours"),
    "31-60": (31, 60, "31 à 60 jours"),
    "61-90": (61, 90, "61 à 90 jours"),
    "90+": (91, None, "Plus de 90 jours"),
}
SORTS = {
    "-days_overdue": "Retard (le plus ancien d'abord)",
    "days_overdue": "Retard (le plus récent d'abord)",
    "-balance": "Solde (décroissant)",
    "balance": "Solde (croissant)",
    "debtor": "Débiteur (A → Z)",
    "invoice_number": "N° de facture",
    "next_action_on": "Prochaine action",
    "-updated": "Dernière modification",
}
FILTERS = ("stage", "band", "debtor", "min_balance", "max_balance", "sort")


def _query(params: dict[str, Any]) -> CaseQuery:
    """The list's query string (the filter form) as the API's CaseQuery."""
    body: dict[str, Any] = {"limit": PAGE, "offset": params.get("offset") or 0}
    if params.get("stage"):
        body["stage"] = params["stage"]
    for name in ("debtor", "min_balance", "max_balance", "sort"):
        if params.get(name):
            body[name] = params[name]
    band = BANDS.get(params.get("band") or "")
    if band is not None:
        low, high, _ = band
        if low is not None:
            body["min_days_overdue"] = low
        if high is not None:
            body["max_days_overdue"] = high
    return CaseQuery.model_validate(body)


async def _next_actions(current: Visit, case_ids: list[str]) -> dict[str, PlannedAction]:
    """The planned next action of each listed case, from its read model (the list's
    projection only knows its date)."""
    if not case_ids:
        return {}
    query = select(case_views.c.case_id, case_views.c.view["next_action"]).where(
        case_views.c.tenant == current.who.tenant, case_views.c.case_id.in_(case_ids)
    )
    async with current.runtime.reads.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {row[0]: PlannedAction.model_validate(row[1]) for row in rows if row[1]}


@router.get("/cases")
async def case_list(request: Request, current: SignedIn) -> Response:
    principal = current.who
    query_params = request.query_params
    params: dict[str, Any] = {name: query_params.get(name, "").strip() for name in FILTERS}
    params["stage"] = [s for s in query_params.getlist("stage") if s]
    params["offset"] = query_params.get("offset", "0").strip() or "0"
    errors: dict[str, str] = {}
    page = None
    try:
        query = _query(params)
    except ValidationError as err:
        for error in err.errors():
            name, message = _field_of(dict(error))
            errors.setdefault(name.split(".")[0], message)
    else:
        page = await named_case_list(current.runtime, principal.tenant, query)
    upcoming = await _next_actions(current, [item.case_id for item in page.items] if page else [])

    def link(offset: int) -> str:
        kept = [(k, v) for k, v in query_params.multi_items() if k != "offset" and v]
        return "/cases?" + urlencode([*kept, ("offset", str(offset))])

    return current.render(
        "cases.html",
        400 if errors else 200,
        page=page,
        upcoming=upcoming,
        params=params,
        errors=errors,
        stages=list(Stage),
        bands=BANDS,
        sorts=SORTS,
        prev_link=link(max(0, page.offset - PAGE)) if page and page.offset > 0 else None,
        next_link=link(page.offset + PAGE) if page and page.offset + PAGE < page.total else None,
    )


@dataclass(frozen=True)
class Document:
    kind: str
    index: int
    title: str
    at: datetime | None
    media_type: str
    detail: str = ""

    @property
    def url(self) -> str:
        return f"documents/{self.kind}/{self.index}"


async def _documents(current: Visit, case_id: str) -> tuple[list[Document], list[Any]]:
    engine = current.runtime.engine
    tenant = current.principal.tenant if current.principal is not None else ""
    case = await find_case(engine, tenant, case_id)
    emails, outbox = await case_documents(engine, case_id, current.runtime.debtors, case)
    proofs = await case_proofs(engine, case_id)
    found = [
        Document(
            "email",
            i,
            f"Courriel : {e.subject}",
            e.sent_at or e.created_at,
            "text/plain",
            f"à {e.recipient} ({e.status})",
        )
        for i, e in enumerate(emails)
    ]
    found += [
        Document(
            "outbox",
            i,
            f"{labels.CHANNELS.get(o.channel, o.channel).capitalize()} : {o.step}",
            o.created_at,
            "application/pdf" if o.layout else "text/plain",
            o.reference,
        )
        for i, o in enumerate(outbox)
    ]
    found += [
        Document(
            "proof",
            i,
            f"Preuve de recommandé ({p.kind}) : {p.step}",
            None,
            p.media_type,
            p.provider_id or "",
        )
        for i, p in enumerate(proofs)
    ]
    return found, [emails, outbox, proofs]


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    title: str
    detail: str
    by: str | None = None
    document: Document | None = None


async def case_page(
    current: Visit,
    case_id: str,
    after: int | None = None,
    *,
    status: int = 200,
    flash: str | None = None,
    open_form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    principal = current.who
    detail = await api_cases.get_case(
        case_id, principal, current.runtime, Consistency.read_model, after
    )
    documents, _ = await _documents(current, case_id)
    timeline = [TimelineItem(e.at, labels.fact(e.type), e.detail, e.by) for e in detail.journal]
    timeline += [
        TimelineItem(d.at, d.title, d.detail, document=d) for d in documents if d.at is not None
    ]
    timeline.sort(key=lambda item: item.at, reverse=True)
    closed = detail.stage is Stage.closed
    holds = {hold.kind.value for hold in detail.holds}
    shown = [
        form
        for name, form in FORMS.items()
        if not closed
        and name != "approval"  # shown with the step it decides, in its own section
        and (name != "resume" or "operator" in holds)
        and (name != "pause" or "operator" not in holds)
        and (name != "dispute-resolution" or "dispute" in holds)
        and (name != "dispute" or "dispute" not in holds)
    ]
    return current.render(
        "case.html",
        status,
        case=detail,
        timeline=timeline,
        undated=[d for d in documents if d.at is None],
        forms=shown,
        approval_form=None if closed else FORMS["approval"],
        open_form=open_form,
        errors=errors or {},
        values=values or {},
        flash=flash,
        general=GENERAL,
        today=datetime.now(UTC).date(),  # the API refuses a payment "in the future" in UTC
    )


@router.get("/cases/{case_id}")
async def case(
    case_id: str, current: SignedIn, after: int | None = None, done: str | None = None
) -> Response:
    form = FORMS.get(done or "")
    return await case_page(current, case_id, after, flash=form.done if form else None)


@router.post("/cases/{case_id}/{form_name}")
async def post_case_form(
    case_id: str, form_name: str, request: Request, current: SignedIn
) -> Response:
    posted = await checked_form(request, current)
    principal = require_operator(current)
    form = FORMS.get(form_name)
    if form is None:
        raise ApiError(404, "not_found", f"no form {form_name}")
    try:
        acked = await submit_case_form(form, current.runtime, principal, case_id, posted)
    except FormErrors as refused:
        return await case_page(
            current,
            case_id,
            status=422,
            open_form=form.name,
            errors=placed(refused.errors, known_fields(form)),
            values=posted,
        )
    return current.redirect(f"/cases/{case_id}?after={acked.position}&done={form.name}")


@router.get("/cases/{case_id}/documents/{kind}/{index}")
async def document(
    case_id: str, kind: str, index: int, current: SignedIn, download: bool = False
) -> Response:
    principal = current.who
    # The tenant's case or 404 (an auditor's read of it is recorded, as the API does).
    await api_cases.get_case(case_id, principal, current.runtime)
    documents, (emails, outbox, proofs) = await _documents(current, case_id)
    chosen = next((d for d in documents if d.kind == kind and d.index == index), None)
    if chosen is None:
        raise ApiError(404, "not_found", "no such document")
    content: bytes
    if kind == "email":
        email = emails[index]
        content = (email.body or "(le texte de ce courriel n'a pas été conservé)").encode()
        name = f"{email.step}.txt"
    elif kind == "outbox" and outbox[index].layout:
        # The very letter the provider printed and the dossier keeps (activities/letter_layout).
        row = outbox[index]
        content = printed_pdf(
            row.body, row.layout, title=row.step, reference=row.reference, created_at=row.created_at
        )
        name = f"{row.step}.pdf"
    elif kind == "outbox":
        content = outbox[index].body.encode()
        name = f"{outbox[index].step}.txt"
    else:
        content = proofs[index].content
        name = f"{proofs[index].step}-{proofs[index].kind}"
    media = chosen.media_type + ("; charset=utf-8" if chosen.media_type == "text/plain" else "")
    disposition = "attachment" if download else "inline"
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
