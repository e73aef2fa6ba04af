"""Replay time of a five-year case history beside a case that only opened, same run.

    .venv/bin/python benchmarks/replay_five_years.py [--replays 21] [--warm-up 3]

Records, once, on Temporal's time-skipping test server (services.toolchain.test_server())
with recouvre's real worker (services.worker.build_worker: every activity, writing to an
embedded PostgreSQL and sending through the Maildir SMTP server, all on 127.0.0.1), one
case that lives five years, driven by signals as the channels and the API send them:
reminders 1 and 2, a promise to pay that is broken, the phone task, a partial payment, a
payment plan for the whole balance kept for four instalments then missed, reminder 3 and
the formal notice that follow, a credit note, a second plan of 39 instalments paid one by
one over the years left, the last payment closing the case, and its receipt: about sixty
journal events. Then it times ``Replayer(workflows=[CollectionCaseWorkflow],
data_converter=pydantic_data_converter, workflow_runner=workflows.sandbox.
workflow_runner()).replay_workflow`` on that history (the median of ``--replays`` after
``--warm-up``), beside the same replay of a case that only opened (one journal event,
InvoiceRegistered, then terminated), recorded in the same run.

For the diagnosis it also prints: an empty workflow under the same sandbox, with no wake
and with as many wakes as the five-year case has workflow tasks (the SDK's own floor), and
what the five-year case costs above it; the time per history when many go through one
replay worker (as services/audit/replay.py does); both cases with the runner recouvre had
before (only the validators and the legal clock passed through, so workflows.case_reducer
and workflows.facts were imported again for every run), beside recouvre's runner; and the
five-year case without the sandbox (what the sandbox itself costs; not a runner recouvre
would use).
All replays are interleaved, one of each in turn, so that a busy machine slows them alike.
Prints PASS/MISS; exits 0 either way. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from support import EmptyWorkflow, Goals, embedded_postgres, leave, mailbox, scratch
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from legal import add_months, load_rate_table
from policies.catalog import resolve_policy
from schemas.case import CaseStart, CaseView, PaymentIn
from schemas.case_events import (
    ApprovalDecision,
    CaseEventEnvelope,
    CreditNote,
    Instalment,
    PaymentPlanAgreed,
    PromiseToPay,
)
from schemas.invoice import InvoiceIn
from services.config import Settings
from services.toolchain import test_server
from services.worker import build_worker
from storage.engine import make_engine
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import PASSTHROUGH, workflow_runner

GOAL_MS = 50.0
TENANT = "bench"
AMOUNT = Decimal("24000.00")
SECOND_PLAN = 39
"""Instalments of the second plan: with them the case journals about 60 events."""
BEFORE = ("email_validator", "idna", "stdnum", "dns", "holidays", "legal")
"""What recouvre's runner passed through before its workflow helpers were (a baseline)."""


