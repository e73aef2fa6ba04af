"""The portal's pages: GET /portail/{token} (the claim) and its forms.

The token in the path is the debtor's capability (activities/portal_link.py): every
request reads it again, and everything done is done as ``debtor:<id>@<tenant>`` on that
debtor's own cases only. Forms are plain HTML posts, refused unless they come from the
portal's own origin and carry the page's nonce (derived from the token), so another site
cannot make a visitor's browser act. Each form re-renders the page with French errors
next to the field they name; a refusal of the case's workflow (a closed case, say) is
shown the same way, never as a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from activities.portal_link import (
    PortalScope,
    read_portal_token,
    resolve_portal_secret,
    signed_scope,
)
from inbound.einvoice.document import OriginalFile
from projections.calendar import today
from schemas.bounds import MAX_AMOUNT, MAX_DATE, MAX_NOTE
from schemas.case_events import CaseEventEnvelope, DisputeOpened, PaymentPlanAgreed, PromiseToPay
from services.api import stripe_checkout
from services.api.case_access import case_handle, case_update
from services.api.case_files import store_case_file
from services.api.deps import Runtime, get_runtime
from services.api.errors import ApiError
from services.console.pages import money
from services.portal.claim import Claim, load_claim
from services.portal.lost_link import send_new_links
from services.portal.pages import FormRefused, PortalRoute, render
from services.portal.requests import add_request, list_requests

log = logging.getLogger("recouvre.portal")
router = APIRouter(prefix="/portail", route_class=PortalRoute, include_in_schema=False)
PLAN_ROWS = 6
STYLESHEET = Path(__file__).parent / "static" / "portal.css"
MAX_ATTACHMENT = 5 * 1024 * 1024
ATTACHMENT_TYPES = {"application/pdf", "image/jpeg", "image/png"}
MAX_EMAIL = 254
DONE = {
    "contestation": "Votre contestation est enregistrée : les relances sur cette facture "
    "sont suspendues pendant son examen.",
    "promesse": "Votre promesse de paiement est enregistrée : les relances attendent la date "
    "que vous avez indiquée.",
    "echeancier": "Votre proposition d'échéancier est transmise : elle est en attente de "
    "validation par le créancier.",
    "coordonnees": "Vos nouvelles coordonnées sont transmises : elles sont en attente de "
    "validation par le créancier.",
    "paiement": "Merci : votre paiement est en cours de traitement. Il apparaîtra ici dès sa "
    "confirmation.",
}
FIELD_NAMES = {
    "promised_on": "date",
    "reason": "motif",
    "instalments": "echeances",
    "agreed_on": "echeances",
}


# ---- the capability -----------------------------------------------------------------


def portal_secret(request: Request) -> bytes:
    """The signing secret, resolved once per app (the file is read or made once)."""
    state = request.app.state
    found: bytes | None = getattr(state, "portal_secret", None)
    if found is None:
        settings = get_runtime(request).settings
        found = resolve_portal_secret(settings.portal_secret, settings.var_dir)
        state.portal_secret = found
    return found


def form_nonce(secret: bytes, token: str) -> str:
    """The nonce every form of the page carries: only the portal can compute it."""
    return hmac.new(secret, b"form\x00" + token.encode(), hashlib.sha256).hexdigest()[:32]


def _base_url(request: Request) -> str:
    configured = get_runtime(request).settings.portal_base_url.strip()
    return (configured or str(request.base_url)).rstrip("/")


def _same_origin(request: Request) -> bool:
    """A browser's form post names its page's origin; it must be the portal's (as
    configured, or as this request reached it). No Origin (an old client): allowed, the
    nonce still stands."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    configured = urlsplit(get_runtime(request).settings.portal_base_url)
    if configured.scheme and configured.netloc:
        own.add(f"{configured.scheme}://{configured.netloc}")
    return origin.rstrip("/") in own


async def _checked_form(request: Request, token: str) -> FormData:
    if not _same_origin(request):
        raise FormRefused
    form = await request.form()
    sent = form.get("nonce")
    expected = form_nonce(portal_secret(request), token)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise FormRefused
    return form


def _scope(request: Request, token: str) -> PortalScope | None:
    return read_portal_token(portal_secret(request), token, today())


def actor_of(scope: PortalScope) -> str:
    """Who the case's journal names for what the debtor did on the portal."""
    return f"debtor:{scope.debtor_id}@{scope.tenant}"


# ---- pages --------------------------------------------------------------------------


@router.get("/assets/portal.css")
async def stylesheet() -> FileResponse:
    """The portal's few rules on top of the console's stylesheet (/assets/console.css)."""
    return FileResponse(
        STYLESHEET, media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )  # fmt: skip


