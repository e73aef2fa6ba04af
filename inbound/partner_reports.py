"""Partner reports: ``POST /v1/partners/{partner_kind}/reports``, status reports of agencies and
commissaires de justice on the mandates recouvre handed them.

No API key: the caller names the mandate's tenant in ``X-Recouvre-Tenant`` and is
authenticated by ``X-Recouvre-Signature`` (``t=<unix>,v1=<hex>``, an HMAC-SHA256 of
``"<t>.<tenant>.<partner_kind>." + raw body`` with the secret of that tenant and partner kind
in ``PARTNER_WEBHOOK_SECRETS``; see inbound/signatures.py). Answers:

- 200 recorded (``duplicate: true`` when the event id was seen before: nothing changes);
- 401 missing, wrong or stale signature, a secret of another partner kind or tenant, a path
  kind other than the signed one, or a mandate of another tenant (nothing changes);
- 404 unknown partner kind or mandate reference;
- 409 the hand-off's case has no workflow; 422 invalid report;
- 503 no ``PARTNER_WEBHOOK_SECRETS`` at all, or Temporal unavailable (the report is kept;
  send it again).

Once a report is authentic (``receive_report``):

1. the hand-off is found by (partner kind, partner reference), and must be the signed
   tenant's;
2. the report is recorded in ``partner_events`` under the partner's event id, and, the first
   time only, appended to the hand-off's ``status_history`` (one transaction);
3. under the event row's lock, the case's workflow receives it as the ``record_event`` signal
   with a ``PartnerReport(status, on, amount, result, note, by="partner:<kind>:<reference>",
   report_id=<the partner's event id>)`` (the workflow applies a report id once),
   and the event is marked ``signalled``. A replay of a handled event changes nothing; a replay
   of an event whose signal failed (Temporal down) signals again. Delivery to the workflow is
   at least once: only a crash between the signal and the commit can repeat it, and the
   workflow ignores a report id it has already applied.

Mount with ``app.include_router(router)``. ``get_partner_inbound`` (database, Temporal client,
``PartnerSettings``) is the dependency to override; by default it takes the app's ``Runtime``
and ``app.state.partner_settings`` when set, else ``PartnerSettings()`` from the environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.partners.delivery import history_entry
from activities.partners.settings import HANDOFF_PARTNERS, PartnerSettings
from inbound.signatures import (
    PARTNER_SIGNATURE_HEADER,
    PARTNER_TENANT_HEADER,
    SignatureError,
    verify_partner_report,
)
from schemas.bounds import MAX_REFERENCE, ApiModel, BoundedDate
from schemas.case_events import CaseEventEnvelope, PartnerReport
from schemas.money import BoundedAmount
from services.api.deps import Runtime
from services.api.errors import ApiError, ErrorResponse
from storage.tables import cases, partner_events, partner_handoffs

log = logging.getLogger("recouvre.partners")

ReportStatus = Literal[
    "accepted",
    "in_progress",
    "amount_collected",
    "title_obtained",
    "enforcement_measure",
    "closed",
]
PENDING, SIGNALLED, CASE_NOT_RUNNING = "pending", "signalled", "case_not_running"
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"


class PartnerEventIn(ApiModel):
    """A report as a partner posts it (unknown fields are ignored)."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "event_id": "evt_5c1e0f2a9b7d4e60",
                    "tenant": "acme",
                    "partner_kind": "commissaire_small_claims",
                    "mandate_reference": "SBX-PC-3f9a2c71d0",
                    "idempotency_key": "case-1a2b3c/escalation/handoff",
                    "status": "amount_collected",
                    "occurred_on": "2026-12-04",
                    "amount": "1200.00",
                    "currency": "EUR",
                    "note": "paiement du débiteur reçu",
                }
            ]
        },
    )

    event_id: str = Field(min_length=1, max_length=MAX_REFERENCE)
    """The partner's own id of this report, required: a redelivery under the same id changes
    nothing, here (``partner_events``) and in the case's workflow (``PartnerReport.report_id``
    keys the payment)."""
    tenant: str | None = Field(default=None, max_length=64)
    """Optional; when given, the tenant the report is signed for (else 401)."""
    partner_kind: str | None = Field(default=None, max_length=32)
    """Optional; when given, the partner kind of the path, which is signed (else 401)."""
    mandate_reference: str = Field(min_length=1, max_length=64, pattern=REFERENCE_PATTERN)
    status: ReportStatus
    occurred_on: BoundedDate
    amount: BoundedAmount | None = None
    currency: Literal["EUR"] = "EUR"
    result: Literal["uncollectable", "withdrawn"] | None = None
    note: str | None = Field(default=None, max_length=400)
    idempotency_key: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _details(self) -> PartnerEventIn:
        if self.status == "amount_collected" and self.amount is None:
            raise ValueError("amount: required when an amount was collected")
        if self.result is not None and self.status != "closed":
            raise ValueError("result: only for a closed mandate")
        return self

    def to_report(self, partner_kind: str) -> PartnerReport:
        """The case event: ``by`` names the partner and its reference, ``report_id`` is the
        partner's event id."""
        note = f"mandat {self.mandate_reference}"
        if self.note:
            note += f" : {self.note}"
        return PartnerReport(
            status=self.status,
            on=self.occurred_on,
            amount=self.amount,
            result=self.result,
            note=note,
            by=f"partner:{partner_kind}:{self.mandate_reference}",
            report_id=self.event_id,
        )