# ---- recording the histories ---------------------------------------------------------


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class Timeline:
    """Drive one case through the time-skipping server's clock."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle[Any, CaseView]) -> None:
        self.env = env
        self.handle = handle
        self.paid = 0

    async def until(self, moment: datetime) -> None:
        now = await self.env.get_current_time()
        if moment > now:
            await self.env.sleep(moment - now)

    async def event(self, event: Any) -> None:
        await self.handle.signal("record_event", CaseEventEnvelope(event=event))

    async def pay(self, amount: Decimal, on: date) -> None:
        self.paid += 1
        payment = PaymentIn(amount=amount, paid_on=on, reference=f"VIR-{self.paid:03d}")
        await self.handle.signal("record_payment", payment)

    async def state(self) -> CaseView:
        view: CaseView = await self.handle.query("state", result_type=CaseView)
        return view


def _case_start(opened_at: datetime, due: date, amount: Decimal) -> CaseStart:
    invoice = InvoiceIn.model_validate(
        {
            "invoice_number": f"F-5Y-{uuid.uuid4().hex[:8]}",
            "issue_date": (due - timedelta(days=30)).isoformat(),
            "due_date": due.isoformat(),
            "currency": "EUR",
            "amount_due": str(amount),
            "debtor": {
                "kind": "business",
                "name": "Durand SARL",
                "siren": "732829320",
                "email": "compta@durand.example",
                "address": {
                    "line1": "12 rue de la Paix",
                    "postal_code": "75002",
                    "city": "Paris",
                    "country": "FR",
                },
            },
        }
    )
    settings = Settings()
    return CaseStart(
        case_id=f"case-{uuid.uuid4().hex[:12]}",
        tenant=TENANT,
        invoice=invoice,
        policy=resolve_policy(None, invoice.debtor.kind),
        opened_at=opened_at,
        rates=load_rate_table(),
        creditor_name=settings.creditor_name,
        creditor_address=settings.creditor_address,
        payment_instructions=settings.payment_instructions,
    )


def _split(total: Decimal, parts: int) -> list[Decimal]:
    each = (total / parts).quantize(Decimal("0.01"))
    return [each] * (parts - 1) + [total - each * (parts - 1)]


async def _five_years(
    env: WorkflowEnvironment, task_queue: str
) -> tuple[WorkflowHistory, CaseView]:
    """The five-year case, driven to its close; its history and final state."""
    opened_at = await env.get_current_time()
    due = _day(opened_at) + timedelta(days=1)
    start = _case_start(opened_at, due, AMOUNT)
    handle = await env.client.start_workflow(
        CollectionCaseWorkflow.run, start, id=f"wf-{start.case_id}", task_queue=task_queue
    )
    t = Timeline(env, handle)
    await t.until(_at(due + timedelta(days=10)))  # reminder 1 went out (due + 7)
    await t.event(PromiseToPay(promised_on=due + timedelta(days=20), by="ops"))
    await t.until(_at(due + timedelta(days=26)))  # promise broken (+ grace); reminder 2
    await t.pay(Decimal("2000.00"), due + timedelta(days=26))
    await t.until(_at(due + timedelta(days=30)))
    agreed = due + timedelta(days=30)
    first_plan = [  # the whole balance (22,000.00) over 22 months
        Instalment(due_on=add_months(agreed, k), amount=Decimal("1000.00")) for k in range(1, 23)
    ]
    await t.event(PaymentPlanAgreed(agreed_on=agreed, instalments=first_plan, by="ops"))
    for instalment in first_plan[:4]:  # four kept, the fifth missed
        await t.until(_at(instalment.due_on))
        await t.pay(instalment.amount, instalment.due_on)
    missed_on = first_plan[4].due_on
    # Missed: the timeline resumes (reminder 3, then the formal notice), a credit note
    # comes in, and a second plan is agreed for what is left.
    await t.until(_at(missed_on + timedelta(days=12)))
    if "formal_notice" in (await t.state()).pending_approvals:  # policy v3 asks first
        await t.event(ApprovalDecision(step="formal_notice", decision="approve", by="ops"))
        await t.until(_at(missed_on + timedelta(days=13)))
    credited_on = _day(await env.get_current_time())
    await t.event(CreditNote(amount=Decimal("500.00"), reference="AV-1", issued_on=credited_on))
    await t.until(_at(missed_on + timedelta(days=30)))
    balance = (await t.state()).balance
    agreed = _day(await env.get_current_time())
    last_day = _day(opened_at) + timedelta(days=5 * 365)
    parts = SECOND_PLAN
    step = (last_day - agreed) / parts
    second_plan = [
        Instalment(due_on=agreed + step * k, amount=amount)
        for k, amount in enumerate(_split(Decimal(balance), parts), start=1)
    ]
    await t.event(PaymentPlanAgreed(agreed_on=agreed, instalments=second_plan, by="ops"))
    for instalment in second_plan:
        await t.until(_at(instalment.due_on))
        await t.pay(instalment.amount, instalment.due_on)
    result: CaseView = await handle.result()
    return await handle.fetch_history(), result


async def _just_opened(env: WorkflowEnvironment, task_queue: str) -> WorkflowHistory:
    """A case that only opened: InvoiceRegistered recorded, then terminated."""
    opened_at = await env.get_current_time()
    start = _case_start(opened_at, _day(opened_at) + timedelta(days=60), Decimal("1200.00"))
    handle = await env.client.start_workflow(
        CollectionCaseWorkflow.run, start, id=f"wf-{start.case_id}", task_queue=task_queue
    )
    await env.sleep(timedelta(hours=1))
    view: CaseView = await handle.query("state", result_type=CaseView)
    assert [entry.type for entry in view.journal] == ["InvoiceRegistered"], view.journal
    await handle.terminate("benchmark: a case that only opened")
    return await handle.fetch_history()


async def _empty(client: Client, task_queue: str, wakes: int) -> WorkflowHistory:
    handle = await client.start_workflow(
        EmptyWorkflow.run, wakes, id=f"wf-empty-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )
    await handle.result()
    return await handle.fetch_history()


def _workflow_tasks(history: WorkflowHistory) -> int:
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events)


@dataclass
class Recorded:
    five_years: WorkflowHistory
    result: CaseView
    opened: WorkflowHistory
    empty: WorkflowHistory
    empty_wakes: WorkflowHistory


async def _record(folder: Path) -> Recorded:
    async with embedded_postgres(folder) as url, mailbox(folder) as smtp_port:
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(test_server()),
        )
        engine = make_engine(url)
        try:
            settings = Settings(
                DATABASE_URL=url,
                TEMPORAL_TASK_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=smtp_port,
            )
            worker = build_worker(env.client, settings, engine)
            empty_queue = f"bench-empty-{uuid.uuid4().hex[:8]}"
            empty_worker = Worker(
                env.client,
                task_queue=empty_queue,
                workflows=[EmptyWorkflow],
                workflow_runner=_empty_runner(),
            )
            async with worker, empty_worker:
                history, result = await _five_years(env, settings.task_queue)
                opened = await _just_opened(env, settings.task_queue)
                empty = await _empty(env.client, empty_queue, 0)
                wakes = await _empty(env.client, empty_queue, _workflow_tasks(history) - 1)
        finally:
            await engine.dispose()
            await env.shutdown()
    return Recorded(history, result, opened, empty, wakes)


def _empty_runner() -> SandboxedWorkflowRunner:
    """recouvre's sandbox, with the harness passed through (it is no workflow code)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            *PASSTHROUGH, EmptyWorkflow.__module__
        )
    )