def _invalid_link(request: Request, token: str | None) -> Response:
    return render(
        request,
        "invalid.html",
        410 if token is not None and signed_scope(portal_secret(request), token) else 404,
        token=token or "",
    )


async def _page(
    request: Request,
    token: str,
    scope: PortalScope,
    *,
    status: int = 200,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    flash: str | None = None,
    transfer_only: bool = False,
) -> Response:
    runtime = get_runtime(request)
    claim = await load_claim(runtime, scope.tenant, scope.debtor_id)
    if claim is None:
        return _invalid_link(request, None)
    async with runtime.reads.connect() as conn:
        pending = await list_requests(
            conn, runtime.debtors, scope.tenant, debtor_id=scope.debtor_id
        )
    settings = runtime.settings
    return render(
        request,
        "claim.html",
        status,
        claim=claim,
        token=token,
        nonce=form_nonce(portal_secret(request), token),
        creditor=settings.creditor_name,
        payment_instructions=settings.payment_instructions,
        pending=pending,
        errors=errors or {},
        values=values or {},
        flash=flash,
        transfer_only=transfer_only,
        plan_rows=PLAN_ROWS,
        today=today(),
        expires=scope.expires,
    )


@router.get("/{token}")
async def claim_page(request: Request, token: str, fait: str | None = None) -> Response:
    scope = _scope(request, token)
    if scope is None:
        return _invalid_link(request, token)
    return await _page(request, token, scope, flash=DONE.get(fait or ""))


def _done(token: str, what: str) -> Response:
    return RedirectResponse(f"/portail/{token}?fait={what}", status_code=303)


# ---- form helpers -------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "nonce"}


def _invoice(claim: Claim | None, form: FormData, errors: dict[str, str]) -> str | None:
    case_id = _text(form, "facture")
    if claim is None or not case_id:
        errors["facture"] = "Facture : choisissez la facture concernée."
        return None
    if claim.invoice(case_id) is None:
        errors["facture"] = "Facture : cette facture n'est pas parmi vos factures ouvertes."
        return None
    return case_id


def _date(form: FormData, name: str, label: str, errors: dict[str, str]) -> date | None:
    raw = _text(form, name)
    if not raw:
        errors[name] = f"{label} : indiquez une date."
        return None
    try:
        parsed = date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{label} : la date « {raw[:20]} » n'est pas valable (jj/mm/aaaa)."
        return None
    if parsed < today():
        errors[name] = f"{label} : la date ne peut pas être passée."
        return None
    if parsed > MAX_DATE:
        errors[name] = f"{label} : la date est trop lointaine."
        return None
    return parsed


def _amount(form: FormData, name: str, label: str, errors: dict[str, str]) -> Decimal | None:
    raw = _text(form, name).replace("\u202f", "").replace(" ", "").replace("€", "")
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        errors[name] = f"{label} : indiquez un montant en euros, par exemple 150,00."
        return None
    # The bound before the quantize: "1e999999999" is finite, and quantizing it raises.
    if (
        not value.is_finite()
        or value <= 0
        or value > MAX_AMOUNT
        or value != value.quantize(Decimal("0.01"))
    ):
        errors[name] = f"{label} : indiquez un montant positif, au centime près."
        return None
    return value


def _update_id(scope: PortalScope, what: str, *parts: str) -> str:
    """The same form sent twice the same day (a double click) applies once."""
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]
    return f"portal/{scope.debtor_id}/{what}/{today()}/{digest}"


def _workflow_refusal(err: ApiError, fields: dict[str, str]) -> dict[str, str]:
    """A case's refusal as the form's errors: on the field it names, else at the head."""
    if err.status >= 500:
        return {
            "_form": "Le service ne répond pas pour le moment : réessayez dans quelques minutes."
        }
    if err.status == 409:
        return {"_form": "Ce dossier n'accepte pas cette demande pour le moment : "
                f"{err.message}"}  # fmt: skip
    details = err.details if isinstance(err.details, list) else []
    found: dict[str, str] = {}
    for detail in details:
        field = str(detail.get("field", "")).split(".")[0]
        name = fields.get(FIELD_NAMES.get(field, ""), "")
        key = FIELD_NAMES.get(field, "_form")
        found[key] = f"{name or 'Demande'} : refusée ({detail.get('message', err.message)})."
    return found or {"_form": f"Demande refusée : {err.message}"}


async def _send_event(
    runtime: Runtime, scope: PortalScope, case_id: str, event: Any, update_id: str
) -> None:
    handle = await case_handle(runtime, scope.tenant, case_id)
    await case_update(runtime, handle, "apply_event", CaseEventEnvelope(event=event), update_id)


