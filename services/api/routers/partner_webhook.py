"""`POST /v1/partners/{partner_kind}/reports`: status reports of agencies and commissaires.

No API key: the caller is authenticated by ``X-Recouvre-Signature`` (``t=<unix>,v1=<hex>``, an
HMAC-SHA256 of ``"<t>." + raw body`` with ``PARTNER_WEBHOOK_SECRET``; see
activities/partners/signature.py). Answers:

- 200 recorded (``duplicate: true`` when the event id was seen before: nothing changes);
- 401 missing, wrong or stale signature; 404 unknown partner kind or mandate reference;
- 409 the hand-off's case has no workflow; 422 invalid report;
- 503 secret not configured, or Temporal unavailable (the report is kept; send it again).

A report becomes ``PartnerReport(status, on, amount, result, note,
by="partner:<kind>:<reference>")`` signalled to the case's workflow as ``record_event``
(activities/partners/inbound.py).

Mount with ``app.include_router(router)``. ``get_partner_inbound`` (database, Temporal client,
``PartnerSettings``) is the dependency to override; by default it takes the app's ``Runtime``
and ``app.state.partner_settings`` when set, else ``PartnerSettings()`` from the environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.partners.inbound import (
    CaseUnreachable,
    NoCaseWorkflow,
    PartnerEventIn,
    UnknownMandate,
    receive_report,
)
from activities.partners.settings import HANDOFF_PARTNERS, PartnerSettings
from activities.partners.signature import SIGNATURE_HEADER, SignatureError, verify
from services.api.deps import Runtime
from services.api.errors import ApiError, ErrorResponse

log = logging.getLogger("recouvre.api.partners")

router = APIRouter(prefix="/v1/partners", tags=["partners"])


@dataclass
class PartnerInbound:
    """What the endpoint needs."""

    engine: AsyncEngine
    temporal: Client
    settings: PartnerSettings
    rpc_timeout: timedelta = timedelta(seconds=5)


@cache
def _env_settings() -> PartnerSettings:
    return PartnerSettings()


def get_partner_inbound(request: Request) -> PartnerInbound:
    """The default dependency: the app's runtime and partner settings."""
    runtime: Runtime = request.app.state.runtime
    settings = getattr(request.app.state, "partner_settings", None) or _env_settings()
    return PartnerInbound(
        engine=runtime.engine,
        temporal=runtime.temporal,
        settings=settings,
        rpc_timeout=timedelta(seconds=runtime.settings.temporal_rpc_timeout_s),
    )


PartnerInboundDep = Annotated[PartnerInbound, Depends(get_partner_inbound)]


class ReportAck(BaseModel):
    event_id: str
    case_id: str
    mandate_reference: str
    status: str
    duplicate: bool
    """The event id was received before: nothing was changed or signalled again."""
    outcome: str
    """``signalled`` (the case was told), or ``case_not_running`` (its workflow had finished,
    e.g. the case was already paid; the report is kept on the hand-off)."""


RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 409, 422, 503)
}
_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PartnerEventIn.model_json_schema()}},
    },
    "parameters": [
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "schema": {"type": "string", "example": "t=1767225600,v1=5f2b…"},
            "description": "HMAC-SHA256 of '<t>.<raw body>' with the shared secret (hex)",
        }
    ],
}


@router.post(
    "/{partner_kind}/reports",
    operation_id="receivePartnerReport",
    response_model=ReportAck,
    responses=RESPONSES,
    openapi_extra=_BODY_SCHEMA,
    summary="A partner's status report on a mandate (signed)",
)
async def receive_partner_report(
    partner_kind: str, request: Request, inbound: PartnerInboundDep
) -> ReportAck:
    """Record the report once per event id, update the hand-off, and tell the case."""
    if partner_kind not in HANDOFF_PARTNERS:
        raise ApiError(404, "not_found", f"no partner kind {partner_kind!r}")
    settings = inbound.settings
    if not settings.webhook_secret:
        raise ApiError(503, "unavailable", "partner reports are not configured on this server")
    body = await request.body()
    try:
        verify(
            settings.webhook_secret,
            body,
            request.headers.get(SIGNATURE_HEADER),
            tolerance_s=settings.webhook_tolerance_s,
        )
    except SignatureError as err:
        log.warning("partner report refused (%s): %s", partner_kind, err)
        raise ApiError(401, "unauthorized", f"bad signature: {err}") from None
    try:
        event = PartnerEventIn.model_validate_json(body)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in err.errors()]
        ) from None
    try:
        receipt = await receive_report(
            inbound.engine,
            inbound.temporal,
            partner_kind,
            event,
            rpc_timeout=inbound.rpc_timeout,
        )
    except UnknownMandate as err:
        raise ApiError(404, "not_found", str(err)) from None
    except NoCaseWorkflow as err:
        raise ApiError(409, "conflict", str(err)) from None
    except CaseUnreachable as err:
        raise ApiError(
            503, "temporal_unavailable", f"{err}; the report is kept, send it again"
        ) from None
    return ReportAck(
        event_id=receipt.event_id,
        case_id=receipt.case_id,
        mandate_reference=receipt.partner_reference,
        status=receipt.status,
        duplicate=receipt.duplicate,
        outcome=receipt.outcome,
    )
