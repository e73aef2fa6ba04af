"""Whole timelines under time skipping, to each closed outcome, with the date of every act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from activities.letter_layout.document import document_from_json
from eventstore.store import EventStore
from legal import deadline_in_days, first_day_after
from legal.prescription import add_years
from policies.catalog import load_catalog
from schemas.case import Outcome, PaymentIn, Stage
from schemas.case_events import (
    CloseCase,
    DisputeOpened,
    DisputeResolved,
    PartnerReport,
    PromiseToPay,
    RegisteredLetterStatus,
)
from schemas.policy import EscalationRules
from storage.tables import channel_outbox
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.histories import record_history
from tests.workflows.timeline_support import (
    MINUTE,
    PARIS,
    approve,
    at_8,
    days,
    journal_types,
    send,
    sent_on,
    sleep_until,
    state,
    today,
    working,
)

HOUR = timedelta(hours=1)


async def _outbox(engine: AsyncEngine, case_id: str) -> dict[str, tuple[str | None, str]]:
    """channel -> (partner, rendered body) of the case's latest record on that channel."""
    return {channel: rows[-1] for channel, rows in (await _outbox_all(engine, case_id)).items()}


async def _outbox_all(engine: AsyncEngine, case_id: str) -> dict[str, list[tuple[str | None, str]]]:
    """channel -> every (partner, rendered body) recorded on it, oldest first."""
    query = (
        select(channel_outbox.c.channel, channel_outbox.c.partner, channel_outbox.c.body)
        .where(channel_outbox.c.case_id == case_id)
        .order_by(channel_outbox.c.created_at)
    )
    found: dict[str, list[tuple[str | None, str]]] = {}
    async with engine.connect() as conn:
        for row in await conn.execute(query):
            found.setdefault(row.channel, []).append((row.partner, row.body))
    return found


async def test_two_year_b2b_timeline_partial_payment_broken_promise_notice_to_paid(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(),
            due_date=str(due),
            issue_date=str(due - days(30)),
        )
        await sleep_until(ts_env, at_8(due + days(10)))
        await handle.signal(
            "record_payment",
            PaymentIn(amount=Decimal("200.00"), paid_on=due + days(10), reference="VIR-1"),
        )
        await sleep_until(ts_env, at_8(due + days(20)))
        await send(handle, PromiseToPay(promised_on=due + days(24), by="phone"))
        notice_day = working(due + days(45))
        await approve(ts_env, handle, "formal_notice", at_8(notice_day) + MINUTE)
        await sleep_until(ts_env, at_8(notice_day + days(2)) + HOUR)
        await send(handle, RegisteredLetterStatus(status="presented", on=notice_day + days(2)))
        deadline = deadline_in_days(notice_day + days(2), 8, PARIS)
        escalation_day = first_day_after(deadline, PARIS)
        await approve(ts_env, handle, "escalation", at_8(escalation_day) + MINUTE)
        await sleep_until(ts_env, at_8(escalation_day) + HOUR)
        escalated = await state(handle)
        await sleep_until(ts_env, at_8(due + days(300)))
        await send(handle, PartnerReport(status="title_obtained", on=due + days(300)))
        await sleep_until(ts_env, at_8(due + days(700)))
        await send(
            handle,
            PartnerReport(status="amount_collected", on=due + days(700), amount=Decimal("1000")),
        )
        result = await handle.result()
        await record_history(handle, "collection_case_v5_b2b_two_years_paid")

    done = sent_on(result)
    assert done["reminder_1"] == working(due + days(7))
    assert done["reminder_2"] == working(due + days(15))
    assert done["call"] == due + days(28), "held by the promise (24 + 3 grace), then run"
    assert done["reminder_3"] == working(due + days(30))
    assert done["formal_notice"] == notice_day
    assert done["escalation"] == escalation_day
    assert done["enforcement"] == due + days(300)
    assert [(a.step, a.decision) for a in result.approvals] == [
        ("formal_notice", "approve"),
        ("escalation", "approve"),
    ], "fr-b2b-standard asks before the registered letter and before the hand-off"
    assert "PromiseBroken" in journal_types(result)
    assert escalated.stage is Stage.small_claims, "1000 EUR + penalties is under 5000 EUR"
    assert escalated.formal_notice is not None
    assert escalated.formal_notice.deadline == deadline.last_day
    assert result.outcome is Outcome.paid
    assert result.closed_at is not None and result.closed_at.date() == due + days(700)
    # The partial payment restarted the 5 years (C. civ. 2240); the title then replaced
    # them with its own 10 years to enforce it (CPCE L111-4).
    assert result.prescription_interruptions == [due + days(10)]
    assert result.title_on == due + days(300)
    assert result.prescription_last_day == add_years(due + days(300), 10)
    outbox = await _outbox(engine, result.case_id)
    handoffs = (await _outbox_all(engine, result.case_id))["handoff"]
    assert [partner for partner, _ in handoffs] == [
        "commissaire_small_claims",
        "commissaire_enforcement",
    ], "the small-claims commissaire, then another one for enforcement (R125-8)"
    notice_partner, notice_body = outbox["registered_letter"]
    assert notice_partner is None
    assert "mise en demeure" in notice_body.lower() and "1344" in notice_body
    assert "40,00" in notice_body, "a business debtor owes the 40 EUR indemnity (D441-5)"
    async with engine.connect() as conn:
        layouts = {
            row.template: row.layout
            for row in await conn.execute(
                select(channel_outbox.c.template, channel_outbox.c.layout).where(
                    channel_outbox.c.case_id == result.case_id
                )
            )
        }
    # Every letter is printed laid out (activities/letter_layout); operator tasks are not.
    for template in ("reminder_3@1", "formal_notice@1", "handoff_small_claims@3"):
        assert layouts[template] is not None, template
    notice = document_from_json(layouts["formal_notice@1"] or "")
    stated = " ".join(m.text for m in notice.mentions)
    # Its date is past the rate table's last half-year: no rate is guessed, the notice
    # says to which date its amounts run (tests/unit/test_letter_rates.py: with rates).
    assert "Montants arrêtés au" in stated, stated
    assert layouts["phone_call@1"] is None

    store = EventStore(engine)
    stream = await store.read_stream(result.case_id)
    assert [e.event.event_type for e in stream] == [
        entry.fact["type"] for entry in result.journal if entry.fact is not None
    ], "every fact of the journal is in the event store, in order"
    assert "EventStoreFailed" not in journal_types(result)
    types = [e.event.event_type for e in stream]
    for expected in (
        "InvoiceRegistered", "ReminderSent", "PaymentRecorded", "PromiseToPayMade",
        "PromiseBroken", "PhoneTaskCreated", "FormalNoticeSent", "RegisteredLetterPresented",
        "CaseEscalated", "CaseHandedOver", "PartnerReported", "CaseClosed",
    ):  # fmt: skip
        assert expected in types, expected
    assert (await store.verify_stream(result.case_id)).ok