# ---- timing the replays --------------------------------------------------------------


async def _medians(
    replays: dict[str, Callable[[], Awaitable[Any]]], replays_each: int, warm_up: int
) -> dict[str, tuple[float, list[float]]]:
    """The median and the times (ms) of each replay, run in turn: one of each per round."""
    for _ in range(warm_up):
        for replay in replays.values():
            await replay()
    times: dict[str, list[float]] = {name: [] for name in replays}
    for _ in range(replays_each):
        for name, replay in replays.items():
            started = time.perf_counter()
            await replay()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: (statistics.median(spent), spent) for name, spent in times.items()}


def _replayer(workflows: list[type], runner: WorkflowRunner) -> Replayer:
    return Replayer(
        workflows=workflows, data_converter=pydantic_data_converter, workflow_runner=runner
    )


async def _one(replayer: Replayer, history: WorkflowHistory) -> None:
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is not None:
        raise RuntimeError(f"{history.workflow_id} did not replay: {result.replay_failure}")


async def _through_one_worker(replayer: Replayer, history: WorkflowHistory, count: int) -> float:
    """ms per history when ``count`` copies go through one replay worker (audit replay)."""

    async def feed() -> AsyncIterator[WorkflowHistory]:
        for _ in range(count):
            yield history

    started = time.perf_counter()
    async with replayer.workflow_replay_iterator(feed()) as results:
        async for result in results:
            if result.replay_failure is not None:
                raise RuntimeError(f"did not replay: {result.replay_failure}")
    return (time.perf_counter() - started) * 1000 / count


def _spread(times: list[float]) -> str:
    return f"min {min(times):.1f}, max {max(times):.1f} ms over {len(times)}"


