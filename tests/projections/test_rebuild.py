"""A rebuild writes exactly the rows that following the log wrote, whatever the facts, and
its COPY in text writes what COPY in binary would."""

from __future__ import annotations

from dataclasses import astuple, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import (
    AuditedRead,
    AuditorRead,
    CaseEscalated,
    CaseHandedOver,
    ClaimDeclared,
    CloseReason,
    DisputeOpened,
    DisputeOutcome,
    DisputeResolved,
    EscalationRoute,
    FormalNoticeSent,
    HandoverParty,
    InsolvencyDetected,
    Instalment,
    InstalmentMissed,
    PaymentPlanAgreed,
    PhoneCallLogged,
    PrescriptionAlerted,
    ProceedingKind,
    PromiseBroken,
    PromiseToPayMade,
    RegisteredLetterPresented,
    ReminderChannel,
    ReminderSent,
)
from eventstore.events.contact import CallOutcome, LetterStatus
from eventstore.events.operations import (
    CasePaused,
    CaseResumed,
    CreditNoteIssued,
    EInvoicingStatusReceived,
    EmailBounced,
    PartnerReported,
    PhoneTaskCreated,
    StepFailed,
)
from eventstore.store import EventStore
from projections import projector
from projections.case_rows import CaseRow, Movement
from projections.projector import rebuild
from storage.tables import balance_movements, case_list
from tests.projections.builders import Books, drain

AWKWARD = 'Tab\there, back\\slash, new\nline, "quotes" & Débiteur \\N'
"""A debtor name COPY's text format would misread: its batch is written in binary."""


async def _every_kind_of_case(books: Books) -> None:
    at = datetime(2026, 2, 8, 23, 30, tzinfo=UTC)  # the 9th in Paris

    full = await books.invoice("2400.00", date(2026, 1, 2), date(2026, 2, 1), "Martin SAS")
    await books.record(
        full,
        ReminderSent(step="r1", template="r1@1", channel=ReminderChannel.email, sent_at=at),
        PhoneCallLogged(called_at=at, operator="op", outcome=CallOutcome.promise_to_pay),
        PromiseToPayMade(amount=Decimal("2400.00"), promised_by=date(2026, 3, 1), grace_days=5),
        PromiseBroken(
            promised_by=date(2026, 3, 1),
            amount_promised=Decimal("2400.00"),
            amount_received=Decimal("0.00"),
        ),
        FormalNoticeSent(
            letter_reference="LRAR-1",
            sent_on=date(2026, 3, 10),
            principal=Decimal("2400.00"),
            late_penalties=Decimal("12.50"),
            recovery_indemnity=Decimal("40.00"),
            deadline_days=8,
        ),
        RegisteredLetterPresented(
            letter_reference="LRAR-1", status=LetterStatus.delivered, status_on=date(2026, 3, 12)
        ),
        PaymentPlanAgreed(
            plan_id="p1",
            agreed_on=date(2026, 3, 14),
            instalments=(
                Instalment(due_on=date(2026, 5, 1), amount=Decimal("1200.00")),
                Instalment(due_on=date(2026, 4, 1), amount=Decimal("1200.00")),
            ),
        ),
    )
    await books.pay(full, "400.00", date(2026, 4, 1), "2000.00")
    await books.record(
        full,
        InstalmentMissed(
            plan_id="p1", instalment_number=2, due_on=date(2026, 5, 1), amount=Decimal("1200.00")
        ),
        CaseEscalated(
            route=EscalationRoute.small_claims,
            total_claimed=Decimal("2052.50"),
            escalated_on=date(2026, 5, 4),
        ),
    )
    await books.pay(full, "2500.00", date(2026, 6, 1), "0.00")  # more than is open
    await books.pay(full, "1.00", date(2026, 6, 2), "0.00")  # nothing left to reduce
    await books.close(full, CloseReason.paid, date(2026, 6, 3), "0.00")

    disputed = await books.invoice("900.00", date(2026, 1, 3), date(2026, 2, 2), "Dupont", None)
    await books.record(
        disputed,
        DisputeOpened(dispute_id="d1", opened_on=date(2026, 2, 3), reason="goods damaged"),
        DisputeResolved(
            dispute_id="d1",
            resolved_on=date(2026, 2, 20),
            outcome=DisputeOutcome.partly_upheld,
            credited_amount=Decimal("300.00"),
        ),
        CreditNoteIssued(
            amount=Decimal("300.00"), reference="AV-1", balance_after=Decimal("600.00")
        ),
        CreditNoteIssued(
            amount=Decimal("100.00"),
            reference="AV-2",
            balance_after=Decimal("500.00"),
            issued_on=date(2026, 2, 25),
        ),
    )
    await books.close(disputed, CloseReason.cancelled, date(2026, 3, 1), "500.00")

    insolvent = await books.invoice("700.00", date(2026, 1, 4), date(2026, 2, 3), AWKWARD)
    await books.record(
        insolvent,
        InsolvencyDetected(
            proceeding=ProceedingKind.redressement_judiciaire,
            published_on=date(2026, 3, 1),
            court="TC Lyon",
            claim_deadline=date(2026, 5, 1),
        ),
        ClaimDeclared(declared_on=date(2026, 3, 20), amount=Decimal("700.00"), mandataire="M"),
    )
    await books.close(insolvent, CloseReason.insolvency_claim_declared, date(2026, 3, 21), "700.00")

    agency = await books.invoice("300.00", date(2026, 1, 5), date(2026, 2, 4), with_case_row=False)
    await books.record(
        agency,
        CasePaused(reason="hospital"),
        CaseResumed(reason="back"),
        PhoneTaskCreated(step="call", task_reference="T-1", created_at=at),
        EInvoicingStatusReceived(code=207, meaning="litige", reported_on=date(2026, 2, 10)),
        CaseEscalated(
            route=EscalationRoute.collection_agency,
            total_claimed=Decimal("340.00"),
            escalated_on=date(2026, 3, 1),
        ),
        PartnerReported(status="closed", reported_on=date(2026, 6, 1), result="uncollectable"),
        CaseHandedOver(
            party=HandoverParty.creditor, party_name="Acme", handed_over_on=date(2026, 6, 2)
        ),
        PrescriptionAlerted(prescription_date=date(2031, 1, 5), days_left=90),
        EmailBounced(step="r1", recipient="a@b.example", reason="unknown", bounced_at=at),
        StepFailed(step="r1", channel="email", error="smtp down", failed_at=at),
    )
    await books.close(agency, CloseReason.handed_over, date(2026, 6, 3), "300.00")

    open_case = await books.invoice("50.00", date(2026, 1, 6), date(2026, 2, 5))
    await books.pay(open_case, "20.00", date(2026, 2, 6), "30.00")
    await books.record(
        f"audit:{books.tenant}",
        AuditorRead(what=next(iter(AuditedRead)), role="auditor", tenant=books.tenant, at=at),
    )
    await books.pay("never-registered", "5.00", date(2026, 4, 1), "0.00")


