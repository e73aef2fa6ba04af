"""Which webhook events a case event makes, and their bodies. Pure.

| case event          | webhook event(s)                                        |
|---------------------|---------------------------------------------------------|
| InvoiceRegistered   | case.opened                                             |
| PaymentRecorded     | payment.recorded (``collected_by``: the event's actor)  |
| PromiseToPayMade    | promise.made                                            |
| DisputeOpened       | dispute.opened                                          |
| DisputeResolved     | dispute.resolved                                        |
| a stage change      | stage.changed, only when the stage differs (``stage_after``) |
| CaseClosed          | case.closed, and write_off.recorded for a write-off     |

Bodies hold ids, amounts, dates and codes: never a name, an address or a dispute's free
text (the ERP has those; a webhook log is no place for them). Each webhook event's id
is derived from the case event's id and the type, so following the log again makes the
same ids: nothing is created, or sent, twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from eventstore.events import (
    CaseClosed,
    CloseReason,
    DisputeOpened,
    DisputeResolved,
    DomainEvent,
    InvoiceRegistered,
    PaymentRecorded,
    PromiseToPayMade,
)
from eventstore.records import RecordedEvent
from outbound.erp_webhooks.event_types import WebhookEventType as T
from projections.calendar import local_date

_NAMESPACE = uuid.UUID("0b8f1d1e-6c55-4a47-9f0e-5d2c3f6a9e15")
"""uuid5 namespace of webhook event ids (fixed forever: ids must not change)."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: uuid.UUID
    event_type: T
    case_id: str
    tenant: str
    payload: dict[str, Any]
    """The body POSTed, as JSON: ``id``, ``type``, ``created_at``, ``tenant``, ``data``."""


def webhook_event_id(source_event_id: uuid.UUID, event_type: T) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{source_event_id}/{event_type.value}")


def _data(event: DomainEvent, actor: str) -> list[tuple[T, dict[str, Any]]]:
    if isinstance(event, InvoiceRegistered):
        return [
            (
                T.case_opened,
                {
                    "amount_due": str(event.amount_due),
                    "currency": event.currency,
                    "issue_date": event.issue_date.isoformat(),
                    "due_date": event.due_date.isoformat(),
                    "debtor_kind": event.debtor_kind.value,
                    "policy": f"{event.policy_id}@{event.policy_version}",
                },
            )
        ]
    if isinstance(event, PaymentRecorded):
        return [
            (
                T.payment_recorded,
                {
                    "amount": str(event.amount),
                    "paid_on": event.paid_on.isoformat(),
                    "reference": event.reference,
                    "balance_after": str(event.balance_after),
                    "collected_by": actor,
                },
            )
        ]
    if isinstance(event, PromiseToPayMade):
        return [
            (
                T.promise_made,
                {"amount": str(event.amount), "promised_by": event.promised_by.isoformat()},
            )
        ]
    if isinstance(event, DisputeOpened):
        disputed = None if event.disputed_amount is None else str(event.disputed_amount)
        return [
            (
                T.dispute_opened,
                {
                    "dispute_id": event.dispute_id,
                    "opened_on": event.opened_on.isoformat(),
                    "disputed_amount": disputed,
                },
            )
        ]
    if isinstance(event, DisputeResolved):
        return [
            (
                T.dispute_resolved,
                {
                    "dispute_id": event.dispute_id,
                    "resolved_on": event.resolved_on.isoformat(),
                    "outcome": event.outcome.value,
                    "credited_amount": str(event.credited_amount),
                },
            )
        ]
    if isinstance(event, CaseClosed):
        closed = {
            "outcome": event.reason.value,
            "balance": str(event.balance),
            "closed_on": event.closed_on.isoformat(),
        }
        made = [(T.case_closed, closed)]
        if event.reason is CloseReason.written_off:
            written_off = {"amount": str(event.balance), "written_off_on": closed["closed_on"]}
            made.append((T.write_off_recorded, written_off))
        return made
    return []


def webhook_events(
    record: RecordedEvent,
    *,
    invoice_number: str | None,
    stage_change: tuple[str, str] | None = None,
) -> list[WebhookEvent]:
    """The webhook events of one case event; ``stage_change`` (from, to) when the event
    moved the case to another stage (the caller knows the stage before it)."""
    made = _data(record.event, record.metadata.actor)
    if stage_change is not None and stage_change[0] != stage_change[1]:
        moved = {
            "from": stage_change[0],
            "to": stage_change[1],
            "on": local_date(record.recorded_at).isoformat(),
        }
        made.insert(0, (T.stage_changed, moved))  # the move first, then what it means
    tenant = record.metadata.tenant
    found = []
    for event_type, data in made:
        event_id = webhook_event_id(record.event_id, event_type)
        payload = {
            "id": str(event_id),
            "type": event_type.value,
            "created_at": record.recorded_at.isoformat(),
            "tenant": tenant,
            "data": {"case_id": record.stream_id, "invoice_number": invoice_number, **data},
        }
        found.append(WebhookEvent(event_id, event_type, record.stream_id, tenant, payload))
    return found
