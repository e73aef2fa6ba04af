"""The Temporal server killed (SIGKILL) mid-timeline and started again on the same SQLite
file and port: the worker and the API, never restarted, carry on; every case continues,
each reminder is sent once, every journaled fact is in the event store."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import create_app
from services.temporal_client import connect_temporal
from services.worker import running_worker
from storage.tables import cases
from tests.conftest import Smtp
from tests.faults.api import api_client, closed, has_done, wait_for_case
from tests.faults.figures import count_cases, report
from tests.support.invoices import invoice_payload
from tests.support.mailbox import messages_for_case
from tests.support.processes import TemporalDevServer, eventually
from tests.support.service import make_settings
from tests.support.serving import serve

CASES = 4
EXPECTED = ("reminder_1", "reminder_2", "call")  # demo policy: at 5, 10 and 15 s
DOWN_S = 3.0
PAYMENT = {"amount": "1200.00", "paid_on": "2026-11-02", "reference": "VIR-FAULT"}


async def _mails(smtp: Smtp, case_id: str) -> int:
    return len(messages_for_case(smtp.maildir, case_id))


async def test_temporal_killed_mid_timeline_every_case_continues(
    database_url: str, engine: AsyncEngine, smtp: Smtp, tmp_path: Path
) -> None:
    began = time.monotonic()
    server = TemporalDevServer(tmp_path)
    await server.start()
    settings = make_settings(database_url, server.target, smtp)
    try:
        client = await connect_temporal(settings)
        async with (
            running_worker(client, settings, engine, projector=False),
            serve(create_app(settings)) as base_url,
            api_client(base_url, "erp") as erp,
            api_client(base_url, "operator") as operator,
        ):
            case_ids = []
            for _ in range(CASES):  # a second apart: the kill finds them at different steps
                opened = await erp.post("/v1/invoices", json=invoice_payload(policy="demo"))
                assert opened.status_code == 201, opened.text
                case_ids.append(opened.json()["case_id"])
                await asyncio.sleep(1.0)
            await eventually(  # reminders are firing: the first case's reminder 1 arrived
                lambda: _mails(smtp, case_ids[0]), bool
            )

            assert await server.kill() == -signal.SIGKILL
            killed = time.monotonic()
            refused = invoice_payload(policy="demo")
            read = await operator.get(f"/v1/cases/{case_ids[-1]}")  # from the read model
            answers = [
                (await operator.get(f"/v1/cases/{case_ids[-1]}?consistency=live")).status_code,
                (await erp.post("/v1/invoices", json=refused)).status_code,
                (await operator.get("/healthz")).status_code,
            ]
            await asyncio.sleep(max(0.0, DOWN_S - (time.monotonic() - killed)))
            await server.start()  # same SQLite file, same port
            downtime = time.monotonic() - killed

            # An activity whose completion the dead server never got is retried once its
            # start-to-close timeout (60 s, CaseStart.activity_timeout_s) has passed: a
            # case may lag that long behind, never lose or repeat a step (seen in CI).
            states = [
                await wait_for_case(operator, case_id, has_done(*EXPECTED), within_s=150)
                for case_id in case_ids
            ]
            for case_id in case_ids:  # updates through the recovered API and worker
                paid = await erp.post(f"/v1/cases/{case_id}/payments", json=PAYMENT)
                assert paid.status_code == 200, paid.text
            states = [  # closed: the journal is final, so are the counts
                await wait_for_case(operator, case_id, closed, within_s=30) for case_id in case_ids
            ]
            query = f"TaskQueue = '{settings.task_queue}' AND WorkflowType = 'CollectionCase'"
            workflows = len([w async for w in client.list_workflows(query)])
            talks = f"TaskQueue = '{settings.task_queue}' AND WorkflowType = 'DebtorConversation'"
            conversations = len([w async for w in client.list_workflows(talks)])
        figures = await count_cases(engine, smtp.maildir, states)
        async with engine.connect() as conn:
            refused_rows = await conn.scalar(
                select(func.count())
                .select_from(cases)
                .where(cases.c.invoice_number == refused["invoice_number"])
            )
    finally:
        await server.stop()

    report(
        "temporal-killed",
        cases=len(states),
        workflows=workflows,
        conversations=conversations,
        actions=figures.actions,
        mails=figures.mails,
        facts=figures.facts,
        duplicates=figures.duplicates,
        lost_facts=figures.lost_facts,
        lost_actions=figures.lost_actions,
        answers_while_down=answers,
        downtime_s=f"{downtime:.1f}",
        wall_s=f"{time.monotonic() - began:.1f}",
    )
    assert all(code == 503 for code in answers), answers
    assert read.status_code == 200, "a case read needs neither Temporal nor a worker"
    assert read.json()["read"]["source"] == "read_model"
    assert workflows == CASES, "no case lost, none made by the refused intake"
    assert conversations == CASES, "one conversation per debtor (each test invoice its own)"
    assert refused_rows == 0, "the intake refused while Temporal was down left nothing"
    assert figures.duplicates == 0
    assert figures.lost_facts == 0
    assert figures.lost_actions == 0
    assert figures.broken_chains == 0
    for count in figures.cases:  # each email step: one ledger row, one message
        for step in ("reminder_1", "reminder_2"):
            assert count.mails_by_step[step] == 1, (count.case_id, count.mails_by_step)
            assert count.ledger[step] == "sent"
        assert count.outbox_steps["call"] == 1
    assert all(s.outcome is not None and s.outcome.value == "paid" for s in states)
