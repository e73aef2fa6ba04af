"""A worker process killed after the SMTP server accepted a reminder and before the
`deliveries` ledger recorded it: the one window exactly-once cannot close over SMTP.

The levers are outside the worker: recouvre's own SMTP server holds a command (DATA before
it stores the message, or QUIT), and a table lock makes the ledger's last UPDATE wait. The
real `recouvre worker` process gets SIGKILL at that point, and a second worker retries.

- ``accepted-before-commit``: the server accepted (250 to DATA), the ledger row is
  ``sending``: the retry sends again, with the same Message-ID, and marks the row
  ``resent`` (a possible duplicate a receiver drops by Message-ID). One extra copy, bounded.
- ``quit-after-commit``: the server accepted and the ledger says ``sent`` before QUIT
  (before this fix the ledger committed after QUIT, so this kill re-sent): nothing again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.email_activities import EmailActivities
from activities.email_request import EmailRequest
from policies.catalog import load_catalog
from schemas.case import CaseView
from services.embedded.mailbox_server import MaildirHandler
from storage.engine import make_engine
from storage.migrate import upgrade_to_head
from storage.tables import deliveries
from tests.faults.figures import count_case, report, settled
from tests.support.cases import CaseRig, case_worker, smtp_settings
from tests.support.processes import EmbeddedPostgres, eventually, start_worker_process
from tests.support.serving import free_port
from tests.support.smtp import Smtp

ATTEMPT_S = 3  # one attempt's time limit: how soon the dead worker's send is retried


class HoldingMaildir(MaildirHandler):
    """The Maildir server, holding the first session at one command until released."""

    def __init__(self, path: Path, hold: str) -> None:
        super().__init__(path)
        self.hold = hold
        self.reached = threading.Event()
        self.release = threading.Event()
        self.accepted: list[tuple[str, str]] = []  # (step, Message-ID) answered 250 at DATA

    async def _wait(self, command: str) -> None:
        if command == self.hold and not self.release.is_set():
            self.reached.set()
            await asyncio.to_thread(self.release.wait)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await self._wait("DATA")
        status = await super().handle_DATA(server, session, envelope)
        message = message_from_bytes(envelope.original_content or envelope.content)
        self.accepted.append((str(message["X-Recouvre-Step"]), str(message["Message-ID"])))
        return status

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        await self._wait("QUIT")
        return "221 Bye"


async def _waiting_on(engine: AsyncEngine, table: str) -> int:
    query = text(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(:t AS regclass)"
    )
    async with engine.connect() as conn:
        return int((await conn.execute(query, {"t": table})).scalar_one())


async def _ledger(engine: AsyncEngine, case_id: str) -> str | None:
    async with engine.connect() as conn:
        status: str | None = await conn.scalar(
            select(deliveries.c.status).where(
                deliveries.c.case_id == case_id, deliveries.c.step == "reminder_1"
            )
        )
    return status


def _email_request(case_id: str) -> EmailRequest:
    return EmailRequest(
        idempotency_key=f"{case_id}/reminder_1",
        case_id=case_id,
        tenant="acme",
        step="reminder_1",
        template="reminder_1@1",
        to="compta@durand.example",
        debtor_name="Durand SARL",
        debtor_kind="business",
        invoice_number="F-1",
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
        amount_due=Decimal("1200.00"),
        balance=Decimal("1200.00"),
        currency="EUR",
    )


async def _reached(handler: HoldingMaildir, worker: subprocess.Popen[bytes] | None = None) -> bool:
    if worker is not None and worker.poll() is not None:
        assert worker.stderr is not None
        output = worker.stderr.read().decode(errors="replace")[-3000:]
        raise AssertionError(f"the worker process exited ({worker.returncode}):\n{output}")
    return handler.reached.is_set()


@pytest.mark.parametrize("point", ["accepted-before-commit", "quit-after-commit"])
async def test_worker_killed_between_smtp_acceptance_and_the_ledger(
    database_url: str, engine: AsyncEngine, dev_env: WorkflowEnvironment, point: str
) -> None:
    began = time.monotonic()
    maildir = Path(tempfile.mkdtemp(prefix="recouvre-mail-window-"))
    handler = HoldingMaildir(maildir, "DATA" if point == "accepted-before-commit" else "QUIT")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    smtp = Smtp("127.0.0.1", controller.port, maildir)
    queue = f"window-{uuid.uuid4().hex[:8]}"
    target = dev_env.client.service_client.config.target_host
    sender = smtp_settings(smtp.host, smtp.port).sender  # the second worker's: one Message-ID
    doomed = start_worker_process(database_url, target, smtp, queue, SMTP_FROM=sender)
    lock = await engine.connect()
    try:
        rig = CaseRig(dev_env.client, queue)
        handle = await rig.start(
            datetime.now(UTC), policy=load_catalog()["demo"], activity_timeout_s=ATTEMPT_S
        )
        await eventually(lambda: _reached(handler, doomed), bool)  # reminder 1 at the server
        if point == "accepted-before-commit":
            status_at_data = await _ledger(engine, handle.id.removeprefix("wf-"))
            # The ledger's last UPDATE will wait: taken now, while no write is open.
            await lock.execute(text("SET LOCAL lock_timeout = '10s'"))
            await lock.execute(text("LOCK TABLE deliveries IN SHARE ROW EXCLUSIVE MODE"))
            handler.release.set()  # the server stores the message and answers 250
            await eventually(lambda: _waiting_on(engine, "deliveries"), lambda n: n > 0)
        else:
            status_at_data = "n/a"
        doomed.send_signal(signal.SIGKILL)  # accepted by SMTP, not (yet) in the ledger
        doomed.wait(timeout=10)
        handler.release.set()
        await lock.rollback()
        async with case_worker(
            dev_env.client, engine, smtp_settings(smtp.host, smtp.port), task_queue=queue
        ):
            case: CaseView = await eventually(
                lambda: handle.query("state", result_type=CaseView),
                lambda c: settled(c) and any(
                    a.step == "reminder_1" and a.status == "sent" for a in c.actions
                ),
                within_s=45,
            )  # fmt: skip
            await rig.close()
    finally:
        await lock.close()
        if doomed.poll() is None:
            doomed.kill()
        handler.release.set()  # never leave the server's thread waiting
        controller.stop()

    count = await count_case(engine, maildir, case)
    accepted = [message_id for step, message_id in handler.accepted if step == "reminder_1"]
    copies = count.mails_by_step["reminder_1"]
    ledger = await _ledger(engine, case.case_id)
    report(
        f"smtp-window[{point}]",
        cases=1,
        actions=count.actions_sent,
        smtp_accepted=len(accepted),
        copies_received=copies,
        distinct_message_ids=len(set(accepted)),
        extra_copies=copies - 1,
        duplicates_after_message_id_dedupe=len(set(accepted)) - 1,
        ledger_at_data=status_at_data,
        ledger=ledger,
        lost_facts=count.lost_facts,
        wall_s=f"{time.monotonic() - began:.1f}",
    )
    assert doomed.returncode == -signal.SIGKILL
    assert len(set(accepted)) == 1, "every copy carries the same Message-ID"
    assert copies == len(accepted), "the Maildir holds what the server accepted"
    assert count.lost_facts == 0
    if point == "accepted-before-commit":
        assert status_at_data == "sending", "marked before DATA, in its own transaction"
        assert copies == 2, "the window: one extra copy, no more"
        assert ledger == "resent", "the ledger says it may have gone twice"
    else:
        assert copies == 1, "committed before QUIT: a kill there sends nothing again"
        assert ledger == "sent"


async def test_database_lost_between_smtp_acceptance_and_the_ledger_sends_once() -> None:
    """PostgreSQL stops after the server accepted and before the ledger says ``sent``: the
    attempt, still alive, keeps trying to record it until the database is back, so its
    retry finds it sent instead of sending again."""
    began = time.monotonic()
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="recouvre-pg-window-")) / "data")
    engine = make_engine(pg.url)
    maildir = Path(tempfile.mkdtemp(prefix="recouvre-mail-window-"))
    handler = HoldingMaildir(maildir, "DATA")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        await upgrade_to_head(pg.url)
        email = EmailActivities(smtp_settings("127.0.0.1", controller.port), engine)
        env = ActivityEnvironment()
        env.info = dataclasses.replace(
            env.info, started_time=datetime.now(UTC), start_to_close_timeout=timedelta(seconds=30)
        )
        request = _email_request(f"case-{uuid.uuid4().hex[:8]}")
        sending = asyncio.create_task(env.run(email.send_email, request))
        await eventually(lambda: _reached(handler), bool)
        status_at_data = await _ledger(engine, request.case_id)
        await pg.stop()
        handler.release.set()  # accepted while the ledger cannot be written
        await asyncio.sleep(2.0)
        await pg.start()
        first = await sending
        retry = await ActivityEnvironment().run(email.send_email, request)
        ledger = await _ledger(engine, request.case_id)
    finally:
        handler.release.set()
        controller.stop()
        await engine.dispose()
        pg.close()

    copies = len(handler.accepted)
    report(
        "smtp-window[database-down]",
        cases=1,
        smtp_accepted=copies,
        duplicates=copies - 1,
        ledger_at_data=status_at_data,
        ledger=ledger,
        retry_was_duplicate=retry.duplicate,
        wall_s=f"{time.monotonic() - began:.1f}",
    )
    assert status_at_data == "sending"
    assert (first.duplicate, retry.duplicate) == (False, True)
    assert copies == 1, "recorded once the database came back: not sent again"
    assert ledger == "sent"
