"""Updates on the real dev server: whatever a caller sends, the case keeps answering.

A refused update changes nothing and leaves no trace in history; a payload the workflow
cannot even decode is refused the same way; the case then accepts a payment that closes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from schemas.case import CaseView, Outcome, PaymentIn
from schemas.case_events import CaseEventEnvelope, OperatorPause, OperatorResume
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.histories import record_history
from tests.workflows.timeline_support import days, today


async def test_no_update_can_stall_a_case(
    dev_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(dev_env) + days(60)  # nothing fires during the test
    invoice = {"due_date": str(due), "issue_date": str(due - days(30))}
    async with case_worker(dev_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await dev_env.get_current_time(), **invoice)
        untyped = dev_env.client.get_workflow_handle(handle.id)

        async def update(name: str, arg: Any) -> CaseView:
            result: CaseView = await untyped.execute_update(
                name, arg, result_type=CaseView, rpc_timeout=timedelta(seconds=10)
            )
            return result

        with pytest.raises(WorkflowUpdateFailedError) as not_paused:
            await update("apply_event", CaseEventEnvelope(event=OperatorResume(reason="x")))
        raw_empty = {"event": {"type": "resume", "reason": ""}}  # as an old client might send
        with pytest.raises(WorkflowUpdateFailedError):
            await update("apply_event", raw_empty)
        with pytest.raises(WorkflowUpdateFailedError):
            await update("apply_event", {"event": {"type": "no_such_event"}})
        paused = await update("apply_event", CaseEventEnvelope(event=OperatorPause(reason="ok")))
        with pytest.raises(WorkflowUpdateFailedError) as too_much:
            await update(
                "apply_payment",
                PaymentIn.model_validate(
                    {"amount": "999999.00", "paid_on": str(due), "reference": "VIR-1"}
                ),
            )
        closed = await update(
            "apply_payment",
            PaymentIn.model_validate(
                {"amount": str(paused.balance), "paid_on": str(due), "reference": "VIR-2"}
            ),
        )
        result = await handle.result()
        await record_history(handle, "collection_case_v5_updates_refused_then_paid")

    assert "not paused" in str(not_paused.value.cause)
    assert "amount" in str(too_much.value.cause)
    assert closed.outcome is Outcome.paid and result.outcome is Outcome.paid
    assert [j.type for j in result.journal].count("EventIgnored") == 0
