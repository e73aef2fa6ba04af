"""A long case continues as new without losing or repeating anything: its follow-ups,
holds and payments travel in the carried record, the journal it carries stays short, and
every fact reaches the event store exactly once, across runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from eventstore.store import EventStore
from projections.case_view_store import load_case_view
from schemas.case import Outcome, PaymentIn
from schemas.case_events import DisputeOpened, DisputeResolved, PromiseToPay
from services.audit.history import fetch_runs
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.histories import write_history
from tests.workflows.timeline_support import at_8, days, send, sleep_until, state, today, working
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner

HOUR = timedelta(hours=1)


def _payment(amount: str, day: object, reference: str) -> PaymentIn:
    return PaymentIn.model_validate({"amount": amount, "paid_on": str(day), "reference": reference})


async def test_a_case_continues_as_new_mid_timeline_and_keeps_every_fact_once(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    due = await today(ts_env) + days(1)
    invoice = {"due_date": str(due), "issue_date": str(due - days(30))}
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        handle = await rig.start(
            await ts_env.get_current_time(), continue_as_new_after=60, **invoice
        )
        for n in range(1, 6):  # a burst of payments while runs roll over
            await handle.signal("record_payment", _payment("10.00", due, f"VIR-{n}"))
            await handle.signal("record_payment", _payment("10.00", due, f"VIR-{n}"))  # again
        await sleep_until(ts_env, at_8(working(due + days(7))) + HOUR)
        await send(handle, PromiseToPay(promised_on=due + days(12), by="alice"))
        await sleep_until(ts_env, at_8(working(due + days(20))) + HOUR)
        await send(handle, DisputeOpened(reason="livraison incomplète", by="bob"))
        for n in range(6, 12):
            await handle.signal("record_payment", _payment("5.00", due + days(20), f"VIR-{n}"))
        await send(handle, DisputeResolved(outcome="rejected", by="bob"))
        await sleep_until(ts_env, at_8(working(due + days(31))) + HOUR)
        middle = await state(handle)
        await handle.signal("record_payment", _payment(str(middle.balance), due, "VIR-final"))
        result = await handle.result()
        runs = await fetch_runs(ts_env.client, handle.id, timedelta(seconds=10))

    assert result.outcome is Outcome.paid
    assert [p.reference for p in result.payments] == [
        *(f"VIR-{n}" for n in range(1, 12)),
        "VIR-final",
    ], "each payment once, none lost, in order"
    assert result.paid_total == Decimal("1200.00")
    assert len(runs) >= 3, f"the case continued as new ({len(runs)} runs)"
    assert result.journal_base > 0, "continue-as-new carried only the recent journal"
    assert len(result.journal) < result.facts_journaled
    store = EventStore(engine)
    stream = await store.read_stream(result.case_id)
    assert (await store.verify_stream(result.case_id)).ok
    assert len(stream) == result.facts_journaled == result.events_appended, "stream complete"
    assert len({e.event_id for e in stream}) == len(stream)
    assert [e.event.event_type for e in stream].count("PaymentRecorded") == 12
    assert all(len(history.events) < 200 for _, history in runs), "each run stays bounded"
    async with engine.connect() as conn:
        published = await load_case_view(conn, result.tenant, result.case_id)
    assert published is not None, "the case published its view to the read model"
    kept = published.view
    assert kept.journal_base == 0 and len(kept.journal) == result.position == published.position
    assert kept.journal[result.journal_base :] == result.journal, "the whole journal, in order"
    assert kept.facts_journaled == result.facts_journaled == len(stream)
    assert (kept.stage, kept.outcome, kept.balance) == (result.stage, result.outcome, 0)

    replayer = Replayer(
        workflows=[CollectionCaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    for run_id, history in runs:
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, f"run {run_id}: {replayed.replay_failure}"
    for index, (_, history) in enumerate(runs[:2], start=1):
        write_history(history, f"collection_case_v5_continued_run{index}")
