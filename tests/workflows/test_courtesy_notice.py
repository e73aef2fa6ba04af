"""A courtesy notice before the due date (default-policies.md, fr-b2b-standard's optional
first step: "due date - 5 days, email, friendly heads-up, invoice attached, how to pay"),
chosen by picking a ``*-courtesy`` policy: sent five days before the due date with the
invoice as the ERP sent it, and never once the due date has come (time skipping, real
activities, real SMTP, real PostgreSQL)."""

from __future__ import annotations

import hashlib

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from policies.catalog import resolve_policy
from schemas.invoice import DebtorKind
from storage.tables import case_files
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.mailbox import messages_for_case
from tests.workflows.timeline_support import (
    at_8,
    days,
    journal_types,
    sleep_until,
    state,
    today,
    working,
)

INVOICE_XML = b"<?xml version='1.0'?><Invoice><ID>F-COURTESY</ID></Invoice>"


async def test_the_courtesy_notice_goes_five_days_before_the_due_date_with_the_invoice(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    policy = resolve_policy("fr-b2b-courtesy", DebtorKind.business)
    due = await today(ts_env) + days(20)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(),
            policy=policy,
            issue_date=str(due - days(30)),
            due_date=str(due),
        )
        case = await state(handle)
        async with engine.begin() as conn:  # the e-invoice kept at intake (case_files)
            await conn.execute(
                insert(case_files).values(
                    tenant=case.tenant,
                    case_id=case.case_id,
                    sha256=hashlib.sha256(INVOICE_XML).hexdigest(),
                    media_type="application/xml",
                    kind="einvoice",
                    size=len(INVOICE_XML),
                    content=INVOICE_XML,
                )
            )
        sent_on = working(due - days(5))
        await sleep_until(ts_env, at_8(sent_on) - days(1))
        assert messages_for_case(smtp.maildir, case.case_id) == [], "not before its day"
        await sleep_until(ts_env, at_8(sent_on) + days(1))
        case = await state(handle)
    [mail] = messages_for_case(smtp.maildir, case.case_id)
    assert mail["Subject"].startswith("Échéance prochaine : facture")
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == f"facture-{case.invoice_number}.xml"
    assert attached.get_payload(decode=True) == INVOICE_XML, "the file as the ERP sent it"
    [action] = [a for a in case.actions if a.step == "courtesy_notice"]
    assert action.status == "sent" and action.done_at.date() == sent_on
    assert "CourtesyNoticeSent" in journal_types(case)
    assert case.stage.value == "amicable" and case.steps_done == 1


async def test_an_invoice_registered_after_its_courtesy_date_gets_no_notice(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    policy = resolve_policy("fr-b2b-courtesy", DebtorKind.business)
    due = await today(ts_env)  # due today: a "before the due date" notice is too late
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(),
            policy=policy,
            issue_date=str(due - days(30)),
            due_date=str(due),
        )
        await sleep_until(ts_env, at_8(due) + days(2))
        case = await state(handle)
    assert messages_for_case(smtp.maildir, case.case_id) == []
    assert [a.step for a in case.actions] == []
    skipped = [e for e in case.journal if e.type == "StepSkipped"]
    assert [e.detail for e in skipped] == ["courtesy_notice: the due date has come"]
    assert case.next_action is not None and case.next_action.step == "reminder_1"
