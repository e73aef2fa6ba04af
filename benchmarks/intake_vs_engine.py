"""Intake through recouvre's API beside raw `start_workflow` on the same Temporal, same run.

    .venv/bin/python benchmarks/intake_vs_engine.py [--invoices 60] [--rounds 4]
        [--concurrency 20] [--open 10000] [--open-round 100] [--budget 82] [--open-budget 60]
        [--drain]

Starts the stack of benchmarks/support.py (embedded PostgreSQL, the Temporal dev server
on a SQLite file, the SMTP server, and `recouvre worker`, `recouvre projector` and
`recouvre api` as processes of their own, as `recouvre run` lays them out, all on
127.0.0.1); this process only drives the load (a Temporal client, and a lean HTTP client
so that the load generator takes little of the CPU the service needs) and measures:

1. intake: `POST /v1/invoices` through the real API (row in PostgreSQL and workflow start
   in one transaction) beside the engine alone: `client.start_workflow` of the same
   `CaseStart` the API builds, from this process, on the same dev server and task queue,
   at the same concurrency. Rounds alternate which goes first, after an unmeasured one.
   Invoices are 20 days overdue, as an ERP loading its backlog sends them, so every case
   sends its first reminder at once: the worker is busy with the cases the rounds create,
   in both halves alike.
2. case reads: `GET /v1/cases/{id}` as an operator on random cases already open, while one
   more intake round saturates the worker (and just after, for up to 6 s, to reach 200
   reads); the same reads on the idle stack are printed for reference.
3. intake with many open cases: one intake round on the nearly empty stack (before
   step 1) and one at the end, once ``--open`` more cases are open (their rows inserted
   as the API writes them, their workflows started raw, due in a year, so that once the
   worker has run their first task they sleep; every case the run created stays open and
   counts too); a raw start_workflow round follows each, to tell the engine's share. In
   these rounds the worker and the projector are held still (SIGSTOP), so that they run
   alike: a busy worker's load varies from one moment to the next, and
   draining it would take most of the budget. When ``--open`` does not fit in what is
   left of ``--budget`` (seconds for the whole script; at most ``--open-budget`` for
   opening), as many as could be started in that time are used, and the number printed;
   most of them are still waiting for their first workflow task then (the worker has not
   caught up), unless ``--drain`` (for long runs) lets it register them all first.

CPU seconds per process (and the machine's other processes) are printed per case, so a
figure can be read against what the 2 cores were doing. Then PASS/MISS per goal; exits 0
either way. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from support import (
    TENANT,
    Goals,
    Stack,
    cpu_delta,
    leave,
    machine_busy,
    percentile,
    scratch,
    stack,
)
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from legal import load_rate_table
from policies.catalog import resolve_policy
from schemas.case import CaseStart
from schemas.invoice import InvoiceIn
from services.api.case_ids import case_id_for, workflow_id_for
from services.config import Settings
from storage.tables import cases, events
from workflows.collection_case import CollectionCaseWorkflow

READERS = 4
"""Concurrent operators reading cases (goal 2)."""
MIN_READS = 200
INTAKE_GOAL = 0.8
READ_P99_GOAL_MS = 15.0
OPEN_GOAL = 0.9
READS_AFTER_S = 6.0
"""How long reads go on after the load, at most, to reach MIN_READS."""
WARM_UP = 20
OPEN_BATCH = 250
OPEN_CONCURRENCY = 50
STOP_RESERVE_S = 5.0
"""Seconds kept at the end of the budget for stopping the processes."""


@dataclass
class Batch:
    """One round: how many, how long, each call's latency, the failures."""

    count: int
    seconds: float
    latencies: list[float]
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return (self.count - len(self.failures)) / self.seconds


