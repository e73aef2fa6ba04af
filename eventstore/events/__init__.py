"""recouvre's domain events, one class per fact, and their upcasters.

Importing this package does not import SQLAlchemy: workflows may build events.
"""

from __future__ import annotations

from eventstore.events.arrangements import (
    Instalment,
    InstalmentMissed,
    PaymentPlanAgreed,
    PromiseBroken,
    PromiseToPayMade,
)
from eventstore.events.audit import AuditedRead, AuditorRead
from eventstore.events.base import DomainEvent
from eventstore.events.case import (
    CaseClosed,
    CaseEscalated,
    CaseHandedOver,
    CloseReason,
    EscalationRoute,
    HandoverParty,
    InvoiceRegistered,
    PaymentRecorded,
)
from eventstore.events.contact import (
    CallOutcome,
    FormalNoticeSent,
    LetterAnomalyKind,
    LetterStatus,
    PhoneCallLogged,
    RegisteredLetterPresented,
    RegisteredLetterUndelivered,
    ReminderChannel,
    ReminderSent,
)
from eventstore.events.legal import (
    ClaimDeclared,
    DisputeOpened,
    DisputeOutcome,
    DisputeResolved,
    InsolvencyDetected,
    PrescriptionAlerted,
    ProceedingKind,
)
from eventstore.events.operations import (
    ApprovalRequested,
    CasePaused,
    CaseResumed,
    CreditNoteIssued,
    EInvoicingStatusReceived,
    EmailBounced,
    PartnerReported,
    PhoneTaskCreated,
    PolicyMigrated,
    StepApproved,
    StepFailed,
    StepRejected,
    StepRetried,
)

EVENT_CLASSES: tuple[type[DomainEvent], ...] = (
    InvoiceRegistered,
    ReminderSent,
    PhoneCallLogged,
    FormalNoticeSent,
    RegisteredLetterPresented,
    RegisteredLetterUndelivered,
    PromiseToPayMade,
    PromiseBroken,
    PaymentPlanAgreed,
    InstalmentMissed,
    PaymentRecorded,
    DisputeOpened,
    DisputeResolved,
    CaseEscalated,
    CaseHandedOver,
    InsolvencyDetected,
    ClaimDeclared,
    PrescriptionAlerted,
    CaseClosed,
    CreditNoteIssued,
    CasePaused,
    CaseResumed,
    EInvoicingStatusReceived,
    PartnerReported,
    PhoneTaskCreated,
    PolicyMigrated,
    EmailBounced,
    StepFailed,
    StepRetried,
    ApprovalRequested,
    StepApproved,
    StepRejected,
    AuditorRead,
)
"""Every fact recouvre records; the default registry is built from this tuple."""

__all__ = [
    "EVENT_CLASSES",
    "AuditedRead",
    "AuditorRead",
    "CallOutcome",
    "CaseClosed",
    "CaseEscalated",
    "CaseHandedOver",
    "ClaimDeclared",
    "CloseReason",
    "DisputeOpened",
    "DisputeOutcome",
    "DisputeResolved",
    "DomainEvent",
    "EscalationRoute",
    "FormalNoticeSent",
    "HandoverParty",
    "InsolvencyDetected",
    "Instalment",
    "InstalmentMissed",
    "InvoiceRegistered",
    "LetterAnomalyKind",
    "LetterStatus",
    "PaymentPlanAgreed",
    "PaymentRecorded",
    "PhoneCallLogged",
    "PrescriptionAlerted",
    "ProceedingKind",
    "PromiseBroken",
    "PromiseToPayMade",
    "RegisteredLetterPresented",
    "RegisteredLetterUndelivered",
    "ReminderChannel",
    "ReminderSent",
]
