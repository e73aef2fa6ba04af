"""A partner's report on a mandate: record it once, update the hand-off, tell the case.

The HTTP side (signature, status codes) is services/api/routers/partner_webhook.py; this module
is what happens once a report is authentic:

1. the hand-off is found by (partner kind, partner reference);
2. the report is recorded in ``partner_events`` under the partner's event id, and, the first
   time only, appended to the hand-off's ``status_history`` (one transaction);
3. under the event row's lock, the case's workflow receives it as the ``record_event`` signal
   with a ``PartnerReport``, and the event is marked ``signalled``. A replay of a handled event
   changes nothing; a replay of an event whose signal failed (Temporal down) signals again.
   Delivery to the workflow is at least once: only a crash between the signal and the commit
   can repeat it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.partners.delivery import history_entry
from activities.partners.tables import partner_events, partner_handoffs
from schemas.case_events import CaseEventEnvelope, PartnerReport
from schemas.money import Amount
from services.db.tables import cases

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


class PartnerEventIn(BaseModel):
    """A report as a partner posts it (unknown fields are ignored)."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "event_id": "evt_5c1e0f2a9b7d4e60",
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

    event_id: str = Field(min_length=1, max_length=200)
    mandate_reference: str = Field(min_length=1, max_length=64, pattern=REFERENCE_PATTERN)
    status: ReportStatus
    occurred_on: date
    amount: Amount | None = None
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
        """The case event: ``by`` names the partner and its reference."""
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
        )


class UnknownMandate(LookupError):
    """No hand-off of this partner kind carries this reference (404)."""


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
    partner_kind: str,
    event: PartnerEventIn,
    *,
    rpc_timeout: timedelta = timedelta(seconds=5),
) -> ReportReceipt:
    """Record ``event`` (once per event id) and tell the case's workflow."""
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
