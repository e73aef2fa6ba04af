"""The projector applies every event exactly once: across crashes, rivals and rebuilds."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.events import (
    CaseEscalated,
    CloseReason,
    DisputeOpened,
    DisputeOutcome,
    DisputeResolved,
    EscalationRoute,
    FormalNoticeSent,
    Instalment,
    PaymentPlanAgreed,
    PaymentRecorded,
    PrescriptionAlerted,
    PromiseToPayMade,
    ReminderChannel,
    ReminderSent,
)
from eventstore.events.operations import (
    CasePaused,
    CaseResumed,
    CreditNoteIssued,
    EInvoicingStatusReceived,
    PartnerReported,
)
from eventstore.records import EventMetadata, LogPosition, NewEvent
from eventstore.store import EventStore
from projections.calendar import local_date
from projections.projector import (
    current_checkpoint,
    includes,
    project_batch,
    rebuild,
    run_projector,
    wait_for_position,
)
from storage.tables import balance_movements, case_list, checkpoints
from tests.eventstore.writers import open_writer
from tests.projections.builders import Books, checkpoint, drain
from tests.support.schema import schema_differences


class SimulatedCrash(Exception):
    """The projector process dies here."""


async def test_a_crash_before_the_commit_keeps_nothing_and_the_retry_counts_once(
    engine: AsyncEngine, store: EventStore, books: Books
) -> None:
    case_id = await books.invoice("1000.00", date(2026, 1, 5), date(2026, 2, 4))
    await books.project()
    await books.pay(case_id, "300.00", date(2026, 2, 10), "700.00")
    await books.pay(case_id, "200.00", date(2026, 2, 20), "500.00")

    # First payment: its batch commits, then the process "dies" between batches.
    assert await project_batch(engine, store, 1) == 1
    after_first = await checkpoint(engine)
    seen_inside: list[Decimal] = []

    async def crash(conn: AsyncConnection) -> None:
        query = select(case_list.c.balance).where(case_list.c.case_id == case_id)
        seen_inside.append((await conn.execute(query)).scalar_one())
        raise SimulatedCrash

    with pytest.raises(SimulatedCrash):
        await project_batch(engine, store, 10, before_commit=crash)

    assert seen_inside == [Decimal("500.00")], "the crash came after the rows were written"
    assert await checkpoint(engine) == after_first, "the checkpoint did not move"
    assert (await books.rows())[case_id]["balance"] == Decimal("700.00"), "nor did the rows"
    await books.project()
    row = (await books.rows())[case_id]
    assert (row["balance"], row["open_balance"], row["paid"]) == (
        Decimal("500.00"),
        Decimal("500.00"),
        Decimal("500.00"),
    )
    assert await books.movements(case_id) == [
        ("invoice", date(2026, 1, 5), Decimal("1000.00")),
        ("payment", date(2026, 2, 10), Decimal("-300.00")),
        ("payment", date(2026, 2, 20), Decimal("-200.00")),
    ]


async def test_two_projectors_at_once_apply_each_event_once(
    engine: AsyncEngine, store: EventStore, books: Books
) -> None:
    ids = [await books.invoice("100.00", date(2026, 3, 1), date(2026, 3, 31)) for _ in range(4)]
    for case_id in ids:
        for n in range(5):
            await books.pay(case_id, "10.00", date(2026, 4, 1 + n), f"{90 - 10 * n}.00")

    await asyncio.gather(drain(engine, store, batch=3), drain(engine, store, batch=4))

    rows = await books.rows()
    assert {rows[case_id]["balance"] for case_id in ids} == {Decimal("50.00")}
    movements = await books.movements()
    assert len(movements) == 4 * 6
    assert sum(amount for _, _, amount in movements) == Decimal("200.00")


async def test_events_without_a_handler_or_an_invoice_are_skipped_and_the_checkpoint_moves(
    engine: AsyncEngine, store: EventStore, books: Books
) -> None:
    case_id = await books.invoice("100.00", date(2026, 3, 1), date(2026, 3, 31))
    await books.project()
    before = (await books.rows())[case_id]
    alert = PrescriptionAlerted(prescription_date=date(2031, 3, 31), days_left=90)
    last = await books.record(case_id, alert)
    orphan = await books.pay("never-registered", "5.00", date(2026, 4, 1), "0.00")

    await books.project()

    async with engine.connect() as conn:
        assert await includes(conn, last) and await includes(conn, orphan)
    assert (await books.rows())[case_id] == before
    assert "never-registered" not in await books.rows()


async def test_the_row_follows_the_case_from_invoice_to_write_off(books: Books) -> None:
    case_id = await books.invoice("2400.00", date(2026, 1, 2), date(2026, 2, 1), "Martin SAS")
    sent_at = datetime(2026, 2, 8, 23, 30, tzinfo=UTC)  # already the 9th in Paris
    reminder = ReminderSent(
        step="reminder_1", template="r1@1", channel=ReminderChannel.email, sent_at=sent_at
    )
    await books.record(case_id, reminder)
    await books.project()
    row = (await books.rows())[case_id]
    assert row["debtor_name"] == "Martin SAS" and row["debtor_siren"] == "732829320"
    assert (row["stage"], row["last_action"], row["last_action_on"]) == (
        "amicable",
        "ReminderSent",
        date(2026, 2, 9),
    )

    await books.record(
        case_id,
        PromiseToPayMade(amount=Decimal("2400.00"), promised_by=date(2026, 3, 1), grace_days=5),
    )
    await books.project()
    assert (await books.rows())[case_id]["next_action_on"] == date(2026, 3, 6)

    notice = FormalNoticeSent(
        letter_reference="LRAR-1",
        sent_on=date(2026, 3, 10),
        principal=Decimal("2400.00"),
        late_penalties=Decimal("0"),
        recovery_indemnity=Decimal("40.00"),
        deadline_days=8,
    )
    plan = PaymentPlanAgreed(
        plan_id="p1",
        agreed_on=date(2026, 3, 12),
        instalments=(
            Instalment(due_on=date(2026, 4, 1), amount=Decimal("1200.00")),
            Instalment(due_on=date(2026, 5, 1), amount=Decimal("1200.00")),
        ),
    )
    await books.record(case_id, notice, plan)
    await books.pay(case_id, "400.00", date(2026, 4, 1), "2000.00")
    await books.project()
    row = (await books.rows())[case_id]
    assert (row["stage"], row["next_action_on"], row["balance"]) == (
        "formal_notice",
        date(2026, 4, 1),
        Decimal("2000.00"),
    )

    escalated = CaseEscalated(
        route=EscalationRoute.injonction_de_payer,
        total_claimed=Decimal("2040.00"),
        escalated_on=date(2026, 5, 4),
    )
    await books.record(case_id, escalated)
    await books.close(case_id, CloseReason.written_off, date(2026, 9, 30), "2000.00")
    await books.project()
    row = (await books.rows())[case_id]
    assert row["stage"] == "closed" and row["outcome"] == "written_off"
    assert (row["closed_on"], row["next_action_on"]) == (date(2026, 9, 30), None)
    assert (row["balance"], row["open_balance"]) == (Decimal("2000.00"), Decimal("0.00"))
    assert await books.movements(case_id) == [
        ("invoice", date(2026, 1, 2), Decimal("2400.00")),
        ("payment", date(2026, 4, 1), Decimal("-400.00")),
        ("closed_written_off", date(2026, 9, 30), Decimal("-2000.00")),
    ]


async def test_operations_are_actions_and_a_partner_done_leaves_the_case_awaiting(
    books: Books,
) -> None:
    case_id = await books.invoice("500.00", date(2026, 1, 2), date(2026, 2, 1))
    promise = PromiseToPayMade(amount=Decimal("500.00"), promised_by=date(2026, 3, 1))
    await books.record(case_id, promise, CasePaused(reason="debtor in hospital"))
    await books.project()
    row = (await books.rows())[case_id]
    assert (row["last_action"], row["next_action_on"]) == ("CasePaused", None)

    status = EInvoicingStatusReceived(code=207, meaning="litige", reported_on=date(2026, 3, 9))
    await books.record(case_id, CaseResumed(reason="back"), status)
    await books.project()
    row = (await books.rows())[case_id]
    assert (row["last_action"], row["last_action_on"]) == (
        "EInvoicingStatusReceived",
        date(2026, 3, 9),
    )

    escalated = CaseEscalated(
        route=EscalationRoute.collection_agency,
        total_claimed=Decimal("540.00"),
        escalated_on=date(2026, 4, 1),
    )
    done = PartnerReported(status="closed", reported_on=date(2026, 6, 1))
    await books.record(case_id, escalated)
    await books.project()
    assert (await books.rows())[case_id]["stage"] == "agency"
    await books.record(case_id, done)
    await books.project()
    row = (await books.rows())[case_id]
    assert (row["stage"], row["open_balance"]) == ("awaiting_next_phase", Decimal("500.00"))


async def test_a_dispute_upheld_in_part_is_credited_once_then_the_rest_cancelled(
    books: Books, store: EventStore
) -> None:
    case_id = await books.invoice("900.00", date(2026, 1, 2), date(2026, 2, 1))
    # As the workflow records it: the decision, then the credit note that books it.
    await books.record(
        case_id,
        DisputeOpened(dispute_id="d1", opened_on=date(2026, 2, 3), reason="goods damaged"),
        DisputeResolved(
            dispute_id="d1",
            resolved_on=date(2026, 2, 20),
            outcome=DisputeOutcome.partly_upheld,
            credited_amount=Decimal("300.00"),
        ),
        CreditNoteIssued(
            amount=Decimal("300.00"), reference="dispute upheld", balance_after=Decimal("600.00")
        ),
    )
    await books.close(case_id, CloseReason.cancelled, date(2026, 3, 1), "600.00")
    await books.project()

    row = (await books.rows())[case_id]
    assert (row["credited"], row["balance"], row["open_balance"], row["outcome"]) == (
        Decimal("300.00"),
        Decimal("600.00"),
        Decimal("0.00"),
        "cancelled",
    )
    credit_note = (await store.read_stream(case_id))[3]
    assert await books.movements(case_id) == [
        ("invoice", date(2026, 1, 2), Decimal("900.00")),
        ("credit", local_date(credit_note.recorded_at), Decimal("-300.00")),
        ("closed_cancelled", date(2026, 3, 1), Decimal("-600.00")),
    ]


@pytest.mark.parametrize(
    ("reason", "still_owed"),
    [
        (CloseReason.written_off, "0.00"),
        (CloseReason.prescribed, "0.00"),
        (CloseReason.handed_over, "250.00"),
        (CloseReason.insolvency_claim_declared, "250.00"),
    ],
)
async def test_a_closed_claim_leaves_the_receivables_unless_it_is_still_owed(
    books: Books, reason: CloseReason, still_owed: str
) -> None:
    case_id = await books.invoice("250.00", date(2026, 1, 2), date(2026, 2, 1))
    await books.close(case_id, reason, date(2026, 5, 1), "250.00")
    await books.project()

    row = (await books.rows())[case_id]
    assert (row["stage"], row["outcome"], row["balance"]) == (
        "closed",
        reason.value,
        Decimal("250.00"),
    )
    assert row["open_balance"] == Decimal(still_owed)
    assert sum(amount for _, _, amount in await books.movements(case_id)) == Decimal(still_owed)


async def test_a_debtor_missing_from_cases_at_first_is_filled_in_later(
    books: Books, engine: AsyncEngine
) -> None:
    case_id = await books.invoice("50.00", date(2026, 1, 2), date(2026, 2, 1), with_case_row=False)
    await books.project()
    assert (await books.rows())[case_id]["debtor_name"] is None
    number = (await books.rows())[case_id]["invoice_number"]
    await books.case_row(
        case_id, number, "50.00", date(2026, 1, 2), date(2026, 2, 1), "Late & Co", None
    )

    await books.invoice("10.00", date(2026, 1, 3), date(2026, 2, 2))  # any later batch
    await books.project()

    row = (await books.rows())[case_id]
    assert (row["debtor_name"], row["debtor_siren"]) == ("Late & Co", None)


async def test_a_rebuild_from_zero_yields_the_same_tables(
    engine: AsyncEngine, store: EventStore, books: Books
) -> None:
    first = await books.invoice("700.00", date(2026, 1, 2), date(2026, 2, 1), "Alpha")
    second = await books.invoice("300.00", date(2026, 1, 9), date(2026, 2, 8), "Beta", None)
    await books.pay(first, "100.00", date(2026, 2, 5), "600.00")
    await books.close(second, CloseReason.written_off, date(2026, 6, 1), "300.00")
    await books.project()
    before = await books.tables()
    assert len(before["case_list"]) == 2

    replayed = await rebuild(engine, store, batch_size=97)

    assert replayed >= 4
    after = await books.tables()
    for name in before:
        assert after[name] == before[name], f"{name} differs after the rebuild"


async def test_reading_your_writes_waits_for_the_running_projector(
    engine: AsyncEngine, store: EventStore, books: Books
) -> None:
    await books.project()
    stop = asyncio.Event()
    projector = asyncio.create_task(run_projector(engine, store, stop, poll_interval=0.05))
    try:
        case_id = await books.invoice("80.00", date(2026, 1, 2), date(2026, 2, 1))
        position = await books.pay(case_id, "30.00", date(2026, 2, 3), "50.00")

        assert await wait_for_position(engine, position, timeout=10)
        assert (await books.rows())[case_id]["balance"] == Decimal("50.00")
        assert not await wait_for_position(engine, position + 10_000, timeout=0.2)
    finally:
        stop.set()
        await asyncio.wait_for(projector, timeout=5)
    assert projector.exception() is None


async def test_a_projector_does_not_pass_an_append_still_open_and_applies_it_once_committed(
    engine: AsyncEngine, store: EventStore, books: Books
) -> None:
    await books.project()
    slow = await books.invoice("100.00", date(2026, 3, 1), date(2026, 3, 31))
    fast = await books.invoice("200.00", date(2026, 3, 1), date(2026, 3, 31))
    await books.project()
    async with open_writer(engine) as writer:
        meta = EventMetadata(tenant=books.tenant, actor="system")
        payment = PaymentRecorded(
            amount=Decimal("40.00"),
            paid_on=date(2026, 4, 2),
            reference="VIR-slow",
            balance_after=Decimal("60.00"),
        )
        held = await writer.append(slow, [NewEvent.of(payment, event_id=uuid4(), metadata=meta)], 1)
        assert held is not None
        done = await books.pay(fast, "50.00", date(2026, 4, 3), "150.00")
        assert done > held[0].position, "the later commit has the larger position"

        await books.project()
        async with engine.connect() as conn:
            assert not await includes(conn, done), "the projector passed an open append"
            assert (await current_checkpoint(conn)).tx_id < held[0].tx_id
        await writer.commit()

    await books.project()
    rows = await books.rows()
    assert (rows[slow]["balance"], rows[fast]["balance"]) == (Decimal("60.00"), Decimal("150.00"))
    assert [kind for kind, _, _ in await books.movements(slow)] == ["invoice", "payment"]
    async with engine.connect() as conn:
        assert await includes(conn, held[0].position) and await includes(conn, done)
        assert await current_checkpoint(conn) >= LogPosition(held[0].tx_id, held[0].position)


async def test_the_table_objects_match_the_migrations(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert (
            await conn.run_sync(schema_differences, case_list, balance_movements, checkpoints) == []
        )
