"""A worker process killed in the middle of an activity: another worker retries it, the
outside action happens once, and nothing is lost.

The activity is held at a known point by a table lock the test takes (its INSERT waits),
then the worker process (the real `recouvre worker`) gets SIGKILL; PostgreSQL rolls its
transaction back, the attempt times out, and a second worker on the same task queue does it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

from eventstore.store import EventStore
from policies.catalog import load_catalog
from schemas.case import CaseView
from storage.tables import channel_outbox, deliveries
from tests.conftest import Smtp
from tests.support.cases import CaseRig, case_worker, smtp_settings
from tests.support.mailbox import messages_for_case

T = TypeVar("T")
ATTEMPT_S = 3  # one attempt's time limit: how soon the dead worker's activity is retried


async def _eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    for _ in range(300):
        value = await probe()
        if ok(value):
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {value!r}")


def _start_worker_process(
    database_url: str, env: WorkflowEnvironment, smtp: Smtp, queue: str
) -> subprocess.Popen[bytes]:
    command = Path(sys.executable).with_name("recouvre")
    variables = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": queue,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "RECOUVRE_RUN_PROJECTOR": "false",
    }
    return subprocess.Popen(
        [str(command), "worker"], env=variables, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


async def _polling(env: WorkflowEnvironment, queue: str) -> bool:
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        answer = await env.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=env.client.namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=kind,
            )
        )
        if not answer.pollers:
            return False
    return True


async def _waiting_on(conn: AsyncConnection, table: str) -> int:
    query = text(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(:t AS regclass)"
    )
    return int((await conn.execute(query, {"t": table})).scalar_one())


async def _count(engine: AsyncEngine, case: CaseView, table: str, step: str | None) -> int:
    async with engine.connect() as conn:
        if table == "deliveries":
            where = (deliveries.c.case_id == case.case_id, deliveries.c.step == step)
            return int(
                await conn.scalar(select(func.count()).select_from(deliveries).where(*where))
            )
        if table == "channel_outbox":
            rows = channel_outbox.c
            where = (rows.case_id == case.case_id, rows.step == step)
            return int(
                await conn.scalar(select(func.count()).select_from(channel_outbox).where(*where))
            )
    stream = await EventStore(engine).read_stream(case.case_id)
    return sum(1 for e in stream if e.event.event_type == "InvoiceRegistered")


@pytest.mark.parametrize(
    ("table", "step"),
    [
        ("events", None),  # the event-store append of the case's first fact
        ("deliveries", "reminder_1"),  # the email channel, before the SMTP send
        ("channel_outbox", "call"),  # the other channels (here: the phone task)
    ],
)
async def test_a_worker_killed_mid_activity_is_replaced_and_acts_once(
    database_url: str,
    engine: AsyncEngine,
    dev_env: WorkflowEnvironment,
    smtp: Smtp,
    table: str,
    step: str | None,
) -> None:
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    doomed = _start_worker_process(database_url, dev_env, smtp, queue)
    try:
        await _eventually(lambda: _polling(dev_env, queue), bool)
        async with engine.connect() as lock:
            await lock.begin()
            await lock.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            rig = CaseRig(dev_env.client, queue)
            handle = await rig.start(
                datetime.now(UTC), policy=load_catalog()["demo"], activity_timeout_s=ATTEMPT_S
            )
            async with engine.connect() as probe:
                await _eventually(lambda: _waiting_on(probe, table), lambda n: n > 0)
            doomed.send_signal(signal.SIGKILL)  # mid-activity: its INSERT is waiting
            doomed.wait(timeout=10)
            await lock.rollback()
        async with case_worker(
            dev_env.client, engine, smtp_settings(smtp.host, smtp.port), task_queue=queue
        ):
            case: CaseView = await _eventually(
                lambda: handle.query("state", result_type=CaseView),
                lambda c: (c.events_appended > 0) if step is None else any(
                    a.step == step and a.status == "sent" for a in c.actions
                ),
            )  # fmt: skip
            await rig.close()
    finally:
        if doomed.poll() is None:
            doomed.kill()

    assert doomed.returncode == -signal.SIGKILL
    assert await _count(engine, case, table, step) == 1, "done once, not lost, not twice"
    if table == "deliveries":
        assert len(messages_for_case(smtp.maildir, case.case_id)) == 1