def _payload(run: str, n: int, due: date) -> dict[str, Any]:
    return {
        "invoice_number": f"F-{run}-{n:05d}",
        "issue_date": (due - timedelta(days=30)).isoformat(),
        "due_date": due.isoformat(),
        "currency": "EUR",
        "amount_due": f"{1200 + n % 500}.00",
        "debtor": {
            "kind": "business",
            "name": f"Durand {n % 97} SARL",
            "siren": "732829320",
            "email": f"compta{n % 97}@durand.example",
            "address": {
                "line1": "12 rue de la Paix",
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
        },
    }


class Starts:
    """The `CaseStart` the API would build for an invoice (services/api/intake.py)."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.rates = load_rate_table()

    def case_start(self, invoice: InvoiceIn) -> CaseStart:
        return CaseStart(
            case_id=case_id_for(TENANT, invoice.invoice_number),
            tenant=TENANT,
            invoice=invoice,
            policy=resolve_policy(invoice.policy, invoice.debtor.kind),
            opened_at=datetime.now(UTC),
            rates=self.rates,
            creditor_name=self.settings.creditor_name,
            creditor_address=self.settings.creditor_address,
            payment_instructions=self.settings.payment_instructions,
        )


async def _pool(
    items: list[Any], concurrency: int, call: Callable[[Any, int], Awaitable[None]]
) -> Batch:
    """Run ``call(item, lane)`` on every item, ``concurrency`` lanes at a time; latencies
    and failures."""
    queue = list(reversed(items))
    latencies: list[float] = []
    failures: list[str] = []

    async def lane(number: int) -> None:
        while queue:
            item = queue.pop()
            started = time.perf_counter()
            try:
                await call(item, number)
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}"[:300])
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(lane(n) for n in range(concurrency)))
    return Batch(len(items), time.perf_counter() - started, latencies, failures)


class Bench:
    def __init__(self, s: Stack, args: argparse.Namespace) -> None:
        self.s = s
        self.args = args
        self.starts = Starts()
        self.erp = s.http("erp")
        self.operator = s.http("operator")
        self.engine = s.engine()
        self.case_ids: list[str] = []  # cases registered through the API
        self.started = 0  # workflows started, either way
        self.run = 0

    async def close(self) -> None:
        await self.erp.close()
        await self.operator.close()
        await self.engine.dispose()

    def _payloads(self, count: int, due: date) -> list[dict[str, Any]]:
        self.run += 1
        run = f"{self.run:03d}{random.randrange(16**6):06x}"
        return [_payload(run, n, due) for n in range(count)]

    async def intake(self, count: int) -> Batch:
        due = date.today() - timedelta(days=20)
        bodies = [json.dumps(p).encode() for p in self._payloads(count, due)]

        async def post(body: bytes, lane: int) -> None:
            status, answer = await self.erp.request(lane, "POST", "/v1/invoices", body)
            if status != 201:
                raise RuntimeError(f"{status} {answer[:200].decode(errors='replace')}")
            self.case_ids.append(json.loads(answer)["case_id"])

        batch = await _pool(bodies, self.args.concurrency, post)
        self.started += batch.count - len(batch.failures)
        return batch

    async def raw(self, count: int, due: date | None = None, concurrency: int = 0) -> Batch:
        """The engine alone: start_workflow with the CaseStart the API would send (built
        before the clock starts: the baseline is Temporal's durable start, nothing else)."""
        when = due or date.today() - timedelta(days=20)
        invoices = [InvoiceIn.model_validate(p) for p in self._payloads(count, when)]
        starts = [self.starts.case_start(invoice) for invoice in invoices]

        batch = await _pool(starts, concurrency or self.args.concurrency, self._start)
        self.started += batch.count - len(batch.failures)
        return batch

    async def read(self, case_id: str, lane: int) -> None:
        status, answer = await self.operator.request(lane, "GET", f"/v1/cases/{case_id}")
        if status != 200:
            raise RuntimeError(f"{status} {answer[:200].decode(errors='replace')}")

    async def read_loop(
        self, busy: asyncio.Future[Any] | None, at_least: int, readers: int = READERS
    ) -> tuple[Batch, int]:
        """``readers`` operators read random cases (registered through the API) while
        ``busy`` runs, then on until ``at_least`` reads are in (for READS_AFTER_S at most);
        the reads, and how many of them were answered while ``busy`` still ran."""
        latencies: list[float] = []
        failures: list[str] = []
        during = 0
        ids = list(self.case_ids)
        deadline: list[float] = []

        def more() -> bool:
            if busy is not None and not busy.done():
                return True
            if not deadline:
                deadline.append(time.perf_counter() + READS_AFTER_S)
            return len(latencies) < at_least and time.perf_counter() < deadline[0]

        async def reader(lane: int) -> None:
            nonlocal during
            while more():
                started = time.perf_counter()
                try:
                    await self.read(random.choice(ids), lane)
                except Exception as error:
                    failures.append(f"{type(error).__name__}: {error}"[:300])
                latencies.append(time.perf_counter() - started)
                during += busy is not None and not busy.done()

        started = time.perf_counter()
        await asyncio.gather(*(reader(n) for n in range(readers)))
        return Batch(len(latencies), time.perf_counter() - started, latencies, failures), during

    async def backlog(self) -> int:
        """Tasks waiting on the case task queue (workflow + activity), as Temporal counts."""
        total = 0
        for kind in (
            TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        ):
            answer = await self.s.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.s.client.namespace,
                    task_queue=TaskQueue(name=self.s.task_queue),
                    task_queue_type=kind,
                    report_stats=True,
                )
            )
            total += answer.stats.approximate_backlog_count
        return total

    async def registered(self) -> int:
        """Cases whose InvoiceRegistered reached the event store (their first task ran)."""
        async with self.engine.connect() as conn:
            query = select(func.count()).where(events.c.event_type == "InvoiceRegistered")
            return int((await conn.execute(query)).scalar_one())

    async def quiet(self, within_s: float, *, drained: bool = True) -> tuple[float, bool]:
        """Wait until the stack has gone idle (its processes used under a quarter of a core
        over the last half second: first reminders out, projector caught up, the engine
        done with what it was handed) and, if ``drained``, every case started so far has
        registered and nothing is queued: the seconds it took. Past ``within_s``, says
        what is left and goes on (False)."""
        started = time.perf_counter()

        def ours() -> float:
            return sum(v for k, v in self.s.cpu().items() if not k.startswith("bench"))

        before, at = ours(), time.perf_counter()
        while True:
            await asyncio.sleep(0.5)
            self.s.check()
            used, now = ours(), time.perf_counter()
            idle = (used - before) / (now - at) < 0.25
            before, at = used, now
            if idle and (
                not drained
                or (await self.backlog() == 0 and await self.registered() >= self.started)
            ):
                return time.perf_counter() - started, True
            if time.perf_counter() - started > within_s:
                print(
                    f"  (stack not idle after {within_s:.0f} s: {await self.registered()}/"
                    f"{self.started} cases registered, {await self.backlog()} tasks queued;"
                    " going on)",
                    flush=True,
                )
                return time.perf_counter() - started, False

    async def open_cases(self, wanted: int, budget_s: float) -> tuple[int, float]:
        """``wanted`` more open cases, as cheaply as real ones come: the API's rows inserted
        in bulk, the workflows started raw (due in a year: once the worker has run their
        first task they sleep), OPEN_BATCH at a time while ``budget_s`` lasts. Returns
        (cases opened, seconds)."""
        due = date.today() + timedelta(days=365)
        opened = 0
        started = time.perf_counter()
        per_batch = 0.0
        while opened < wanted:
            left = budget_s - (time.perf_counter() - started)
            if left < per_batch:
                break
            size = min(OPEN_BATCH, wanted - opened)
            began = time.perf_counter()
            invoices = [InvoiceIn.model_validate(b) for b in self._payloads(size, due)]
            async with self.engine.begin() as conn:
                await conn.execute(insert(cases), [_case_row(i) for i in invoices])
            starts = [self.starts.case_start(i) for i in invoices]
            batch = await _pool(starts, OPEN_CONCURRENCY, self._start)
            if batch.failures:
                raise RuntimeError(f"bulk start: {batch.failures[0]}")
            opened += size
            self.started += size
            self.s.check()
            per_batch = max(per_batch, time.perf_counter() - began)
        return opened, time.perf_counter() - started

    async def _start(self, case: CaseStart, _lane: int = 0) -> None:
        await self.s.client.start_workflow(
            CollectionCaseWorkflow.run,
            case,
            id=workflow_id_for(TENANT, case.invoice.invoice_number),
            task_queue=self.s.task_queue,
        )