# ---- actions ------------------------------------------------------------------------


@router.post("/{token}/payer")
async def pay(request: Request, token: str) -> Response:
    """Online payment (Stripe Checkout) of the whole open balance; without Stripe keys for
    the tenant, or while Stripe fails, the transfer instructions."""
    scope = _scope(request, token)
    if scope is None:
        return _invalid_link(request, token)
    await _checked_form(request, token)
    page = f"{_base_url(request)}/portail/{token}"
    try:
        url = await stripe_checkout.start_checkout(
            get_runtime(request), scope.tenant, scope.debtor_id,
            success_url=f"{page}?fait=paiement", cancel_url=page,
        )  # fmt: skip
    except ApiError:
        raise
    except Exception:  # Stripe down or refusing: the debtor can still pay by transfer
        log.exception("portal: online payment could not start for %s", scope.debtor_id)
        url = None
    if url:
        return RedirectResponse(url, status_code=303)
    return await _page(request, token, scope, transfer_only=True)


@router.post("/{token}/contestation")
async def dispute(request: Request, token: str) -> Response:
    scope = _scope(request, token)
    if scope is None:
        return _invalid_link(request, token)
    form = await _checked_form(request, token)
    runtime = get_runtime(request)
    claim = await load_claim(runtime, scope.tenant, scope.debtor_id)
    errors: dict[str, str] = {}
    case_id = _invoice(claim, form, errors)
    reason = _text(form, "motif")
    if not reason:
        errors["motif"] = "Motif : expliquez ce que vous contestez."
    elif len(reason) > MAX_NOTE:
        errors["motif"] = f"Motif : {MAX_NOTE} caractères au plus ({len(reason)} saisis)."
    attachment = await _attachment(form, errors)
    if errors or case_id is None:
        return await _page(
            request, token, scope, status=422, errors={"contestation": errors},
            values={"contestation": _values(form)},
        )  # fmt: skip
    if attachment is not None:
        async with runtime.engine.begin() as conn:
            await store_case_file(
                conn, runtime.debtors, scope.tenant, case_id, scope.debtor_id, attachment, "dispute"
            )
    event = DisputeOpened(reason=reason, by=actor_of(scope))
    try:
        await _send_event(
            runtime, scope, case_id, event, _update_id(scope, "dispute", case_id, reason)
        )
    except ApiError as err:
        refusal = _workflow_refusal(err, {"motif": "Motif"})
        return await _page(
            request, token, scope, status=err.status, errors={"contestation": refusal},
            values={"contestation": _values(form)},
        )  # fmt: skip
    return _done(token, "contestation")


async def _attachment(form: FormData, errors: dict[str, str]) -> OriginalFile | None:
    sent = form.get("piece")
    if not isinstance(sent, UploadFile) or not sent.filename:
        return None
    content = await sent.read(MAX_ATTACHMENT + 1)
    if not content:
        return None
    if len(content) > MAX_ATTACHMENT:
        errors["piece"] = "Pièce jointe : 5 Mo au plus."
        return None
    media_type = (sent.content_type or "").split(";")[0].strip().lower()
    if media_type not in ATTACHMENT_TYPES:
        errors["piece"] = "Pièce jointe : un PDF, un JPEG ou un PNG."
        return None
    return OriginalFile.of(content, media_type)


@router.post("/{token}/promesse")
async def promise(request: Request, token: str) -> Response:
    scope = _scope(request, token)
    if scope is None:
        return _invalid_link(request, token)
    form = await _checked_form(request, token)
    runtime = get_runtime(request)
    claim = await load_claim(runtime, scope.tenant, scope.debtor_id)
    errors: dict[str, str] = {}
    case_id = _invoice(claim, form, errors)
    promised_on = _date(form, "date", "Date", errors)
    if errors or case_id is None or promised_on is None:
        return await _page(
            request, token, scope, status=422, errors={"promesse": errors},
            values={"promesse": _values(form)},
        )  # fmt: skip
    event = PromiseToPay(promised_on=promised_on, note="portail", by=actor_of(scope))
    try:
        update_id = _update_id(scope, "promise", case_id, str(promised_on))
        await _send_event(runtime, scope, case_id, event, update_id)
    except ApiError as err:
        return await _page(
            request, token, scope, status=err.status,
            errors={"promesse": _workflow_refusal(err, {"date": "Date"})},
            values={"promesse": _values(form)},
        )  # fmt: skip
    return _done(token, "promesse")