async def _measure(args: argparse.Namespace, goals: Goals, t0: float) -> None:
    with scratch("recouvre-bench-replay-") as folder:
        got = await _record(folder)
    history, result = got.five_years, got.result
    journal = result.journal_base + len(result.journal)
    years = ((result.closed_at or result.opened_at) - result.opened_at).days / 365.25
    types = [entry.type for entry in result.journal]
    started = history.events[0].workflow_execution_started_event_attributes
    print(
        f"recorded in {time.perf_counter() - t0:.1f} s: a {years:.1f}-year case"
        f" ({result.outcome.value if result.outcome else 'open'}), {journal} journal events;"
        f" {len(history.events)} history events, {_workflow_tasks(history)} workflow tasks,"
        f" {len(history.to_json()) / 1024:.0f} KiB"
        + ("; NOTE: a continued run" if started.continued_execution_run_id else ""),
        flush=True,
    )
    print("  journal: " + ", ".join(f"{t} {n}" for t, n in Counter(types).items()))

    product = _replayer([CollectionCaseWorkflow], workflow_runner())
    before = _replayer(
        [CollectionCaseWorkflow],
        SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*BEFORE)
        ),
    )
    bare = _replayer([CollectionCaseWorkflow], UnsandboxedWorkflowRunner())
    sdk = _replayer([EmptyWorkflow], _empty_runner())
    n, w = args.replays, args.warm_up
    measured = await _medians(
        {
            "five": lambda: _one(product, history),
            "base": lambda: _one(product, got.opened),
            "floor": lambda: _one(sdk, got.empty),
            "wakes": lambda: _one(sdk, got.empty_wakes),
            "five before": lambda: _one(before, history),
            "base before": lambda: _one(before, got.opened),
            "five bare": lambda: _one(bare, history),
        },
        n,
        w,
    )
    five, five_times = measured["five"]
    base, base_times = measured["base"]
    floor, floor_times = measured["floor"]
    wakes, wakes_times = measured["wakes"]
    batched = await _through_one_worker(product, history, n)

    tasks = _workflow_tasks(got.empty_wakes)
    print(f"replay_workflow, median of {n} after {w} warm-up (a new replay worker each):")
    print(f"  five-year case ({journal} events)      {five:7.1f} ms  ({_spread(five_times)})")
    print(f"  case that only opened (1 event)   {base:7.1f} ms  ({_spread(base_times)})")
    print(f"  empty workflow                    {floor:7.1f} ms  ({_spread(floor_times)})")
    print(
        f"  empty workflow, {tasks} timer wakes    {wakes:7.1f} ms  ({_spread(wakes_times)});"
        " the SDK's floor for as many workflow tasks as the five-year case"
    )
    print(
        f"  five-year case above that floor: {five - wakes:.1f} ms"
        f" ({(five - wakes) / max(tasks, 1):.2f} ms per workflow task; the floor"
        f" {wakes / max(tasks, 1):.2f} ms per task)"
    )
    print(
        f"  five-year case, {n} through one replay worker (as the audit does):"
        f" {batched:.1f} ms each"
    )
    print(
        "  recouvre's runner vs the runner before (only the validators and legal passed"
        " through: workflows.case_reducer and workflows.facts imported again per run):"
    )
    for label, now, was in (
        (f"five-year case ({journal} events)", five, measured["five before"][0]),
        ("case that only opened (1 event)", base, measured["base before"][0]),
    ):
        print(f"    {label:34s} {now:7.1f} ms vs {was:7.1f} ms = {now / was:.2f} x")
    bare_five = measured["five bare"][0]
    print(
        f"  five-year case without the sandbox (a diagnosis, not recouvre's runner):"
        f" {bare_five:.1f} ms vs recouvre's runner {five:.1f} ms = {bare_five / five:.2f} x"
    )
    goals.below(
        f"replay, {years:.1f} years, payment plans, {journal} events",
        five,
        "ms",
        GOAL_MS,
        baseline_label="a case that only opened",
        baseline=base,
        detail=f"median of {n}",
    )
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
    goals.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replays", type=int, default=21)
    parser.add_argument("--warm-up", type=int, default=3)
    args = parser.parse_args()
    t0 = time.perf_counter()
    goals = Goals()
    try:
        asyncio.run(_measure(args, goals, t0))
    except Exception as error:  # a benchmark reports; it does not fail the build
        print(f"replay_five_years: {type(error).__name__}: {error}", file=sys.stderr)
        goals.summary()
    leave(0)


if __name__ == "__main__":
    main()
