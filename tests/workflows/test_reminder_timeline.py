"""The B2B reminder timeline under time skipping: weeks pass in milliseconds."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from legal import calendar_for_postal_code
from schemas.case import CaseView, PaymentIn, Stage
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.histories import record_history
from tests.support.mailbox import messages_for_case, text_of
from tests.workflows.timeline_support import at_8, sleep_until, working
from workflows.collection_case import CollectionCaseWorkflow

HOUR = timedelta(hours=1)


def _payment(amount: str, paid_on: date, reference: str) -> PaymentIn:
    return PaymentIn.model_validate(
        {"amount": amount, "paid_on": paid_on.isoformat(), "reference": reference}
    )


async def _today(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).astimezone(UTC).date()


def _at_8(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


def _sent_days(state: CaseView) -> list[tuple[str, datetime]]:
    return [(a.step, a.done_at) for a in state.actions if a.status == "sent"]


async def test_reminders_go_out_at_due_date_plus_7_and_plus_15_on_working_days(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await _today(ts_env) + timedelta(days=1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), due_date=due.isoformat(),
            issue_date=(due - timedelta(days=30)).isoformat(),
        )  # fmt: skip
        await sleep_until(ts_env, at_8(working(due + timedelta(days=7))) + HOUR)
        after_first = await handle.query(CollectionCaseWorkflow.state)
        await sleep_until(ts_env, at_8(working(due + timedelta(days=15))) + HOUR)
        state = await handle.query(CollectionCaseWorkflow.state)

    assert [s for s, _ in _sent_days(after_first)] == ["reminder_1"]
    steps = _sent_days(state)
    assert [s for s, _ in steps] == ["reminder_1", "reminder_2"]
    paris = calendar_for_postal_code("75002")  # a step on a non-working day moves to the next
    planned = [paris.first_working_day_from(due + timedelta(days=n)) for n in (7, 15)]
    for (_, done_at), expected in zip(steps, [_at_8(day) for day in planned], strict=True):
        assert expected <= done_at < expected + timedelta(minutes=5), (done_at, expected)
    assert state.stage is Stage.amicable
    assert state.next_action is not None and state.next_action.step == "call"
    mails = messages_for_case(smtp.maildir, state.case_id)
    assert sorted(m["X-Recouvre-Step"] for m in mails) == ["reminder_1", "reminder_2"]
    assert all(m["To"] == "compta@durand.example" for m in mails)


async def test_full_payment_before_reminder_2_closes_the_case_and_stops_it(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await _today(ts_env)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), due_date=due.isoformat(),
            issue_date=(due - timedelta(days=30)).isoformat(),
        )  # fmt: skip
        paid_day = working(due + timedelta(days=7))  # right after reminder 1
        await sleep_until(ts_env, at_8(paid_day) + HOUR)
        await handle.signal("record_payment", _payment("1200.00", paid_day, "VIR-9"))
        result = await handle.result()  # the workflow ends once the case is closed

    assert result.stage is Stage.closed
    assert result.outcome is not None and result.outcome.value == "paid"
    assert str(result.balance) == "0.00"
    assert [s for s, _ in _sent_days(result)] == ["reminder_1", "receipt"]
    assert result.closed_at is not None
    assert result.closed_at.date() == paid_day
    mails = messages_for_case(smtp.maildir, result.case_id)
    assert sorted(m["X-Recouvre-Step"] for m in mails) == ["receipt", "reminder_1"]
    receipt = next(m for m in mails if m["X-Recouvre-Step"] == "receipt")
    assert "soldée" in receipt["Subject"] and "vaut reçu" in text_of(receipt)


async def test_partial_payment_lowers_the_balance_and_the_timeline_goes_on(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await _today(ts_env)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), due_date=due.isoformat(),
            issue_date=(due - timedelta(days=30)).isoformat(),
        )  # fmt: skip
        await ts_env.sleep(timedelta(days=10))
        await handle.signal("record_payment", _payment("200.00", due + timedelta(days=9), "VIR-1"))
        await handle.signal("record_payment", _payment("200.00", due + timedelta(days=9), "VIR-1"))
        await ts_env.sleep(timedelta(days=10))
        state = await handle.query(CollectionCaseWorkflow.state)
        await handle.signal("record_payment", _payment("1000.00", due + timedelta(days=20), "V2"))
        await handle.result()
        await record_history(handle, "collection_case_b2b_partial_then_paid")

    assert str(state.balance) == "1000.00", "a repeated signal must count once"
    assert [s for s, _ in _sent_days(state)] == ["reminder_1", "reminder_2"]
    assert state.stage is Stage.amicable
    assert state.next_action is not None and state.next_action.step == "call"
    mails = messages_for_case(smtp.maildir, state.case_id)
    second = next(m for m in mails if m["X-Recouvre-Step"] == "reminder_2")
    assert "1\u202f000,00\u00a0€" in text_of(second)


async def test_the_last_reminder_email_carries_the_statement_letter_as_pdf(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await _today(ts_env) + timedelta(days=1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), due_date=due.isoformat(),
            issue_date=(due - timedelta(days=30)).isoformat(),
        )  # fmt: skip
        paris = calendar_for_postal_code("75002")
        reminder_3 = _at_8(paris.first_working_day_from(due + timedelta(days=30)))
        await ts_env.sleep(reminder_3 + timedelta(hours=1) - await ts_env.get_current_time())
        state = await handle.query(CollectionCaseWorkflow.state)

    mails = messages_for_case(smtp.maildir, state.case_id)
    steps = [m["X-Recouvre-Step"] for m in mails]
    assert "reminder_3" in steps, (steps, reminder_3)
    last = next(m for m in mails if m["X-Recouvre-Step"] == "reminder_3")
    [attachment] = list(last.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"reminder_3-{state.invoice_number}.pdf"
    pages = PdfReader(io.BytesIO(attachment.get_content())).pages
    printed = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert state.invoice_number in printed