def _case_row(invoice: InvoiceIn) -> dict[str, Any]:
    """The `cases` row POST /v1/invoices writes (services/api/intake.py)."""
    policy = resolve_policy(invoice.policy, invoice.debtor.kind)
    return {
        "case_id": case_id_for(TENANT, invoice.invoice_number),
        "tenant": TENANT,
        "invoice_number": invoice.invoice_number,
        "workflow_id": workflow_id_for(TENANT, invoice.invoice_number),
        "content_hash": invoice.content_hash(),
        "policy_id": policy.id,
        "policy_version": policy.version,
        "invoice": invoice.model_dump(mode="json"),
    }


def _line(label: str, batches: list[Batch]) -> str:
    rates = " ".join(f"{b.rate:.1f}" for b in batches)
    lat = [x for b in batches for x in b.latencies]
    fails = sum(len(b.failures) for b in batches)
    return (
        f"  {label:34} {statistics.median(b.rate for b in batches):6.1f}/s  rounds [{rates}]"
        f"  p50 {percentile(lat, 50) * 1000:.0f} ms  p99 {percentile(lat, 99) * 1000:.0f} ms"
        f"  failures {fails}"
    )


def _read_line(label: str, reads: Batch) -> str:
    ms = [x * 1000 for x in reads.latencies]
    return (
        f"  {label:28} {reads.count:4} reads: p50 {percentile(ms, 50):7.1f} ms"
        f"  p99 {percentile(ms, 99):7.1f} ms  max {max(ms):7.1f} ms  failures {len(reads.failures)}"
    )