class UnknownMandate(LookupError):
    """No hand-off of this partner kind carries this reference (404)."""


class ForeignMandate(PermissionError):
    """The mandate is another tenant's than the report is signed for (401: nothing changed)."""


class NoCaseWorkflow(LookupError):
    """The hand-off's case has no known workflow (409: nothing was recorded)."""


class CaseUnreachable(Exception):
    """Temporal could not be reached; the report is kept pending (503: send it again)."""


@dataclass(frozen=True)
class ReportReceipt:
    event_id: str
    case_id: str
    partner_reference: str
    status: str
    duplicate: bool
    outcome: str


async def receive_report(
    engine: AsyncEngine,
    temporal: Client,
    tenant: str,
    partner_kind: str,
    event: PartnerEventIn,
    *,
    rpc_timeout: timedelta = timedelta(seconds=5),
) -> ReportReceipt:
    """Record ``event``, authentic for ``tenant`` and ``partner_kind`` (once per event id),
    and tell the case's workflow."""
    reference = event.mandate_reference
    async with engine.connect() as conn:
        handoff = (
            await conn.execute(
                select(partner_handoffs).where(
                    partner_handoffs.c.partner_kind == partner_kind,
                    partner_handoffs.c.partner_reference == reference,
                )
            )
        ).first()
        if handoff is None:
            raise UnknownMandate(f"no {partner_kind} mandate {reference}")
        if handoff.tenant != tenant:
            raise ForeignMandate(
                f"{partner_kind} mandate {reference} does not belong to tenant {tenant!r}: "
                "sign with the secret of the mandate's tenant"
            )
        workflow_id = handoff.workflow_id
        if workflow_id is None:
            workflow_id = (
                await conn.execute(
                    select(cases.c.workflow_id).where(
                        cases.c.case_id == handoff.case_id, cases.c.tenant == handoff.tenant
                    )
                )
            ).scalar_one_or_none()
    if workflow_id is None:
        raise NoCaseWorkflow(f"case {handoff.case_id} of mandate {reference} has no workflow")
    key = handoff.idempotency_key
    async with engine.begin() as conn:
        inserted = (
            await conn.execute(
                insert(partner_events)
                .values(
                    partner_kind=partner_kind,
                    event_id=event.event_id,
                    partner_reference=reference,
                    idempotency_key=key,
                    status=event.status,
                    payload=event.model_dump(mode="json"),
                    outcome=PENDING,
                )
                .on_conflict_do_nothing(index_elements=["partner_kind", "event_id"])
                .returning(partner_events.c.event_id)
            )
        ).first()
        if inserted is not None:
            await _note_on_handoff(conn, key, partner_kind, event)
    receipt = ReportReceipt(
        event_id=event.event_id,
        case_id=handoff.case_id,
        partner_reference=reference,
        status=event.status,
        duplicate=inserted is None,
        outcome=PENDING,
    )
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(partner_events)
                .where(
                    partner_events.c.partner_kind == partner_kind,
                    partner_events.c.event_id == event.event_id,
                )
                .with_for_update()
            )
        ).one()
        if row.outcome != PENDING:
            return _with(receipt, outcome=row.outcome, status=row.status)
        outcome = await _signal(temporal, workflow_id, event.to_report(partner_kind), rpc_timeout)
        await conn.execute(
            update(partner_events)
            .where(
                partner_events.c.partner_kind == partner_kind,
                partner_events.c.event_id == event.event_id,
            )
            .values(outcome=outcome, handled_at=datetime.now(UTC))
        )
    log.info(
        "partner report %s %s on %s (%s): %s",
        partner_kind,
        event.event_id,
        reference,
        event.status,
        outcome,
    )
    return _with(receipt, outcome=outcome, status=row.status)


