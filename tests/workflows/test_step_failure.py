"""A failed action is never counted as done: the step stops behind a `blocked` hold with a
StepFailed fact and an operator task, and an operator's retry runs it again, once."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from policies.catalog import load_catalog
from schemas.case import HoldKind, Stage
from schemas.case_events import MigratePolicy, RetryStep
from schemas.policy import Policy
from services.embedded.mailbox_server import start_mailbox_server
from storage.tables import deliveries
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.histories import record_history
from tests.support.invoices import invoice_payload
from tests.support.serving import free_port
from tests.workflows.timeline_support import (
    MINUTE,
    approve,
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

FLAKY_DOMAIN = "refusing.example"


@pytest.fixture
def flaky_smtp() -> Iterator[tuple[Smtp, object]]:
    """A real SMTP server that refuses one domain until the test 'fixes' it."""
    maildir = Path(tempfile.mkdtemp(prefix="recouvre-flaky-mail-"))
    port = free_port()
    controller = start_mailbox_server(maildir, port=port, refuse_domains=(FLAKY_DOMAIN,))
    yield Smtp("127.0.0.1", port, maildir), controller.handler
    controller.stop()


def _invoice(due: object) -> dict[str, object]:
    debtor = invoice_payload()["debtor"] | {"email": f"compta@{FLAKY_DOMAIN}"}
    return {"due_date": str(due), "issue_date": str(due - days(30)), "debtor": debtor}  # type: ignore[operator]


async def test_a_refused_reminder_blocks_the_timeline_until_the_operator_retries_it(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, flaky_smtp: tuple[Smtp, object]
) -> None:
    smtp, handler = flaky_smtp
    due = await today(ts_env) + days(1)
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), **_invoice(due))
        await sleep_until(ts_env, at_8(working(due + days(30))))
        blocked = await state(handle)
        handler.refuse_domains = ()  # type: ignore[attr-defined]  # the address works again
        await send(handle, RetryStep(step="reminder_1", note="adresse corrigée", by="claire"))
        await ts_env.sleep(days(1))
        retried = await state(handle)
        await sleep_until(ts_env, at_8(working(due + days(40))) + days(0.5))  # between steps
        later = await state(handle)
        await record_history(handle, "collection_case_v5_bounce_blocked_retried")

    assert blocked.steps_done == 0, "a failed step is not done"
    assert [(h.kind, h.ref) for h in blocked.holds] == [(HoldKind.blocked, "reminder_1")]
    assert "StepFailed" in journal_types(blocked)
    assert "reminder_2" not in sent_on(blocked), "nothing after a failed step runs"
    assert blocked.next_action is not None and "blocked" in blocked.next_action.why
    assert any(a.step == "reminder_1_bounce" for a in blocked.actions), "an operator task"

    assert retried.holds == []
    assert [a.status for a in retried.actions if a.step == "reminder_1"] == ["failed", "sent"]
    assert "StepRetried" in journal_types(retried)
    assert "reminder_2" in sent_on(later), "the timeline goes on after the retry"
    stored = await stored_types(engine, later)
    assert stored.count("StepFailed") == 1 and stored.count("StepRetried") == 1
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.status).where(
                    deliveries.c.idempotency_key == f"{later.case_id}/reminder_1"
                )
            )
        ).all()
    assert [r.status for r in rows] == ["sent"], "the retry used the same idempotency key"


def _broken_notice_policy() -> tuple[Policy, Policy]:
    good = load_catalog()["fr-b2b-standard"]
    steps = [
        s.model_copy(update={"template": "formal_notice@99"}) if s.key == "formal_notice" else s
        for s in good.steps
    ]
    return good.model_copy(update={"version": 1, "steps": steps}), good


async def test_a_formal_notice_that_could_not_be_sent_does_not_exist(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    broken, fixed = _broken_notice_policy()
    notice_step = next(s for s in broken.steps if s.key == "formal_notice")
    due = await today(ts_env) + days(1)
    invoice = {"due_date": str(due), "issue_date": str(due - days(30))}
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await ts_env.get_current_time(), policy=broken, **invoice)
        notice_day = working(due + notice_step.offset)
        await approve(ts_env, handle, "formal_notice", at_8(notice_day) + MINUTE)
        await sleep_until(ts_env, at_8(working(due + notice_step.offset + days(3))))
        failed = await state(handle)
        await send(handle, MigratePolicy(policy_id=fixed.id, reason="modèle", policy=fixed))
        await send(handle, RetryStep(step="formal_notice"))
        await ts_env.sleep(days(3))  # the policy's min_gap after the last action
        sent = await state(handle)
        await record_history(handle, "collection_case_v5_notice_blocked_migrated_retried")

    assert failed.formal_notice is None and failed.stage is Stage.amicable
    assert "FormalNoticeSent" not in journal_types(failed)
    assert [(h.kind, h.ref) for h in failed.holds] == [(HoldKind.blocked, "formal_notice")]
    [task] = [a for a in failed.actions if a.step.startswith("formal_notice_failed")]
    assert (task.channel.value, task.status) == ("phone_task", "sent")
    assert sent.formal_notice is not None and sent.stage is Stage.formal_notice
    assert journal_types(sent).count("FormalNoticeSent") == 1
    assert journal_types(sent).count("ApprovalRequested") == 1, "approved once, retried as is"