@dataclass
class Cpu:
    """CPU seconds per part of the stack (and the machine's other processes), summed over
    the rounds of one kind."""

    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    cases: int = 0

    def add(self, used: dict[str, float], wall: float, cases: int) -> None:
        for name, value in used.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + value
        self.wall += wall
        self.cases += cases


def _usage(bench: Bench) -> dict[str, float]:
    return {**bench.s.cpu(), "machine": machine_busy()}


def _split(used: dict[str, float]) -> dict[str, float]:
    """The machine's busy time less ours: what the other processes on the host used."""
    ours = {name: value for name, value in used.items() if name != "machine"}
    return {**ours, "other procs": max(0.0, used["machine"] - sum(ours.values()))}


async def _timed(bench: Bench, cpu: Cpu, round_: Awaitable[Batch]) -> Batch:
    before = _usage(bench)
    batch = await round_
    cpu.add(_split(cpu_delta(before, _usage(bench))), batch.seconds, batch.count)
    bench.s.check()
    return batch


def _cpu_table(title: str, kinds: dict[str, Cpu]) -> None:
    """CPU ms per case by process, and how busy the machine's cores were."""
    cores = os.cpu_count() or 1
    names = list(next(iter(kinds.values())).seconds)
    print(f"  {title} ({cores} cores; 'busy': all processes, over the wall time):")
    print("  " + f"{'':22}" + "".join(f"{n[:11]:>12}" for n in [*names, "busy"]))
    for kind, cpu in kinds.items():
        per = [cpu.seconds[n] * 1000 / max(cpu.cases, 1) for n in names]
        busy = sum(cpu.seconds.values()) / max(cpu.wall, 1e-9) / cores
        print(f"  {kind:22}" + "".join(f"{v:12.1f}" for v in per) + f"{busy * 100:11.0f}%")


async def _measure(args: argparse.Namespace, goals: Goals, t0: float) -> None:
    with scratch("recouvre-bench-intake-") as folder:
        async with stack(folder, workers=args.workers) as s:
            workers = sum(child.name.startswith("worker") for child in s.children)
            print(
                f"stack up in {time.perf_counter() - t0:.1f} s: Temporal dev server"
                f" {s.temporal_target} (SQLite file, as `make run`), {workers} worker"
                f" process(es), projector and API {s.api_url} apart, embedded PostgreSQL",
                flush=True,
            )
            bench = Bench(s, args)
            try:
                await _run(bench, args, goals, t0)
            finally:
                await bench.close()