@router.post("/{token}/echeancier")
async def payment_plan(request: Request, token: str) -> Response:
    """A proposed plan for one invoice, checked now as the case will check it (dates
    strictly increasing, instalments totalling the balance), decided by an operator."""
    scope = _scope(request, token)
    if scope is None:
        return _invalid_link(request, token)
    form = await _checked_form(request, token)
    runtime = get_runtime(request)
    claim = await load_claim(runtime, scope.tenant, scope.debtor_id)
    errors: dict[str, str] = {}
    case_id = _invoice(claim, form, errors)
    instalments: list[dict[str, str]] = []
    for n in range(1, PLAN_ROWS + 1):
        if not (_text(form, f"date_{n}") or _text(form, f"montant_{n}")):
            continue
        due_on = _date(form, f"date_{n}", f"Échéance {n}, date", errors)
        amount = _amount(form, f"montant_{n}", f"Échéance {n}, montant", errors)
        if due_on is not None and amount is not None:
            instalments.append({"due_on": str(due_on), "amount": f"{amount:.2f}"})
    if not instalments and not errors:
        errors["date_1"] = "Échéance 1, date : indiquez au moins une échéance (date et montant)."
    note = _text(form, "note")
    if len(note) > MAX_NOTE:
        errors["note"] = f"Message : {MAX_NOTE} caractères au plus."
    line = claim.invoice(case_id) if claim is not None and case_id is not None else None
    if not errors and line is not None:
        try:
            PaymentPlanAgreed.model_validate({"agreed_on": today(), "instalments": instalments})
        except ValidationError:
            errors["date_1"] = "Échéances : les dates doivent se suivre, sans doublon."
        total = sum((Decimal(i["amount"]) for i in instalments), Decimal(0))
        if not errors and total != line.balance:
            errors["montant_1"] = (
                f"Montants : les échéances totalisent {money(total)} ; elles doivent "
                f"totaliser le solde de la facture, {money(line.balance)}."
            )
    if errors or case_id is None:
        return await _page(
            request, token, scope, status=422, errors={"echeancier": errors},
            values={"echeancier": _values(form)},
        )  # fmt: skip
    payload = {"case_id": case_id, "instalments": instalments, "note": note}
    async with runtime.engine.begin() as conn:
        await add_request(
            conn, runtime.debtors, scope.tenant, scope.debtor_id, "payment_plan", payload
        )
    return _done(token, "echeancier")


@router.post("/{token}/coordonnees")
async def contact_details(request: Request, token: str) -> Response:
    scope = _scope(request, token)
    if scope is None:
        return _invalid_link(request, token)
    form = await _checked_form(request, token)
    runtime = get_runtime(request)
    errors: dict[str, str] = {}
    email, phone, address = _text(form, "email"), _text(form, "telephone"), _text(form, "adresse")
    if email and (len(email) > MAX_EMAIL or "@" not in email.strip("@") or " " in email):
        errors["email"] = "Adresse électronique : elle doit ressembler à nom@exemple.fr."
    if phone and (len(phone) > 30 or not all(c.isdigit() or c in "+ .-()" for c in phone)):
        errors["telephone"] = "Téléphone : des chiffres, espaces et + seulement."
    if len(address) > MAX_NOTE:
        errors["adresse"] = f"Adresse postale : {MAX_NOTE} caractères au plus."
    if not (email or phone or address) and not errors:
        errors["email"] = "Coordonnées : indiquez au moins une coordonnée à corriger."
    if errors:
        return await _page(
            request, token, scope, status=422, errors={"coordonnees": errors},
            values={"coordonnees": _values(form)},
        )  # fmt: skip
    payload = {"email": email, "phone": phone, "address": address}
    async with runtime.engine.begin() as conn:
        await add_request(
            conn, runtime.debtors, scope.tenant, scope.debtor_id, "contact_details", payload
        )
    return _done(token, "coordonnees")


# ---- a new link ---------------------------------------------------------------------


@router.post("/lien")
async def lost_link(request: Request, background: BackgroundTasks) -> Response:
    """A new link by email: always the same answer (it reveals nothing)."""
    if not _same_origin(request):
        raise FormRefused
    form = await request.form()
    email = _text(form, "email")
    if not email or len(email) > MAX_EMAIL or "@" not in email.strip("@"):
        error = "Adresse électronique : indiquez l'adresse à laquelle vous recevez nos courriels."
        return render(
            request, "invalid.html", 422, token=_text(form, "lien"), error=error, email=email
        )
    runtime = get_runtime(request)
    secret = portal_secret(request)
    old = signed_scope(secret, _text(form, "lien"))
    tenants = [old.tenant] if old else sorted({p.tenant for p in runtime.keys.values()})
    background.add_task(send_new_links, runtime, secret, _base_url(request), email, tenants)
    return render(request, "link_sent.html")
