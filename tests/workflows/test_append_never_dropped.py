"""A fact is never dropped: while the event store refuses appends, the case waits and
shows it (its pending action and an incomplete stream); once the store is back, every
fact is in the stream, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from eventstore.store import EventStore
from schemas.case_events import OperatorPause
from services.api.case_progress import StreamStatus, case_pending_actions
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.workflows.timeline_support import days, send, state, today

RPC = timedelta(seconds=10)


async def _until(predicate: object, handle: object, limit_s: float = 30) -> None:
    for _ in range(int(limit_s * 10)):
        if await predicate(handle):  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_appends_that_keep_failing_hold_the_case_visibly_and_lose_nothing(
    dev_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(dev_env) + days(60)
    invoice = {"due_date": str(due), "issue_date": str(due - days(30))}
    async with case_worker(dev_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(await dev_env.get_current_time(), activity_timeout_s=2, **invoice)

        async def stored(h: object) -> bool:
            return StreamStatus.of(await state(handle)).complete

        await _until(stored, handle)
        async with engine.connect() as locker:
            transaction = await locker.begin()
            await locker.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
            await send(handle, OperatorPause(reason="vérification", by="claire"))

            async def retried(h: object) -> bool:
                pending = await case_pending_actions(handle, RPC)
                return any(p.activity == "record_case" and p.attempt >= 2 for p in pending)

            await _until(retried, handle)
            waiting = StreamStatus.of(await state(handle))
            await transaction.rollback()
        await _until(stored, handle)
        done = await state(handle)
        pending_after = await case_pending_actions(handle, RPC)

    assert not waiting.complete and waiting.facts_journaled == waiting.events_appended + 1
    assert pending_after == []
    stream = await EventStore(engine).read_stream(done.case_id)
    assert [e.event.event_type for e in stream] == ["InvoiceRegistered", "CasePaused"]
