"""The webhook dispatcher's process SIGKILLed in the middle of deliveries, then started
again: the ERP still gets every event, each case's in order, and a repeat only of what
was in flight at the kill (it got the POST, the kill came before the 2xx was recorded;
the same Recouvre-Event-Id comes again and the ERP drops it, as docs/erp-webhooks.md
tells it to).

A world of its own: an embedded PostgreSQL, the API (with no dispatcher of its own:
RECOUVRE_WEBHOOK_DISPATCH_S=0) and the worker in this process, and the outbox and the
dispatcher in a child process (tests/support/dispatcher_process.py), the only one that
sends; the session's API would otherwise claim the deliveries too. The receiver answers
every request late, so a pass's POSTs are in flight when the kill comes. A delivery
claimed by the dead process is leased (the timeout plus 30 s): the new process sends it
again once the lease runs out, and the case's later events wait behind it.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from outbound.erp_webhooks.dispatcher import RetryPolicy
from services.api.app import create_app
from services.worker import running_worker
from storage.engine import make_engine
from storage.migrate import upgrade_to_head
from storage.tables import webhook_attempts, webhook_deliveries
from tests.conftest import Smtp
from tests.erp_webhooks.test_deliveries import assert_signed, open_case, pay_in_full, subscribe
from tests.faults.api import api_client
from tests.faults.figures import report
from tests.support.dispatcher_process import start_dispatcher_process
from tests.support.processes import EmbeddedPostgres, eventually
from tests.support.service import make_settings
from tests.support.serving import serve
from tests.support.webhook_receiver import Receiver, running_receiver

CASES = 6
PAID_BEFORE_KILL = 3
"""Paid before the kill; the others while no dispatcher runs (their events are queued by
the restarted process's outbox)."""
PAID_EVENTS = ["case.opened", "payment.recorded", "stage.changed", "case.closed"]
POLICY = RetryPolicy(
    timeout_s=2.0, first_retry_s=0.3, max_retry_s=1.0, retry_period_s=300.0, private_targets=True
)
POLL_S = 0.1
LATE_S = 0.5


@dataclass(frozen=True)
class Ledger:
    """The deliveries table as the killed process left it."""

    delivered: int
    pending: int
    claimed_unrecorded: int
    """Claimed (leased, their attempt counted) with no attempt logged: in flight."""


async def _ledger(engine: AsyncEngine) -> Ledger:
    d, a = webhook_deliveries, webhook_attempts
    logged = (
        select(func.count())
        .select_from(a)
        .where(a.c.delivery_id == d.c.delivery_id)
        .scalar_subquery()
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(select(d.c.status, d.c.attempts, logged.label("n")))).all()
    return Ledger(
        delivered=sum(1 for r in rows if r.status == "delivered"),
        pending=sum(1 for r in rows if r.status == "pending"),
        claimed_unrecorded=sum(1 for r in rows if r.status == "pending" and r.attempts > r.n),
    )


async def _statuses(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        return Counter((await conn.execute(select(webhook_deliveries.c.status))).scalars())


async def _queued_order(engine: AsyncEngine) -> dict[str, list[str]]:
    """Each case's event ids in the order they were queued (delivery_id)."""
    d = webhook_deliveries
    query = select(d.c.case_id, d.c.event_id).order_by(d.c.delivery_id)
    order: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for row in await conn.execute(query):
            order.setdefault(row.case_id, []).append(str(row.event_id))
    return order


async def _in_flight(receiver: Receiver) -> int:
    return len(receiver.in_flight)


def _kill(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGKILL)
    return process.wait(timeout=10)


async def test_dispatcher_killed_mid_delivery_loses_nothing_and_repeats_only_in_flight(
    dev_env: WorkflowEnvironment, smtp: Smtp
) -> None:
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="recouvre-webhooks-killed-"))
    dispatcher_log = folder / "dispatcher.log"
    pg = EmbeddedPostgres(folder / "data")
    engine = make_engine(pg.url)
    dispatchers: list[subprocess.Popen[bytes]] = []
    try:
        await upgrade_to_head(pg.url)
        target = dev_env.client.service_client.config.target_host
        settings = make_settings(pg.url, target, smtp).model_copy(
            update={"webhook_dispatch_s": 0}  # only the child process sends
        )
        async with (
            running_receiver() as receiver,
            running_worker(dev_env.client, settings, engine, projector=False),
            serve(create_app(settings)) as base_url,
            api_client(base_url, "erp") as erp,
        ):
            receiver.script = ["late"] * 20
            receiver.late_s = LATE_S
            subscription = await subscribe(erp, receiver.url, description="ERP, killed sender")
            dispatchers.append(start_dispatcher_process(pg.url, POLICY, POLL_S, dispatcher_log))
            case_ids = [await open_case(erp) for _ in range(CASES)]
            for case_id in case_ids[:PAID_BEFORE_KILL]:
                await pay_in_full(erp, case_id)

            # Mid-deliveries: some recorded as delivered, then the next POSTs being
            # answered. No await between the last look and the kill: the receiver runs
            # in this loop, so those POSTs are still unanswered when the kill lands.
            await eventually(lambda: _ledger(engine), lambda ledger: ledger.delivered >= 3)
            in_flight_at_kill = await eventually(lambda: _in_flight(receiver), lambda n: n >= 2)
            accepted_at_kill = sum(r.accepted for r in receiver.received)
            status = _kill(dispatchers[0])
            killed_at = time.monotonic()
            at_kill = await _ledger(engine)

            for case_id in case_ids[PAID_BEFORE_KILL:]:  # while no dispatcher runs
                await pay_in_full(erp, case_id)
            await asyncio.sleep(LATE_S + 0.5)  # the cut POSTs' late 2xx reach the receiver
            dispatchers.append(start_dispatcher_process(pg.url, POLICY, POLL_S, dispatcher_log))

            expected = len(PAID_EVENTS) * CASES
            statuses = await eventually(
                lambda: _statuses(engine),
                lambda s: s["delivered"] == expected or s["abandoned"] > 0,
                within_s=POLICY.lease_s + 20,
            )
            recovered_s = time.monotonic() - killed_at
            await asyncio.sleep(1.0)  # time for a late repeat to show up
            queued = await _queued_order(engine)
            got = {case_id: receiver.accepted(case_id) for case_id in case_ids}
            for received in receiver.received:
                assert_signed(received, subscription["secret"])
    finally:
        for process in dispatchers:
            if process.poll() is None:
                _kill(process)
        await engine.dispose()
        pg.close()

    lost = 0
    out_of_order = 0
    duplicates = 0
    changed_repeats = 0  # a repeat whose body differs, or that reuses an attempt's number
    for case_id in case_ids:
        ids = [r.event_id for r in got[case_id]]
        types = [r.payload["type"] for r in got[case_id]]
        wanted = PAID_EVENTS  # every case is paid in full by the end
        types_missing = sum((Counter(wanted) - Counter(types)).values())
        never_accepted = len(set(queued.get(case_id, [])) - set(ids))
        lost += max(types_missing, never_accepted)
        duplicates += sum(n - 1 for n in Counter(ids).values())
        for event_id in {i for i in ids if ids.count(i) > 1}:  # a repeat is the same POST
            bodies = {r.body for r in got[case_id] if r.event_id == event_id}
            tries = [r.headers["recouvre-delivery"] for r in got[case_id] if r.event_id == event_id]
            changed_repeats += int(len(bodies) != 1 or len(set(tries)) != len(tries))
        rank = {event_id: i for i, event_id in enumerate(queued.get(case_id, []))}
        ranks = [rank.get(event_id, -1) for event_id in ids]
        out_of_order += sum(1 for a, b in itertools.pairwise(ranks) if b < a)
        first_seen = list(dict.fromkeys(types))
        out_of_order += int(first_seen != wanted)

    report(
        "webhook-dispatcher-killed",
        cases=CASES,
        events=expected,
        accepted=sum(len(g) for g in got.values()),
        requests=len(receiver.received),
        lost=lost,
        duplicates=duplicates,
        changed_repeats=changed_repeats,
        out_of_order=out_of_order,
        accepted_at_kill=accepted_at_kill,
        in_flight_at_kill=in_flight_at_kill,
        claimed_unrecorded_at_kill=at_kill.claimed_unrecorded,
        delivered_at_kill=at_kill.delivered,
        pending_at_kill=at_kill.pending,
        statuses=dict(statuses),
        recovered_s=f"{recovered_s:.1f}",
        wall_s=f"{time.monotonic() - began:.1f}",
    )
    assert status == -signal.SIGKILL
    assert at_kill.delivered > 0 and at_kill.claimed_unrecorded > 0, "killed mid-deliveries"
    all_delivered = statuses["delivered"] == expected and statuses["abandoned"] == 0
    assert all_delivered, (statuses, f"the dispatcher's log: {dispatcher_log}")
    assert lost == 0
    assert out_of_order == 0
    assert duplicates <= at_kill.claimed_unrecorded
    assert changed_repeats == 0