async def _run(bench: Bench, args: argparse.Namespace, goals: Goals, t0: float) -> None:
    count, rounds, c = args.invoices, args.rounds, args.concurrency
    # Warm: connections, pools, statement caches, the worker's sandbox imports.
    await bench.raw(WARM_UP)
    warm = await bench.intake(WARM_UP)
    if warm.failures:
        raise RuntimeError(f"warm-up intake failed: {warm.failures[0]}")
    await bench.quiet(30)
    before = _usage(bench)
    idle_reads, _ = await bench.read_loop(None, 100)
    read_cpu = _split(cpu_delta(before, _usage(bench)))
    one_reader, _ = await bench.read_loop(None, 30, readers=1)

    # 3a. intake on the (nearly) empty stack, the worker and projector held still (so
    # that the first and the last round of goal 3 run alike: a busy worker's load varies).
    # A raw round too, so that the engine's own share of any change shows.
    empty_open = bench.started
    still = {"intake, few open": Cpu(), "raw, few open": Cpu()}
    with bench.s.paused("worker", "projector"):
        empty = await _timed(bench, still["intake, few open"], bench.intake(args.open_round))
        empty_raw = await _timed(bench, still["raw, few open"], bench.raw(args.open_round))
    # Then what the worker costs per case: it drains those, from their start on.
    lifecycle, before, at = Cpu(), _usage(bench), time.perf_counter()
    _, idle = await bench.quiet(40)
    if idle:
        used = _split(cpu_delta(before, _usage(bench)))
        lifecycle.add(used, time.perf_counter() - at, 2 * args.open_round)

    # 1. intake vs the engine alone, alternating, the worker busy with what they create.
    kinds = {"raw start_workflow": Cpu(), "POST /v1/invoices": Cpu()}
    await bench.raw(count)  # not measured: the first measured round finds the worker busy
    raws: list[Batch] = []
    intakes: list[Batch] = []
    phase = time.perf_counter()
    for n in range(rounds):
        pair = [("raw start_workflow", bench.raw), ("POST /v1/invoices", bench.intake)]
        for kind, run in pair if n % 2 == 0 else reversed(pair):
            batch = await _timed(bench, kinds[kind], run(count))
            (raws if kind.startswith("raw") else intakes).append(batch)
    phase1 = time.perf_counter() - phase
    print(f"\n1. {rounds} rounds x {count} starts each way, concurrency {c} ({phase1:.1f} s)")
    print(_line("raw start_workflow (engine alone)", raws))
    print(_line("POST /v1/invoices (intake)", intakes))
    _cpu_table("CPU ms per case started during the rounds, by process", kinds)

    # 2. reads while one more intake round saturates the worker.
    load = asyncio.ensure_future(bench.intake(count))
    reads, during = await bench.read_loop(load, MIN_READS)
    loaded = await load
    print(f"\n2. GET /v1/cases/{{id}} as operator, {READERS} readers, random cases")
    print(_read_line("idle stack, one reader", one_reader))
    print(_read_line("idle stack (reference)", idle_reads))
    print(_read_line("under intake", reads))
    print(
        "  CPU ms per idle read: "
        + ", ".join(
            f"{name} {value * 1000 / max(idle_reads.count, 1):.1f}"
            for name, value in read_cpu.items()
        )
    )
    print(
        f"  {during} reads were answered while the intake round ran ({loaded.rate:.1f}/s),"
        " the rest just after"
    )
    if reads.failures:
        print(f"  first failure: {reads.failures[0][:240]}")

    # 3b. intake again once many more cases are open.
    left = args.budget - (time.perf_counter() - t0) - STOP_RESERVE_S - 8
    budget = min(args.open_budget, left)
    opened, opening = await bench.open_cases(args.open, budget) if budget >= 5 else (0, 0.0)
    if args.drain:  # every case registered and asleep before the last round (long runs)
        left = args.budget - (time.perf_counter() - t0) - STOP_RESERVE_S - 8
        drain, _ = await bench.quiet(max(left, 5.0))
        print(f"\n  (--drain: the worker took {drain:.1f} s more to register them all)")
    full_open = bench.started
    sleeping = await bench.registered()
    still[f"intake, {full_open} open"] = Cpu()
    still[f"raw, {full_open} open"] = Cpu()
    with bench.s.paused("worker", "projector"):
        settle, _ = await bench.quiet(8, drained=False)  # the engine done with the starts
        full = await _timed(
            bench, still[f"intake, {full_open} open"], bench.intake(args.open_round)
        )
        full_raw = await _timed(bench, still[f"raw, {full_open} open"], bench.raw(args.open_round))
    print(
        f"\n3. opened {opened} more cases in {opening:.1f} s (rows inserted, raw starts at"
        f" concurrency {OPEN_CONCURRENCY}, due in a year): {full_open} cases open in all,"
        f" {sleeping} of them registered by the worker (asleep or reminded),"
        f" {full_open - sleeping} still waiting for their first workflow task"
    )
    if opened < args.open:
        print(
            f"  NOTE: {args.open} did not fit: {max(budget, 0):.0f} s of the {args.budget:.0f} s"
            f" budget were left for opening cases, and {opened} is as many as could be started"
            " in that time here (--budget/--open-budget for a longer run)"
        )
    print(
        f"  intake rounds of {args.open_round} with the worker and the projector held still"
        f" (SIGSTOP), so that both run alike (the second once the engine had settled,"
        f" {settle:.1f} s):"
    )
    print(_line(f"POST /v1/invoices, {empty_open} open", [empty]))
    print(_line(f"POST /v1/invoices, {full_open} open", [full]))
    print(_line(f"raw start_workflow, {empty_open + args.open_round} open", [empty_raw]))
    print(_line(f"raw start_workflow, {full_open + args.open_round} open", [full_raw]))
    _cpu_table("CPU ms per case started, worker and projector held still", still)
    if lifecycle.cases:
        print()
        _cpu_table(
            "CPU ms per case while the worker takes it through its first steps (first task,"
            " reminder e-mail, events, projection), measured on the first round's cases",
            {f"{lifecycle.cases} cases": lifecycle},
        )

    print()
    intake_rate = statistics.median(b.rate for b in intakes)
    raw_rate = statistics.median(b.rate for b in raws)
    ratios = [i.rate / r.rate for i, r in zip(intakes, raws, strict=True)]
    goals.ratio(
        "intake",
        intake_rate,
        "inv/s",
        "raw start_workflow",
        raw_rate,
        INTAKE_GOAL,
        note=f"concurrency {c}, medians of {rounds} rounds of {count};"
        f" round ratios {' '.join(f'{r:.2f}' for r in ratios)}",
    )
    ms = [x * 1000 for x in reads.latencies]
    fails = len(reads.failures)
    goals.below(
        "case read p99 under intake",
        percentile(ms, 99),
        "ms",
        READ_P99_GOAL_MS,
        baseline_label="idle",
        baseline=percentile([x * 1000 for x in idle_reads.latencies], 99),
        detail=f"p50 {percentile(ms, 50):.1f} ms, {reads.count} reads, {fails} failures (goal: 0)",
        ok=fails == 0,
        inclusive=True,
    )
    goals.ratio(
        f"intake with {full_open} open cases",
        full.rate,
        "inv/s",
        f"intake with {empty_open} open",
        empty.rate,
        OPEN_GOAL,
        note=f"one round of {args.open_round} each, worker held still; raw start_workflow"
        f" {full_raw.rate:.1f}/s vs {empty_raw.rate:.1f}/s = {full_raw.rate / empty_raw.rate:.2f} x"
        + ("" if opened >= args.open else f"; {opened} more opened, not {args.open}: time budget"),
    )
    failures = sum(
        len(b.failures) for b in [*raws, *intakes, empty, full, empty_raw, full_raw, loaded]
    )
    if failures:
        print(f"({failures} intake/start failures in all; they do not count as starts)")
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
    goals.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=60, help="starts per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds each way, alternating")
    parser.add_argument(
        "--open-round", type=int, default=100, help="invoices per intake round of goal 3"
    )
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--open", type=int, default=10_000, help="open cases for goal 3")
    parser.add_argument("--budget", type=float, default=82.0, help="seconds for the script")
    parser.add_argument(
        "--open-budget", type=float, default=60.0, help="seconds for opening the cases, at most"
    )
    parser.add_argument("--workers", type=int, default=0, help="0: as `recouvre run` counts")
    parser.add_argument(
        "--drain",
        action="store_true",
        help="let the worker register every opened case before the last round (long runs)",
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    goals = Goals()
    try:
        asyncio.run(_measure(args, goals, t0))
    except Exception as error:  # a benchmark reports; it does not fail the build
        print(f"intake_vs_engine: {type(error).__name__}: {error}", file=sys.stderr)
        goals.summary()
    leave(0)


if __name__ == "__main__":
    main()
