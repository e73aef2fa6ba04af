"""A costly step waits for a person's approval: the standard policies' formal notice and
escalation are not sent while the approval is pending, however long it waits; approved,
they go out at once; rejected, never, and the case waits for an operator (resume asks
again). On the time-skipping server, through the record_event signal."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from legal import deadline_in_days, first_day_after
from policies.catalog import load_catalog
from projections.case_view_store import cases_awaiting_approval
from schemas.case import CaseView, HoldKind, Stage
from schemas.case_events import ApprovalDecision, OperatorResume, RegisteredLetterStatus
from storage.tables import channel_outbox
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.histories import record_history
from tests.workflows.timeline_support import (
    APPROVER,
    MINUTE,
    PARIS,
    approve,
    asked,
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

NOTICE = "Mise en demeure (LRAR)"


async def _outbox(engine: AsyncEngine, case_id: str) -> list[str]:
    """The channels of every outside action recorded for the case, oldest first."""
    query = (
        select(channel_outbox.c.channel)
        .where(channel_outbox.c.case_id == case_id)
        .order_by(channel_outbox.c.created_at)
    )
    async with engine.connect() as conn:
        return [row.channel for row in await conn.execute(query)]


async def _awaiting(engine: AsyncEngine, case_id: str) -> list[tuple[str, str]]:
    """(step, reason) of the case in the worklist's approvals (read model)."""
    async with engine.connect() as conn:
        found = await cases_awaiting_approval(conn, "test")
    return [(item.step, item.reason) for item in found if item.case_id == case_id]


def _not_sent(case: CaseView) -> None:
    assert case.formal_notice is None and case.stage is Stage.amicable
    assert "formal_notice" not in sent_on(case), "no registered letter was attempted"
    assert "FormalNoticeSent" not in journal_types(case)


async def test_the_formal_notice_and_the_escalation_wait_for_approval_then_go_out(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    notice_day = working(due + days(45))
    approved_on = notice_day + days(90)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), due_date=str(due), issue_date=str(due - days(30))
        )
        await sleep_until(ts_env, at_8(notice_day) + MINUTE)
        asking = await asked(handle, "formal_notice")
        await sleep_until(ts_env, at_8(approved_on))  # three months: still waiting
        waiting = await state(handle)
        waiting_outbox = await _outbox(engine, waiting.case_id)
        worklist = await _awaiting(engine, waiting.case_id)
        await send(
            handle,
            ApprovalDecision(
                step="formal_notice", decision="approve", reason="montant vérifié", by=APPROVER
            ),
        )
        await ts_env.sleep(days(1))
        sent = await state(handle)
        sent_outbox = await _outbox(engine, sent.case_id)
        presented = approved_on + days(2)
        await sleep_until(ts_env, at_8(presented) + MINUTE)
        await send(handle, RegisteredLetterStatus(status="presented", on=presented))
        escalation_day = first_day_after(deadline_in_days(presented, 8, PARIS), PARIS)
        await sleep_until(ts_env, at_8(escalation_day + days(10)))
        handoff_waiting = await state(handle)
        await send(handle, ApprovalDecision(step="escalation", decision="approve", by=APPROVER))
        await ts_env.sleep(days(1))
        escalated = await state(handle)
        after = await _awaiting(engine, escalated.case_id)
        await record_history(handle, "collection_case_v6_approval_notice_and_escalation_approved")

    assert asking.steps_done == 4, "reminders and the call ran without asking"
    assert [(h.kind, h.ref) for h in asking.holds] == [(HoldKind.approval, "formal_notice")]
    _not_sent(waiting)
    assert waiting.pending_approvals == ["formal_notice"]
    assert waiting.next_action is not None
    assert f"awaiting approval of {NOTICE}" in waiting.next_action.why
    assert journal_types(waiting).count("ApprovalRequested") == 1, "asked once, however long"
    assert "registered_letter" not in waiting_outbox
    assert worklist == [("formal_notice", f"awaiting approval of {NOTICE}")]

    assert sent.holds == [] and sent.stage is Stage.formal_notice
    assert sent_on(sent)["formal_notice"] == approved_on, "sent when approved"
    assert journal_types(sent).count("FormalNoticeSent") == 1
    assert sent_outbox.count("registered_letter") == 1
    [decision] = sent.approvals
    assert (decision.step, decision.decision, decision.by, decision.reason) == (
        "formal_notice",
        "approve",
        APPROVER,
        "montant vérifié",
    )
    assert decision.at.date() == approved_on
    approved = next(j for j in sent.journal if j.type == "StepApproved")
    assert approved.by == APPROVER

    assert handoff_waiting.pending_approvals == ["escalation"]
    assert "escalation" not in sent_on(handoff_waiting), "no hand-off before its approval"
    assert handoff_waiting.stage is Stage.formal_notice
    assert escalated.stage is Stage.small_claims and escalated.holds == []
    assert sent_on(escalated)["escalation"] == escalation_day + days(10)
    assert after == [], "nothing left in the worklist's approvals"
    stored = await stored_types(engine, escalated)
    assert stored.count("ApprovalRequested") == 2 and stored.count("StepApproved") == 2
    assert stored.index("StepApproved") < stored.index("FormalNoticeSent")