async def _note_on_handoff(conn: Any, key: str, partner_kind: str, event: PartnerEventIn) -> None:
    handoff = (
        await conn.execute(
            select(partner_handoffs.c.status_history)
            .where(partner_handoffs.c.idempotency_key == key)
            .with_for_update()
        )
    ).one()
    extra: dict[str, Any] = {"event_id": event.event_id, "on": event.occurred_on.isoformat()}
    if event.amount is not None:
        extra["amount"] = str(event.amount)
    if event.result is not None:
        extra["result"] = event.result
    if event.note:
        extra["note"] = event.note
    await conn.execute(
        update(partner_handoffs)
        .where(partner_handoffs.c.idempotency_key == key)
        .values(
            status=event.status,
            updated_at=datetime.now(UTC),
            status_history=[
                *handoff.status_history,
                history_entry(event.status, partner_kind, **extra),
            ],
        )
    )


async def _signal(
    temporal: Client, workflow_id: str, report: PartnerReport, rpc_timeout: timedelta
) -> str:
    handle = temporal.get_workflow_handle(workflow_id)
    try:
        await handle.signal(
            "record_event", CaseEventEnvelope(event=report), rpc_timeout=rpc_timeout
        )
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            log.info("workflow %s is not running (%s); report kept", workflow_id, err.message)
            return CASE_NOT_RUNNING
        raise CaseUnreachable(f"Temporal: {err.message}") from err
    except RuntimeError as err:  # a lazy client that cannot connect
        raise CaseUnreachable(f"Temporal: {err}") from err
    return SIGNALLED


def _with(receipt: ReportReceipt, **changes: Any) -> ReportReceipt:
    return ReportReceipt(**{**receipt.__dict__, **changes})


# --- the HTTP endpoint ---

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
            "name": PARTNER_TENANT_HEADER,
            "in": "header",
            "required": True,
            "schema": {"type": "string", "maxLength": 64, "example": "acme"},
            "description": "The mandate's tenant (the package's `tenant`); signed",
        },
        {
            "name": PARTNER_SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "schema": {"type": "string", "example": "t=1767225600,v1=5f2b..."},
            "description": (
                "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<tenant>.<partner_kind>.<raw "
                "body>' with the secret of that tenant and partner kind>"
            ),
        },
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
    if not settings.webhook_secrets.strip():
        raise ApiError(503, "unavailable", "partner reports are not configured on this server")
    tenant = (request.headers.get(PARTNER_TENANT_HEADER) or "").strip()
    body = await request.body()
    try:
        if not tenant:
            raise SignatureError(f"missing {PARTNER_TENANT_HEADER}")
        verify_partner_report(
            settings.webhook_secrets_for(tenant, partner_kind),
            tenant,
            partner_kind,
            body,
            request.headers.get(PARTNER_SIGNATURE_HEADER),
            tolerance_s=settings.webhook_tolerance_s,
        )
    except SignatureError as err:
        log.warning("partner report refused (%s, tenant %r): %s", partner_kind, tenant, err)
        raise ApiError(401, "unauthorized", f"bad signature: {err}") from None
    try:
        event = PartnerEventIn.model_validate_json(body)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in err.errors()]
        ) from None
    for field, signed in (("partner_kind", partner_kind), ("tenant", tenant)):
        given = getattr(event, field)
        if given is not None and given != signed:
            log.warning("partner report refused: %s %r, signed for %r", field, given, signed)
            raise ApiError(
                401, "unauthorized", f"the report's {field} {given!r} is not the signed {signed!r}"
            )
    try:
        receipt = await receive_report(
            inbound.engine,
            inbound.temporal,
            tenant,
            partner_kind,
            event,
            rpc_timeout=inbound.rpc_timeout,
        )
    except UnknownMandate as err:
        raise ApiError(404, "not_found", str(err)) from None
    except ForeignMandate as err:
        log.warning("partner report refused: %s", err)
        raise ApiError(401, "unauthorized", str(err)) from None
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
