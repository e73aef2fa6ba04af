"""One formal notice for a debtor's two invoices, posted once through the provider (issue
12): one sending at the sandbox, each invoice's own post finds it done, and every status
the provider reports reaches both cases (real HTTP to the sandbox, real PostgreSQL)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities
from activities.grouped_letter_request import GroupedLetterRequest
from activities.letter_layout.document import document_from_json
from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.tracking import sync_open_letters
from schemas.case_events import RegisteredLetterStatus
from services.audit.case_records import case_proofs
from storage.tables import channel_outbox, registered_letters
from tests.registered_mail.conftest import eventually, formal_notice


async def test_one_registered_letter_for_two_invoices_and_its_statuses_reach_both_cases(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    debtor = f"dbt-{uuid.uuid4().hex[:12]}"
    items = [
        formal_notice(f"case-{uuid.uuid4().hex[:12]}", invoice_number=number)
        for number in ("F-2026-0101", "F-2026-0102")
    ]
    grouped = GroupedLetterRequest(
        idempotency_key=f"{debtor}/registered_letter/1",
        tenant="acme",
        debtor_id=debtor,
        channel="registered_letter",
        items=items,
        line_totals=[Decimal("1252.40"), Decimal("1252.40")],  # each item's context total
    )
    activities = ChannelActivities(engine, registered_mail=mail_client)
    receipt = await ActivityEnvironment().run(activities.send_grouped_letter, grouped)
    again = await ActivityEnvironment().run(activities.send_grouped_letter, grouped)
    alone = await ActivityEnvironment().run(activities.send_registered_letter, items[1])
    assert receipt.reference == again.reference == alone.reference, "one sending"
    assert again.duplicate and alone.duplicate, "nothing posted twice"

    async with engine.connect() as conn:
        letters = (
            await conn.execute(
                select(registered_letters.c.idempotency_key).where(
                    registered_letters.c.provider_id == receipt.reference
                )
            )
        ).scalars()
        assert list(letters) == [grouped.idempotency_key], "one letter row, the grouped one"
        body, layout = (
            await conn.execute(
                select(channel_outbox.c.body, channel_outbox.c.layout).where(
                    channel_outbox.c.idempotency_key == grouped.idempotency_key
                )
            )
        ).one()
    assert layout is not None, "the grouped letter is laid out, one row per invoice"
    document = document_from_json(layout)
    assert [row.invoice for row in document.table.rows] == ["F-2026-0101", "F-2026-0102"]
    assert "F-2026-0101" in body and "F-2026-0102" in body
    plain = body.replace("\u202f", " ").replace("\xa0", " ")
    assert "Total réclamé : 2 504,80 €" in plain, plain

    await eventually(
        lambda: mail_client.status(receipt.reference), lambda s: s.outcome == "delivered"
    )
    told: list[tuple[str, str]] = []

    async def signal(workflow_id: str | None, case_id: str, event: RegisteredLetterStatus) -> None:
        told.append((case_id, event.status))

    await sync_open_letters(engine, mail_client, signal, limit=1000)
    for item in items:
        assert [s for c, s in told if c == item.case_id] == ["presented", "delivered"], told
    for item in items:  # each case's dossier holds the grouped letter's proofs
        kinds = {p.kind for p in await case_proofs(engine, item.case_id)}
        assert "deposit_proof" in kinds, (item.case_id, kinds)
