"""One time-skipped test per row of default-policies.md's "events that change the course"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from legal import add_months
from policies.catalog import load_catalog
from schemas.case import HoldKind, Outcome, PaymentIn, Stage
from schemas.case_events import (
    CreditNote,
    DisputeOpened,
    DisputeResolved,
    EInvoicingStatus,
    InsolvencyPublished,
    Instalment,
    MigratePolicy,
    OperatorPause,
    OperatorResume,
    PaymentPlanAgreed,
    PromiseToPay,
)
from storage.tables import channel_outbox
from tests.conftest import BOUNCING_DOMAIN, Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.invoices import invoice_payload
from tests.workflows.timeline_support import (
    at_8,
    days,
    journal_types,
    send,
    sent_on,
    sleep_until,
    state,
    stored_types,
    today,
    working,
)

HOUR = timedelta(hours=1)


def _invoice(due: object) -> dict[str, str]:
    return {"due_date": str(due), "issue_date": str(due - days(30))}  # type: ignore[operator]


async def test_promise_pauses_until_date_plus_grace_then_resumes_if_unpaid(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    promised = due + days(20)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await sleep_until(ts_env, at_8(working(due + days(7))) + HOUR)
        await send(handle, PromiseToPay(promised_on=promised, by="alice"))
        await sleep_until(ts_env, at_8(promised + days(3)) + HOUR)  # last grace day
        paused = await state(handle)
        await sleep_until(ts_env, at_8(promised + days(4)) + HOUR)
        resumed = await state(handle)

    assert list(sent_on(paused)) == ["reminder_1"], "nothing is sent while the promise runs"
    assert [(h.kind, h.until, h.by) for h in paused.holds] == [
        (HoldKind.promise, promised + days(3), "alice")
    ]
    assert "PromiseBroken" in journal_types(resumed)
    assert resumed.holds == []
    assert sent_on(resumed)["reminder_2"] == promised + days(4)


async def test_payment_plan_suspends_while_on_time_and_a_missed_instalment_resumes(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await sleep_until(ts_env, at_8(working(due + days(7))) + HOUR)
        agreed = await today(ts_env)
        plan = PaymentPlanAgreed(
            agreed_on=agreed,
            instalments=[
                Instalment(due_on=due + days(20), amount=Decimal("600.00")),
                Instalment(due_on=due + days(40), amount=Decimal("600.00")),
            ],
        )
        await send(handle, plan)
        await sleep_until(ts_env, at_8(due + days(19)))
        await handle.signal(
            "record_payment",
            PaymentIn(amount=Decimal("600.00"), paid_on=due + days(19), reference="ECH-1"),
        )
        await sleep_until(ts_env, at_8(due + days(46)) - HOUR)  # instalment 2 not yet checked
        on_time = await state(handle)
        await sleep_until(ts_env, at_8(due + days(46)) + HOUR)
        missed = await state(handle)

    assert list(sent_on(on_time)) == ["reminder_1"], "steps are suspended while on time"
    assert on_time.plan is not None and on_time.plan.checked == 1
    assert on_time.prescription_interruptions == [agreed, due + days(19)]
    assert "InstalmentMissed" in journal_types(missed)
    assert missed.plan is None and missed.holds == []
    assert str(missed.balance) == "600.00", "the case resumes for the whole balance"
    assert sent_on(missed)["reminder_2"] == due + days(46)


async def test_dispute_suspends_everything_until_rejected_then_resumes(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await sleep_until(ts_env, at_8(working(due + days(7))) + HOUR)
        await send(handle, DisputeOpened(reason="livraison incomplète", by="bob"))
        await sleep_until(ts_env, at_8(due + days(60)))
        disputed = await state(handle)
        await send(handle, DisputeResolved(outcome="rejected", note="bon de livraison signé"))
        await sleep_until(ts_env, at_8(due + days(60)) + HOUR)
        resumed = await state(handle)

    assert list(sent_on(disputed)) == ["reminder_1"]
    assert [(h.kind, h.reason) for h in disputed.holds] == [
        (HoldKind.dispute, "livraison incomplète")
    ]
    assert resumed.holds == []
    assert sent_on(resumed)["reminder_2"] == due + days(60)


async def test_credit_notes_lower_the_balance_and_a_full_credit_cancels(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await send(handle, CreditNote(amount=Decimal("200.00"), reference="AV-1", issued_on=due))
        await ts_env.sleep(HOUR)
        credited = await state(handle)
        await send(handle, CreditNote(amount=Decimal("1000.00"), reference="AV-2", issued_on=due))
        result = await handle.result()

    assert (str(credited.balance), str(credited.credited)) == ("1000.00", "200.00")
    assert credited.stage is Stage.amicable
    assert result.outcome is Outcome.cancelled
    assert str(result.balance) == "0.00"


async def test_operator_pause_records_who_and_why_and_resume_continues(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await send(handle, OperatorPause(reason="client en négociation", by="claire"))
        await sleep_until(ts_env, at_8(due + days(30)))
        paused = await state(handle)
        await send(handle, OperatorResume(reason="négociation échouée", by="claire"))
        await sleep_until(ts_env, at_8(due + days(30)) + HOUR)
        resumed = await state(handle)

    assert paused.actions == [], "nothing at all is sent while paused"
    assert [(h.kind, h.by, h.reason) for h in paused.holds] == [
        (HoldKind.operator, "claire", "client en négociation")
    ]
    assert paused.next_action is not None and "operator" in paused.next_action.why
    assert sent_on(resumed)["reminder_1"] == due + days(30)
    assert [j.by for j in resumed.journal if j.type in ("CasePaused", "CaseResumed")] == [
        "claire",
        "claire",
    ]
    stored = await stored_types(engine, resumed)
    assert stored[:3] == ["InvoiceRegistered", "CasePaused", "CaseResumed"]


async def test_insolvency_freezes_and_declares_the_claim_within_two_months(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await sleep_until(ts_env, at_8(working(due + days(7))) + HOUR)
        published = await today(ts_env)
        await send(
            handle,
            InsolvencyPublished(
                published_on=published, proceeding="redressement", mandataire="Me Dupont"
            ),
        )
        result = await handle.result()

    assert result.outcome is Outcome.insolvency_claim_declared
    assert result.claim_declaration_deadline == add_months(published, 2)
    assert list(sent_on(result)) == ["reminder_1", "claim_declaration"]
    declaration = next(a for a in result.actions if a.step == "claim_declaration")
    assert declaration.recipient == "Me Dupont"
    async with engine.connect() as conn:
        body = await conn.scalar(
            select(channel_outbox.c.body).where(
                channel_outbox.c.case_id == result.case_id,
                channel_outbox.c.channel == "claim_declaration",
            )
        )
    assert body is not None and "L622-24" in body
    assert (await stored_types(engine, result))[-3:] == [
        "InsolvencyDetected",
        "ClaimDeclared",
        "CaseClosed",
    ]


async def test_einvoicing_statuses_hold_lift_collect_and_refuse(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await send(handle, EInvoicingStatus(code=207, reported_on=due))
        await sleep_until(ts_env, at_8(due + days(20)))
        disputed = await state(handle)
        await send(handle, EInvoicingStatus(code=209, reported_on=due + days(20)))
        await send(
            handle, EInvoicingStatus(code=212, reported_on=due + days(20), amount=Decimal("200"))
        )
        await ts_env.sleep(HOUR)
        collected = await state(handle)
        await send(handle, EInvoicingStatus(code=210, reported_on=due + days(21)))
        result = await handle.result()

    assert [h.kind for h in disputed.holds] == [HoldKind.dispute]
    assert disputed.actions == []
    assert collected.holds == [] and str(collected.balance) == "1000.00"
    assert sent_on(collected)["reminder_1"] == due + days(20), "resumed when completed (209)"
    assert result.outcome is Outcome.cancelled
    assert (await stored_types(engine, result)).count("EInvoicingStatusReceived") == 4


async def test_an_operator_migrates_a_case_to_the_new_policy_without_repeating_steps(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    current = load_catalog()["fr-b2b-standard"]
    older = current.model_copy(update={"version": 1, "steps": current.steps[:2]})
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), policy=older, **_invoice(due))
        await sleep_until(ts_env, at_8(working(due + days(7))) + HOUR)
        await send(
            handle,
            MigratePolicy(policy_id=current.id, reason="barème 2027", by="claire", policy=current),
        )
        await sleep_until(ts_env, at_8(working(due + days(25))) + HOUR)
        migrated = await state(handle)

    assert (migrated.policy_id, migrated.policy_version) == ("fr-b2b-standard", current.version)
    assert list(sent_on(migrated)) == ["reminder_1", "reminder_2", "call"], "no step twice"
    assert sent_on(migrated)["call"] == working(due + days(25)), "a step only the new policy has"
    entry = next(j for j in migrated.journal if j.type == "PolicyMigrated")
    assert entry.by == "claire" and "v1 -> fr-b2b-standard v3" in entry.detail


async def test_a_refused_email_address_is_recorded_and_becomes_an_operator_task(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    debtor = invoice_payload()["debtor"] | {"email": f"compta@{BOUNCING_DOMAIN}"}
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), debtor=debtor, **_invoice(due))
        await sleep_until(ts_env, at_8(working(due + days(7))) + HOUR)
        bounced = await state(handle)

    [failed] = [a for a in bounced.actions if a.step == "reminder_1"]
    assert failed.status == "failed" and "InvalidRecipient" in (failed.detail or "")
    assert "EmailBounced" in journal_types(bounced)
    task = next(a for a in bounced.actions if a.step == "reminder_1_bounce")
    assert (task.channel.value, task.status) == ("phone_task", "sent")
    assert "EmailBounced" in await stored_types(engine, bounced)