async def test_large_claim_goes_to_injonction_and_not_collected_counts_as_presented(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(),
            due_date=str(due),
            issue_date=str(due - days(30)),
            amount_due="12000.00",
        )
        notice_day = working(due + days(45))
        await approve(ts_env, handle, "formal_notice", at_8(notice_day) + MINUTE)
        await sleep_until(ts_env, at_8(notice_day + days(4)))
        await send(handle, RegisteredLetterStatus(status="not_collected", on=notice_day + days(3)))
        escalation_day = first_day_after(deadline_in_days(notice_day + days(3), 8, PARIS), PARIS)
        await approve(ts_env, handle, "escalation", at_8(escalation_day) + MINUTE)
        await sleep_until(ts_env, at_8(escalation_day) + HOUR)
        escalated = await state(handle)
        await send(
            handle, PartnerReport(status="closed", on=escalation_day, result="uncollectable")
        )
        result = await handle.result()
        await record_history(handle, "collection_case_v3_injonction_written_off")

    assert escalated.stage is Stage.injonction_de_payer
    assert sent_on(escalated)["escalation"] == escalation_day
    assert result.outcome is Outcome.written_off
    partner, body = (await _outbox(engine, result.case_id))["court_file"]
    assert partner == "court" and "1405" in body


async def test_agency_route_then_handed_over_by_an_operator(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    base = load_catalog()["fr-b2b-standard"]
    policy = base.model_copy(update={"escalation": EscalationRules(above_ceiling="agency")})
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(),
            policy=policy,
            due_date=str(due),
            issue_date=str(due - days(30)),
            amount_due="8000.00",
        )
        notice_day = working(due + days(45))
        await approve(ts_env, handle, "formal_notice", at_8(notice_day) + MINUTE)
        await sleep_until(ts_env, at_8(notice_day) + HOUR)
        await send(handle, RegisteredLetterStatus(status="delivered", on=notice_day + days(1)))
        escalation_day = first_day_after(deadline_in_days(notice_day + days(1), 8, PARIS), PARIS)
        await approve(ts_env, handle, "escalation", at_8(escalation_day) + MINUTE)
        await sleep_until(ts_env, at_8(notice_day + days(20)))
        escalated = await state(handle)
        await send(handle, CloseCase(outcome="handed_over", reason="mandat confié", by="dan"))
        result = await handle.result()

    assert escalated.stage is Stage.agency
    assert result.outcome is Outcome.handed_over
    assert (await _outbox(engine, result.case_id))["handoff"][0] == "agency"


async def test_dispute_upheld_cancels_the_invoice(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), due_date=str(due), issue_date=str(due - days(30))
        )
        await send(handle, DisputeOpened(reason="prestation non réalisée"))
        await send(handle, DisputeResolved(outcome="upheld", note="avoir total"))
        result = await handle.result()
    assert result.outcome is Outcome.cancelled
    assert result.actions == []


async def test_consumer_claim_is_alerted_twice_then_closed_as_prescribed_after_two_years(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    consumer = {
        "kind": "consumer",
        "name": "Jeanne Martin",
        "email": "jeanne.martin@example.fr",
        "address": {"line1": "3 rue des Lilas", "postal_code": "69003", "city": "Lyon"},
    }
    last_day = add_years(due, 2)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(),
            due_date=str(due),
            issue_date=str(due - days(30)),
            debtor=consumer,
        )
        await approve(ts_env, handle, "formal_notice", at_8(working(due + days(45))) + MINUTE)
        await sleep_until(ts_env, at_8(last_day + days(2)))
        result = await handle.result()

    assert result.prescription_last_day == last_day, "2 years for a consumer (L218-2)"
    alerts = [j.at.date() for j in result.journal if j.type == "PrescriptionAlerted"]
    assert alerts == [last_day - days(90), last_day - days(30)]
    assert result.outcome is Outcome.prescribed
    expiry = datetime.combine(last_day + days(1), datetime.min.time(), UTC)
    assert result.closed_at is not None
    assert expiry <= result.closed_at < expiry + timedelta(minutes=1)
    _, notice = (await _outbox(engine, result.case_id))["registered_letter"]
    assert "mise en demeure" in notice.lower()
    assert "40,00" not in notice and "indemnité forfaitaire" not in notice.lower()
    assert "15 jours" in notice, "a consumer gets a 15-day deadline in fr-b2c-standard"