async def test_a_rejected_formal_notice_is_never_sent_until_resumed_and_approved(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    notice_day = working(due + days(45))
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), due_date=str(due), issue_date=str(due - days(30))
        )
        await sleep_until(ts_env, at_8(notice_day) + MINUTE)
        await asked(handle, "formal_notice")
        await send(
            handle,
            ApprovalDecision(
                step="formal_notice",
                decision="reject",
                reason="client en négociation",
                by=APPROVER,
            ),
        )
        await sleep_until(ts_env, at_8(notice_day + days(60)))
        rejected = await state(handle)
        rejected_outbox = await _outbox(engine, rejected.case_id)
        await send(handle, OperatorResume(reason="négociation échouée", by=APPROVER))
        asked_again = await asked(handle, "formal_notice")
        await approve(ts_env, handle, "formal_notice", at_8(notice_day + days(61)))
        await ts_env.sleep(days(1))
        sent = await state(handle)
        await record_history(handle, "collection_case_v6_approval_rejected_resumed_approved")

    _not_sent(rejected)
    assert [(h.kind, h.by) for h in rejected.holds] == [(HoldKind.operator, APPROVER)]
    assert rejected.holds[0].reason == f"{NOTICE} rejected: client en négociation"
    assert rejected.next_action is not None and "operator" in rejected.next_action.why
    assert [(a.decision, a.reason) for a in rejected.approvals] == [
        ("reject", "client en négociation")
    ]
    assert "registered_letter" not in rejected_outbox

    _not_sent(asked_again)
    assert journal_types(asked_again).count("ApprovalRequested") == 2, "resume asks again"
    assert asked_again.pending_approvals == ["formal_notice"]

    assert sent.formal_notice is not None
    assert sent_on(sent)["formal_notice"] == notice_day + days(61), "sent once approved"
    assert [a.decision for a in sent.approvals] == ["reject", "approve"]
    stored = await stored_types(engine, sent)
    for expected in ("StepRejected", "CaseResumed", "StepApproved", "FormalNoticeSent"):
        assert expected in stored, expected


async def test_a_policy_that_asks_for_nothing_sends_on_its_date(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    """Cases on fr-b2b-standard v2 (before approvals) keep their course."""
    current = load_catalog()["fr-b2b-standard"]
    steps = [s.model_copy(update={"requires_approval": False}) for s in current.steps]
    older = current.model_copy(update={"version": 2, "steps": steps})
    due = await today(ts_env) + days(1)
    notice_day = working(due + days(45))
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(),
            policy=older,
            due_date=str(due),
            issue_date=str(due - days(30)),
        )
        await sleep_until(ts_env, at_8(notice_day) + days(0.5))
        case = await state(handle)

    assert sent_on(case)["formal_notice"] == notice_day
    assert "ApprovalRequested" not in journal_types(case) and case.approvals == []
