"""The webhook event types a subscription can ask for, and what each one says."""

from __future__ import annotations

from enum import StrEnum


class WebhookEventType(StrEnum):
    case_opened = "case.opened"
    payment_recorded = "payment.recorded"
    promise_made = "promise.made"
    dispute_opened = "dispute.opened"
    dispute_resolved = "dispute.resolved"
    stage_changed = "stage.changed"
    case_closed = "case.closed"
    write_off_recorded = "write_off.recorded"


DESCRIPTIONS: dict[WebhookEventType, str] = {
    WebhookEventType.case_opened: "an invoice was registered: its case is open",
    WebhookEventType.payment_recorded: "a payment was recorded on the case, whoever "
    "collected it (the ERP, an operator, an agency, the debtor online): `collected_by`",
    WebhookEventType.promise_made: "the debtor promised to pay an amount by a date",
    WebhookEventType.dispute_opened: "the debtor disputes the invoice (in whole or part)",
    WebhookEventType.dispute_resolved: "a dispute was decided: upheld, partly_upheld or rejected",
    WebhookEventType.stage_changed: "the case moved to another stage of the timeline "
    "(formal notice, agency, injonction de payer, insolvency, closed ...)",
    WebhookEventType.case_closed: "the case closed, with its outcome (paid, cancelled, "
    "written_off, handed_over, prescribed, insolvency_claim_declared)",
    WebhookEventType.write_off_recorded: "the unpaid balance was written off",
}
