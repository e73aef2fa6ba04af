"""Intake throughput on a real Temporal cluster against the dev server, in the same run.

    .venv/bin/python benchmarks/intake_cluster.py [--invoices 200] [--concurrency 20] [--rounds 3]

POST /v1/invoices through recouvre's real API (uvicorn) with its real worker running, at a
fixed concurrency, on two backends: TEMPORAL_ADDRESS on the Temporal dev server as `make
run` starts it (`temporal server start-dev`, SQLite file, one history shard), and on the
cluster of services/embedded/temporal_cluster.py (temporal-server 1.29.1: frontend,
history, matching, worker; 4 history shards; PostgreSQL persistence and SQL visibility on
a PostgreSQL of its own). Both run side by side, each with its own API and worker, and the
measured batches alternate between them. Each POST inserts the case row and starts its
workflow in one transaction, so its latency includes Temporal's durable start. recouvre's
own tables are on an embedded PostgreSQL (or DATABASE_URL: the invoices stay there).
Invoices are due in 30 days, so no reminder is sent while measuring. Everything listens on
127.0.0.1 and stops by itself. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import create_app
from services.config import Settings
from services.embedded.mailbox_server import start_mailbox_server
from services.embedded.postgres import start_embedded_postgres
from services.embedded.temporal_cluster import ClusterPostgres, running_cluster
from services.embedded.temporal_server import start_temporal_dev_server, stop_process
from services.temporal_client import connect_temporal
from services.worker import running_worker
from storage.engine import make_engine
from storage.migrate import upgrade_to_head

ERP_KEY = "bench-erp-key-0123456789"
WARM_UP = 10


@dataclass(frozen=True)
class Figures:
    invoices: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.invoices / self.seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _invoice(run: str, n: int) -> dict[str, Any]:
    today = date.today()
    return {
        "invoice_number": f"B-{run}-{n:05d}",
        "issue_date": today.isoformat(),
        "due_date": (today + timedelta(days=30)).isoformat(),
        "currency": "EUR",
        "amount_due": "1200.00",
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


@contextlib.asynccontextmanager
async def _serve(app: FastAPI) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _post_all(base_url: str, run: str, count: int, concurrency: int) -> Figures:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {ERP_KEY}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=60, limits=limits
    ) as http:

        async def one(n: int) -> None:
            async with gate:
                started = time.perf_counter()
                answer = await http.post("/v1/invoices", json=_invoice(run, n))
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 201:
                    raise RuntimeError(f"POST /v1/invoices: {answer.status_code} {answer.text}")

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return Figures(count, time.perf_counter() - started, latencies)


@contextlib.asynccontextmanager
async def _recouvre(settings: Settings, engine: AsyncEngine) -> AsyncIterator[str]:
    """recouvre's API and worker on ``settings``' Temporal; yields the API's base URL."""
    client = await connect_temporal(settings)
    async with (
        running_worker(client, settings, engine, projector=False),
        _serve(create_app(settings)) as base_url,
    ):
        yield base_url


async def _measure(
    database_url: str, folder: Path, count: int, concurrency: int, rounds: int
) -> tuple[dict[str, list[Figures]], float]:
    """Both backends up side by side, then ``rounds`` batches on each, alternating which
    goes first, so that a load elsewhere on the machine weighs on both alike."""
    await upgrade_to_head(database_url)
    engine = make_engine(database_url)
    smtp_port = _free_port()
    mailbox = start_mailbox_server(folder / "mail", port=smtp_port)

    def settings_for(target: str) -> Settings:
        return Settings(
            DATABASE_URL=database_url,
            TEMPORAL_ADDRESS=target,
            TEMPORAL_TASK_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=smtp_port,
            RECOUVRE_API_KEYS=f"{ERP_KEY}=erp:bench",
            RECOUVRE_RUN_PROJECTOR=False,
        )

    figures: dict[str, list[Figures]] = {"dev server": [], "cluster": []}
    try:
        async with contextlib.AsyncExitStack() as stack:
            dev_port = _free_port()
            dev = await start_temporal_dev_server(
                folder / "dev" / "temporal.db",
                "127.0.0.1",
                dev_port,
                _free_port(),
                folder / "dev" / "temporal.log",
            )
            stack.push_async_callback(stop_process, dev)
            started = time.perf_counter()
            postgres = ClusterPostgres()
            stack.push_async_callback(postgres.close)
            await postgres.start()
            cluster = await stack.enter_async_context(
                running_cluster(postgres.url, folder / "cluster", fresh=False)
            )
            cluster_start = time.perf_counter() - started
            urls = {
                "dev server": await stack.enter_async_context(
                    _recouvre(settings_for(f"127.0.0.1:{dev_port}"), engine)
                ),
                "cluster": await stack.enter_async_context(
                    _recouvre(settings_for(cluster.target), engine)
                ),
            }
            for url in urls.values():
                await _post_all(url, f"warm-{uuid.uuid4().hex[:6]}", WARM_UP, concurrency)
            for n in range(rounds):
                order = list(urls) if n % 2 == 0 else list(reversed(urls))
                for label in order:
                    run = f"{label.split()[0]}-{uuid.uuid4().hex[:6]}"
                    figures[label].append(await _post_all(urls[label], run, count, concurrency))
    finally:
        mailbox.stop()
        await engine.dispose()
    return figures, cluster_start


def _report(figures: dict[str, list[Figures]], cluster_start: float, concurrency: int) -> None:
    first = figures["dev server"][0]
    rounds = len(figures["dev server"])
    print(
        f"POST /v1/invoices x {first.invoices}, concurrency {concurrency}, {rounds} rounds "
        f"per backend (alternating), after {WARM_UP} warm-up posts each"
    )
    print(f"{'':12}{'invoices/s':>11}{'rounds':>22}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
    medians = {}
    for label, runs in figures.items():
        rates = [f.rate for f in runs]
        medians[label] = statistics.median(rates)
        latencies = sorted(x for f in runs for x in f.latencies)
        cuts = statistics.quantiles(latencies, n=100)
        each = " ".join(f"{r:.1f}" for r in rates)
        print(
            f"{label:12}{medians[label]:>11.1f}{each:>22}{cuts[49] * 1000:>8.0f}"
            f"{cuts[94] * 1000:>8.0f}{latencies[-1] * 1000:>8.0f}"
        )
    ratio = medians["cluster"] / medians["dev server"]
    print(f"cluster / dev server throughput (medians): {ratio:.2f}")
    print(f"cluster start (PostgreSQL initdb + schema + server + namespace): {cluster_start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="measured batches per backend")
    args = parser.parse_args()
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="recouvre-bench-cluster-"))
    url, handle = os.environ.get("DATABASE_URL"), None
    if not url:
        url, handle = start_embedded_postgres(folder / "pg", keep=False)
    code = 0
    try:
        figures, cluster_start = asyncio.run(
            _measure(url, folder, args.invoices, args.concurrency, args.rounds)
        )
        _report(figures, cluster_start, args.concurrency)
        print(f"total wall time {time.perf_counter() - started:.1f} s")
    except Exception as error:  # report, then leave with a failing status
        print(f"intake_cluster: {type(error).__name__}: {error}", file=sys.stderr)
        code = 1
    finally:
        if handle is not None:
            handle.cleanup()
    # A worker's SDK threads can crash a plain interpreter exit (shared/engineering
    # toolchain.md, "Known hazards"): leave deterministically once everything is closed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
