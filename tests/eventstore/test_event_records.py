"""What an auditor reads in the table: stable names, exact amounts, ISO dates, who acted."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import EVENT_CLASSES, InvoiceRegistered
from eventstore.ids import event_id_for
from eventstore.store import EventStore
from tests.eventstore.factories import a_case, envelope, invoice_registered, metadata, new_stream


async def test_amounts_are_stored_as_exact_two_decimal_strings_and_dates_as_iso(
    store: EventStore, engine: AsyncEngine
) -> None:
    stream_id = new_stream()
    await store.append(stream_id, [envelope(invoice_registered(amount="1200"))], 0)

    async with engine.connect() as conn:
        query = (
            "SELECT event_type, data->'amount_due', data->>'due_date', metadata"
            " FROM events WHERE stream_id = :s"
        )
        row = (await conn.execute(text(query), {"s": stream_id})).one()

    assert tuple(row)[:3] == ("InvoiceRegistered", "1200.00", "2026-10-31")
    assert row[3] == metadata().model_dump(mode="json")


def test_every_event_type_name_is_stable_and_not_an_import_path() -> None:
    names = [cls.event_type for cls in EVENT_CLASSES]
    assert len(names) == len(set(names))
    stored_forever = {  # names already in stored streams: renaming one orphans its events
        "InvoiceRegistered", "ReminderSent", "PhoneCallLogged", "FormalNoticeSent",
        "RegisteredLetterPresented", "PromiseToPayMade", "PromiseBroken", "PaymentPlanAgreed",
        "InstalmentMissed", "PaymentRecorded", "DisputeOpened", "DisputeResolved",
        "CaseEscalated", "CaseHandedOver", "InsolvencyDetected", "ClaimDeclared",
        "PrescriptionAlerted", "CaseClosed", "CreditNoteIssued", "CasePaused", "CaseResumed",
        "EInvoicingStatusReceived", "PartnerReported", "PhoneTaskCreated",
    }  # fmt: skip
    assert stored_forever <= set(names)
    assert all("." not in name and name[0].isupper() for name in names), names
    assert InvoiceRegistered.event_type == "InvoiceRegistered"


async def test_a_stream_reads_back_typed_in_version_order_from_any_version(
    store: EventStore,
) -> None:
    stream_id = new_stream()
    case = a_case()
    await store.append(stream_id, case, expected_version=0)

    tail = await store.read_stream(stream_id, from_version=3)

    assert [r.version for r in tail] == [3, 4]
    assert [type(r.event).__name__ for r in tail] == ["PaymentRecorded", "CaseClosed"]
    assert [r.event_id for r in tail] == [e.event_id for e in case[2:]]
    assert tail[0].metadata == metadata()


async def test_read_all_pages_through_the_log_by_position(store: EventStore) -> None:
    stream_id = new_stream()
    recorded = await store.append(stream_id, a_case(), expected_version=0)
    start = recorded[0].position - 1

    first_page = await store.read_all(after_position=start, limit=2)
    second_page = await store.read_all(after_position=first_page[-1].position, limit=2)

    assert [r.version for r in first_page + second_page] == [1, 2, 3, 4]
    assert [r.event for r in first_page + second_page] == [r.event for r in recorded]


def test_event_ids_are_derived_from_the_stream_and_the_step() -> None:
    stream_id = str(uuid.uuid4())

    assert event_id_for(stream_id, "reminder_1") == event_id_for(stream_id, "reminder_1")
    assert event_id_for(stream_id, "reminder_1") != event_id_for(stream_id, "reminder_2")
    assert event_id_for("a/b", "c") != event_id_for("a", "b/c")
    assert event_id_for(stream_id, "reminder_1").version == 5
