"""The projector's trusted read (``read_all(trusted=True)``) gives the very events and
records that full validation gives; only the amount checks are left out."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore import rows
from eventstore.events import (
    EVENT_CLASSES,
    AuditedRead,
    AuditorRead,
    CallOutcome,
    CaseClosed,
    CaseEscalated,
    CaseHandedOver,
    ClaimDeclared,
    CloseReason,
    DisputeOpened,
    DisputeOutcome,
    DisputeResolved,
    DomainEvent,
    EscalationRoute,
    FormalNoticeSent,
    HandoverParty,
    InsolvencyDetected,
    Instalment,
    InstalmentMissed,
    LetterAnomalyKind,
    LetterStatus,
    PaymentPlanAgreed,
    PaymentRecorded,
    PhoneCallLogged,
    PrescriptionAlerted,
    ProceedingKind,
    PromiseBroken,
    PromiseToPayMade,
    RegisteredLetterPresented,
    RegisteredLetterUndelivered,
    ReminderChannel,
    ReminderSent,
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
from eventstore.records import LogPosition, RecordedEvent
from eventstore.registry import EventRegistry
from eventstore.store import EventStore
from tests.eventstore.factories import envelope, invoice_registered, new_stream
from tests.eventstore.test_schema_evolution import SENT_AT, ReminderSentV1

AT = datetime(2026, 11, 7, 8, 30, 15, 123456, tzinfo=UTC)
ON = date(2026, 11, 9)

SAMPLES: list[DomainEvent] = [
    invoice_registered("1234.50"),
    ReminderSent(step="r1", template="r1@1", channel=ReminderChannel.letter, sent_at=AT),
    PhoneCallLogged(called_at=AT, operator="op", outcome=CallOutcome.no_answer, note="absent"),
    FormalNoticeSent(
        letter_reference="LRAR-1",
        sent_on=ON,
        principal=Decimal("1234.5"),
        late_penalties=Decimal("12.30"),
        recovery_indemnity=Decimal("40"),
        deadline_days=8,
    ),
    RegisteredLetterPresented(letter_reference="LRAR-1", status=LetterStatus.refused, status_on=ON),
    RegisteredLetterUndelivered(
        letter_reference="LRAR-2",
        anomaly=LetterAnomalyKind.recipient_rejected,
        final=True,
        reason="adresse invalide",
        provider_status="PROCESSED_WITH_ERRORS",
    ),
    PromiseToPayMade(amount=Decimal("0.01"), promised_by=ON, grace_days=3),
    PromiseBroken(promised_by=ON, amount_promised=Decimal("100"), amount_received=Decimal("0")),
    PaymentPlanAgreed(
        plan_id="p1",
        agreed_on=ON,
        instalments=(
            Instalment(due_on=date(2026, 12, 1), amount=Decimal("600.25")),
            Instalment(due_on=date(2027, 1, 1), amount=Decimal("634.25")),
        ),
    ),
    InstalmentMissed(plan_id="p1", instalment_number=2, due_on=ON, amount=Decimal("634.25")),
    PaymentRecorded(
        amount=Decimal("999999999.99"), paid_on=ON, reference="VIR", balance_after=Decimal("-5")
    ),
    DisputeOpened(dispute_id="d1", opened_on=ON, reason="damaged", disputed_amount=Decimal("7.5")),
    DisputeOpened(dispute_id="d2", opened_on=ON, reason="all of it"),
    DisputeResolved(
        dispute_id="d1",
        resolved_on=ON,
        outcome=DisputeOutcome.partly_upheld,
        credited_amount=Decimal("7.50"),
    ),
    CaseEscalated(
        route=EscalationRoute.enforcement, total_claimed=Decimal("1280.00"), escalated_on=ON
    ),
    CaseHandedOver(party=HandoverParty.lawyer, party_name="Maître X", handed_over_on=ON),
    InsolvencyDetected(
        proceeding=ProceedingKind.sauvegarde,
        published_on=ON,
        court="TC Marseille",
        claim_deadline=date(2027, 1, 9),
    ),
    ClaimDeclared(declared_on=ON, amount=Decimal("1234.50"), mandataire="M", reference="R"),
    PrescriptionAlerted(prescription_date=date(2031, 1, 1), days_left=0),
    CaseClosed(reason=CloseReason.written_off, balance=Decimal("12.3"), closed_on=ON),
    CreditNoteIssued(amount=Decimal("1"), reference="AV-1", balance_after=Decimal("0")),
    CreditNoteIssued(
        amount=Decimal("2"), reference="AV-2", balance_after=Decimal("0"), issued_on=ON
    ),
    CasePaused(reason="hospital"),
    CaseResumed(reason="back"),
    EInvoicingStatusReceived(code=207, meaning="litige", reported_on=ON),
    PartnerReported(status="closed", reported_on=ON, amount=Decimal("10"), result="uncollectable"),
    PhoneTaskCreated(step="call", task_reference="T-1", created_at=AT),
    PolicyMigrated(from_policy="a", from_version=1, to_policy="b", to_version=2, reason="v2"),
    EmailBounced(step="r1", recipient="a@b.example", reason="unknown user", bounced_at=AT),
    StepFailed(step="r1", channel="email", error="smtp down", failed_at=AT),
    StepRetried(step="r1"),
    ApprovalRequested(step="notice", label="Mise en demeure", requested_at=AT),
    StepApproved(step="notice", approved_at=AT),
    StepRejected(step="notice", reason="not yet", rejected_at=AT),
    AuditorRead(
        what=next(iter(AuditedRead)), case_ids=("a", "b"), role="auditor", tenant="acme", at=AT
    ),
]


def test_the_samples_hold_every_event_class() -> None:
    sampled = {type(e) for e in SAMPLES}
    missing = [cls.event_type for cls in EVENT_CLASSES if cls not in sampled]
    assert not missing, f"add a sample of {missing} to SAMPLES"


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.event_type)
def test_every_class_has_a_trusted_decoder(cls: type[DomainEvent]) -> None:
    assert callable(rows.trusted_decoder(cls))


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).event_type)
def test_the_canonical_dump_reads_back_as_full_validation_reads_it(event: DomainEvent) -> None:
    cls = type(event)
    stored = json.dumps(event.model_dump(mode="json"))  # what an append stores

    full = cls.model_validate_json(stored)
    trusted = rows.trusted_decoder(cls)(stored)

    assert type(trusted) is cls
    assert trusted == full
    assert repr(trusted) == repr(full), "same values, Decimal exponents included"
    assert trusted.model_fields_set == full.model_fields_set
    assert trusted.model_extra == full.model_extra
    assert trusted.__getstate__() == full.__getstate__(), "every slot of the instance"
    assert trusted.model_dump_json() == full.model_dump_json()
    assert hash(trusted) == hash(full)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(trusted, next(iter(cls.model_fields)), None)


def test_the_trusted_decoder_still_parses_and_type_checks() -> None:
    read = rows.trusted_decoder(PaymentRecorded)
    fields = {"amount": "1.00", "paid_on": "2026-11-09", "reference": "V", "balance_after": "0.00"}
    assert read(json.dumps(fields)) == PaymentRecorded.model_validate(fields)
    wrongs: list[dict[str, object]] = [
        {"paid_on": "2026-13-01"},
        {"reference": ""},
        {"extra": 1},
        {"amount": []},
    ]
    for wrong in wrongs:
        with pytest.raises(ValidationError):
            read(json.dumps(fields | wrong))


def test_only_the_amount_checks_are_left_out() -> None:
    # Never stored (an append validates and quantizes every amount): it shows what is
    # skipped, and that the fast path is taken.
    unchecked = (
        '{"amount": "0.001", "paid_on": "2026-11-09", "reference": "V", "balance_after": "0"}'
    )
    read = rows.trusted_decoder(PaymentRecorded)(unchecked)
    assert isinstance(read, PaymentRecorded) and read.amount == Decimal("0.001")
    with pytest.raises(ValidationError, match=r"greater than 0|at most 2 decimals"):
        PaymentRecorded.model_validate_json(unchecked)


async def test_the_log_reads_the_same_records_trusted_or_not(
    engine: AsyncEngine, store: EventStore
) -> None:
    stream = new_stream()
    recorded = await store.append(stream, [envelope(e) for e in SAMPLES], expected_version=0)
    old_stream = new_stream()  # a v1 row: upcast, then fully validated either way
    old_code = EventStore(engine, EventRegistry([ReminderSentV1]))
    v1 = ReminderSentV1(step="reminder_1", template="reminder_1@1", sent_at=SENT_AT)
    await old_code.append(old_stream, [envelope(v1)], expected_version=0)
    start = LogPosition(recorded[0].tx_id, recorded[0].position - 1)

    def ours(records: list[RecordedEvent]) -> list[RecordedEvent]:
        return [r for r in records if r.stream_id in (stream, old_stream)]

    async def visible(*, trusted: bool) -> list[RecordedEvent]:
        """Ours once both appends are readable: the log shows a transaction only when every
        older one still running (another test's, the session's timelines) has ended."""
        for _ in range(200):
            found = ours(await store.read_all(start, limit=10_000, trusted=trusted))
            if len(found) > len(SAMPLES):
                return found
            await asyncio.sleep(0.05)
        return found

    full = await visible(trusted=False)
    trusted = await visible(trusted=True)

    assert len(full) == len(SAMPLES) + 1
    assert trusted == full
    assert [repr(r) for r in trusted] == [repr(r) for r in full]
    for mine, theirs in zip(trusted, full, strict=True):
        assert type(mine) is RecordedEvent and type(mine.event) is type(theirs.event)
        assert mine.event.model_fields_set == theirs.event.model_fields_set
    # ... and the records read_stream builds with RecordedEvent's own constructor
    assert trusted == [*await store.read_stream(stream), *await store.read_stream(old_stream)]
    assert trusted[-1].stored_schema_version == 1 and trusted[-1].event.schema_version == 2