async def test_a_rebuild_writes_the_rows_the_projector_wrote_event_by_event(
    engine: AsyncEngine, store: EventStore, books: Books
) -> None:
    await _every_kind_of_case(books)
    await drain(engine, store, batch=3)  # small batches: rows are updated as often as can be
    followed = await books.tables()
    mine = await books.rows()
    assert len(mine) == 5
    assert AWKWARD in {row["debtor_name"] for row in mine.values()}

    replayed = await rebuild(engine, store, batch_size=4)  # and cases span batches

    assert replayed >= 40
    rebuilt = await books.tables()
    for name in followed:
        assert rebuilt[name] == followed[name], f"{name} differs after the rebuild"


class _Driver:
    """asyncpg's connection, recording which COPY each call used."""

    def __init__(self, driver: Any) -> None:
        self.driver, self.used = driver, list[str]()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("copy_"):
            self.used.append(name)
        return getattr(self.driver, name)


def _case(n: int, **changes: Any) -> CaseRow:
    values: dict[str, Any] = {
        "case_id": f"copy-test-{n}",
        "tenant": "copy-test",
        "invoice_number": f"F-{n}",
        "currency": "EUR",
        "issue_date": date(2026, 1, 2),
        "due_date": date(2026, 2, 1),
        "amount_due": Decimal("1200.50"),
        "balance": Decimal("-0.01"),
        "open_balance": Decimal("0.00"),
        "paid": Decimal("1200.51"),
        "credited": Decimal("999999999.99"),
        "stage": "closed",
        "registered_position": 10 * n,
        "updated_position": 10 * n + 1,
    }
    return CaseRow(**(values | changes))


async def test_copy_writes_in_text_what_it_would_write_in_binary(engine: AsyncEngine) -> None:
    plain = [
        _case(1),
        _case(2, outcome="paid", closed_on=date(2026, 6, 3), last_action="CaseClosed"),
        _case(3, last_action_on=date(2026, 6, 3), next_action_on=date(2026, 7, 1)),
        _case(4, debtor_name="Débiteur “SARL” l'été, 100 %", debtor_siren="732829320"),
        _case(5, debtor_name=""),
    ]
    awkward = [_case(6, debtor_name=AWKWARD), _case(7, debtor_name="\\N"), _case(8, stage="a\rb")]
    entries = [
        Movement(1, "copy-test", "copy-test-1", date(2026, 1, 2), "invoice", Decimal("10.00")),
        Movement(2, "copy-test", "copy-test-1", date(2026, 1, 3), "payment", Decimal("-0.01")),
    ]
    odd_entries = [Movement(3, "copy\ttest", "x", date(2026, 1, 4), "credit", Decimal("-1.00"))]
    async with engine.connect() as conn:
        driver = _Driver((await conn.get_raw_connection()).driver_connection)
        for table in (case_list, balance_movements):
            await conn.exec_driver_sql(
                f"CREATE TEMP TABLE t_{table.name} (LIKE {table.name} INCLUDING ALL)"
            )
        days = projector._Days()
        for rows in (plain[:1], plain[1:], awkward):
            await projector._copy(driver, "t_case_list", projector._CASE_COPY, rows, days)
        for moves in (entries, odd_entries):
            await projector._copy(
                driver, "t_balance_movements", projector._MOVEMENT_COPY, moves, days
            )
        names = ", ".join(f.name for f in fields(CaseRow))
        cases = await conn.exec_driver_sql(
            f"SELECT {names} FROM t_case_list ORDER BY registered_position, case_id"
        )
        written = [tuple(r) for r in cases]
        ledger = await conn.exec_driver_sql(
            "SELECT position, tenant, case_id, on_date, kind, amount FROM t_balance_movements"
            " ORDER BY position"
        )
        written_entries = [tuple(r) for r in ledger]
        await conn.rollback()

    expected = [astuple(row) for row in sorted([*plain, *awkward], key=_order)]
    assert written == expected
    assert written_entries == [tuple(m) for m in (*entries, *odd_entries)]
    assert driver.used == [
        "copy_to_table",  # text
        "copy_to_table",
        "copy_records_to_table",  # binary: a tab, a backslash, a carriage return
        "copy_to_table",
        "copy_records_to_table",
    ]


def _order(row: CaseRow) -> tuple[int, str]:
    return row.registered_position, row.case_id
