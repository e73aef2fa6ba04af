"""The portal requests still waiting for an operator, as the console's worklist shows
them (kept apart from services/portal/decisions.py, which needs the console's pages: the
worklist imports this without a cycle)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.api.deps import Runtime
from services.console.pages import day, money
from services.portal.requests import PortalRequest, list_requests

KINDS = {"payment_plan": "Proposition d'échéancier", "contact_details": "Nouvelles coordonnées"}


@dataclass(frozen=True)
class RequestLine:
    """One pending request as the worklist shows it."""

    request_id: str
    debtor_id: str
    debtor_name: str
    kind: str
    summary: str
    created_at: datetime
    case_id: str | None


def _summary(found: PortalRequest) -> str:
    payload = found.payload
    if payload is None:
        return "données effacées"
    if found.kind == "payment_plan":
        rows = payload.get("instalments", [])
        parts = [f"{day(r['due_on'])} : {money(r['amount'])}" for r in rows]
        note = payload.get("note") or ""
        return (
            f"{len(rows)} échéance(s) — " + " ; ".join(parts) + (f" — « {note} »" if note else "")
        )
    labels = {"email": "courriel", "phone": "téléphone", "address": "adresse"}
    given = [f"{labels[k]} : {v}" for k, v in payload.items() if k in labels and v]
    return " ; ".join(given) or "—"


async def pending_portal_requests(runtime: Runtime, tenant: str) -> list[RequestLine]:
    """The tenant's pending requests, oldest first, with the debtors' names."""
    async with runtime.reads.connect() as conn:
        found = await list_requests(conn, runtime.debtors, tenant)
        records = await runtime.debtors.records(conn, tenant, {r.debtor_id for r in found})
    names = {r.debtor_id: r.identity.name if r.identity else "—" for r in records}
    return [
        RequestLine(
            request_id=r.request_id,
            debtor_id=r.debtor_id,
            debtor_name=names.get(r.debtor_id, "—"),
            kind=KINDS.get(r.kind, r.kind),
            summary=_summary(r),
            created_at=r.created_at,
            case_id=(r.payload or {}).get("case_id"),
        )
        for r in found
    ]


OUTCOMES = {
    "accepted": "Demande acceptée.",
    "refused": "Demande refusée.",
    "gone": "Cette demande n'est plus en attente.",
    "contact_applied": "Coordonnées acceptées : les prochains envois les utilisent. "
    "Reportez-les aussi dans l'ERP.",
    "contact_address": "Coordonnées acceptées : courriel et téléphone mis à jour. Reportez "
    "l'adresse postale dans l'ERP (les lettres partent à l'adresse qu'il transmet).",
    "contact_unusable": "Demande acceptée, mais ces coordonnées ne sont pas utilisables "
    "telles quelles : reportez-les à la main dans l'ERP.",
    "plan_refused": "Le dossier n'a pas accepté cet échéancier (le solde ou les dates ne "
    "conviennent plus) : la demande reste en attente ; refusez-la ou convenez d'un autre.",
}
"""The worklist's message after a decision, by code (a link never carries free text)."""
