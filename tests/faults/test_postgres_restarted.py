"""The embedded PostgreSQL stopped mid-timeline and started again on the same data folder:
the worker (and its projector) and the API, never restarted, carry on. While it is down
the API answers 503, never 500, even to a request whose statement the shutdown cut;
afterwards no fact is lost and nothing was sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from services.api.app import create_app
from services.worker import running_worker
from storage.engine import make_engine
from storage.migrate import upgrade_to_head
from storage.tables import case_list
from tests.conftest import Smtp
from tests.faults.api import api_client, closed, has_done, wait_for_case
from tests.faults.figures import count_cases, report
from tests.support.invoices import invoice_payload
from tests.support.mailbox import messages_for_case
from tests.support.processes import EmbeddedPostgres, eventually
from tests.support.service import make_settings
from tests.support.serving import serve

CASES = 4
EXPECTED = ("reminder_1", "reminder_2", "call")  # demo policy: at 5, 10 and 15 s
DOWN_S = 5.0
PAYMENT = {"amount": "1200.00", "paid_on": "2026-11-02", "reference": "VIR-PG"}


async def _mails(smtp: Smtp, case_id: str) -> int:
    return len(messages_for_case(smtp.maildir, case_id))


async def _waiting(engine: AsyncEngine) -> set[str]:
    """Tables some session is waiting to lock."""
    query = text("SELECT DISTINCT relation::regclass::text FROM pg_locks WHERE NOT granted")
    async with engine.connect() as conn:
        return {str(name) for name in (await conn.execute(query)).scalars() if name}


async def test_postgres_stopped_mid_timeline_worker_and_api_recover(
    dev_env: WorkflowEnvironment, smtp: Smtp
) -> None:
    began = time.monotonic()
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="recouvre-pg-fault-")) / "data")
    engine = make_engine(pg.url)
    try:
        await upgrade_to_head(pg.url)
        target = dev_env.client.service_client.config.target_host
        settings = make_settings(pg.url, target, smtp)
        async with (
            running_worker(dev_env.client, settings, engine, projector=True),
            serve(create_app(settings)) as base_url,
            api_client(base_url, "erp") as erp,
            api_client(base_url, "operator") as operator,
        ):
            case_ids = []
            for _ in range(CASES):  # a second apart: the stop finds them at different steps
                opened = await erp.post("/v1/invoices", json=invoice_payload(policy="demo"))
                assert opened.status_code == 201, opened.text
                case_ids.append(opened.json()["case_id"])
                await asyncio.sleep(1.0)
            await eventually(lambda: _mails(smtp, case_ids[0]), bool)  # reminders firing

            # Statements in flight when it stops, cut by the shutdown: an intake's INSERT
            # and the projector's writes (their tables locked; table locks take no
            # transaction id, so the event store's snapshot is not held back).
            lock = await engine.connect()
            await lock.execute(text("SET LOCAL lock_timeout = '10s'"))
            await lock.execute(text("LOCK TABLE cases, case_list IN EXCLUSIVE MODE"))
            held = asyncio.create_task(erp.post("/v1/invoices", json=invoice_payload()))
            await eventually(lambda: _waiting(engine), lambda n: n >= {"cases", "case_list"})
            await pg.stop()
            stopped = time.monotonic()
            with contextlib.suppress(Exception):
                await lock.close()
            answers = [(await held).status_code]
            last = f"/v1/cases/{case_ids[-1]}"
            while time.monotonic() - stopped < DOWN_S:  # reads, intake, updates, health
                answers += [
                    (await operator.get(last)).status_code,
                    (await erp.post("/v1/invoices", json=invoice_payload())).status_code,
                    (await erp.post(f"{last}/payments", json=PAYMENT)).status_code,
                    (await operator.get("/healthz")).status_code,
                ]
                await asyncio.sleep(0.5)
            await pg.start()  # same data folder, same socket
            downtime = time.monotonic() - stopped

            for case_id in case_ids:
                await wait_for_case(operator, case_id, has_done(*EXPECTED))
            for case_id in case_ids:  # updates through the recovered API and worker
                paid = await erp.post(f"/v1/cases/{case_id}/payments", json=PAYMENT)
                assert paid.status_code == 200, paid.text
            states = [  # closed: the journal is final, so are the counts
                await wait_for_case(operator, case_id, closed, within_s=30) for case_id in case_ids
            ]

            async def projected() -> int:  # the projector came back too
                async with engine.connect() as conn:
                    query = (
                        select(func.count())
                        .select_from(case_list)
                        .where(case_list.c.case_id.in_(case_ids), case_list.c.outcome == "paid")
                    )
                    return int(await conn.scalar(query) or 0)

            listed = await eventually(projected, lambda n: n == CASES, within_s=20)
        figures = await count_cases(engine, smtp.maildir, states)
    finally:
        await engine.dispose()
        pg.close()

    report(
        "postgres-restarted",
        cases=len(states),
        actions=figures.actions,
        mails=figures.mails,
        facts=figures.facts,
        duplicates=figures.duplicates,
        lost_facts=figures.lost_facts,
        lost_actions=figures.lost_actions,
        requests_while_down=len(answers),
        statuses_while_down=sorted(set(answers)),
        projected=listed,
        downtime_s=f"{downtime:.1f}",
        wall_s=f"{time.monotonic() - began:.1f}",
    )
    assert set(answers) == {503}, answers
    assert len(states) == CASES, "no case lost"
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
