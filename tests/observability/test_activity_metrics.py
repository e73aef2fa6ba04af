"""The worker's activity interceptor on a toy worker of the dev server: completed, retried
and failed attempts, append retries, failed steps, the log context of an attempt, and
both Prometheus endpoints of a worker (recouvre's on N, the Temporal SDK's on N+1)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from datetime import timedelta

import httpx
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from services.config import Settings
from services.observability.activity_metrics import (
    ActivityMetrics,
    ActivityMetricsInterceptor,
    sdk_metrics_runtime,
    serve_worker_metrics,
)
from services.observability.logs import JsonFormatter
from tests.observability.prom import parse_samples, sample

FAST = RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=5)
WRONG_CHANNEL_STOPS = RetryPolicy(
    initial_interval=timedelta(milliseconds=50), non_retryable_error_types=["WrongChannel"]
)


class Request(BaseModel):
    case_id: str


@activity.defn
async def succeed(request: Request) -> str:
    return request.case_id


@activity.defn(name="append_case_events")
async def append_once_refused(request: Request) -> str:
    if activity.info().attempt == 1:
        raise RuntimeError("the store is busy")
    activity.logger.warning("appended")
    return "appended"


@activity.defn
async def refuse_recipient(request: Request) -> str:
    raise ApplicationError("no postal address", type="InvalidRecipient", non_retryable=True)


@activity.defn
async def wrong_channel(request: Request) -> str:
    raise ApplicationError("not a letter", type="WrongChannel")  # non-retryable by policy


@workflow.defn
class ToyWorkflow:
    @workflow.run
    async def run(self, case_id: str) -> list[str]:
        request = Request(case_id=case_id)
        timeout = timedelta(seconds=10)
        results = [
            await workflow.execute_activity(
                succeed, request, start_to_close_timeout=timeout, retry_policy=FAST
            ),
            await workflow.execute_activity(
                append_once_refused, request, start_to_close_timeout=timeout, retry_policy=FAST
            ),
        ]
        for failing, policy in (
            (refuse_recipient, FAST),
            (wrong_channel, WRONG_CHANNEL_STOPS),
        ):
            try:
                await workflow.execute_activity(
                    failing, request, start_to_close_timeout=timeout, retry_policy=policy
                )
            except ActivityError:
                results.append("failed")
        return results


class _Lines(logging.Handler):
    """Formats each record as it is emitted (inside the activity's context)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _two_free_ports() -> int:
    """A port N with N+1 free too (the worker's and the SDK's metrics)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two adjacent free ports")


async def _get(url: str) -> str:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(url)
    response.raise_for_status()
    return response.text


async def test_interceptor_counts_attempts_and_both_endpoints_serve(
    dev_env: WorkflowEnvironment,
) -> None:
    port = _two_free_ports()
    settings = Settings(RECOUVRE_WORKER_METRICS_PORT=port)
    metrics = ActivityMetrics(CollectorRegistry())
    server = serve_worker_metrics(settings, metrics)
    runtime = sdk_metrics_runtime(settings)
    assert server is not None and runtime is not None
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )
    lines = _Lines()
    activity_logger = logging.getLogger("temporalio.activity")
    activity_logger.addHandler(lines)
    task_queue = f"observability-{uuid.uuid4().hex[:8]}"
    workflow_id = f"toy-{uuid.uuid4().hex[:8]}"
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[ToyWorkflow],
            activities=[succeed, append_once_refused, refuse_recipient, wrong_channel],
            interceptors=[ActivityMetricsInterceptor(metrics)],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            result = await client.execute_workflow(
                ToyWorkflow.run,
                "case-42",
                id=workflow_id,
                task_queue=task_queue,
                execution_timeout=timedelta(seconds=30),
            )
        assert result == ["case-42", "appended", "failed", "failed"]
        samples = parse_samples(await _get(f"http://127.0.0.1:{port}/metrics"))
        sdk = await _get(f"http://127.0.0.1:{port + 1}/metrics")
    finally:
        activity_logger.removeHandler(lines)
        if server is not None:
            await asyncio.to_thread(server.shutdown)

    def count(activity_type: str, status: str) -> float:
        return sample(samples, "recouvre_activity_total", activity=activity_type, status=status)

    assert count("succeed", "completed") == 1
    assert count("append_case_events", "retrying") == 1
    assert count("append_case_events", "completed") == 1
    assert count("refuse_recipient", "failed") == 1
    assert count("wrong_channel", "failed") == 1
    assert count("refuse_recipient", "retrying") == 0
    assert sample(samples, "recouvre_append_retries_total") == 1
    failed = "recouvre_failed_steps_total"
    assert sample(samples, failed, activity="refuse_recipient", error_type="InvalidRecipient") == 1
    assert sample(samples, failed, activity="wrong_channel", error_type="WrongChannel") == 1
    attempts = "recouvre_activity_attempt"
    assert sample(samples, f"{attempts}_count", activity="append_case_events") == 2
    assert sample(samples, f"{attempts}_sum", activity="append_case_events") == 3  # 1 + 2
    assert sample(samples, "recouvre_activity_duration_seconds_count", activity="succeed") == 1
    assert "temporal_" in sdk  # the SDK's own metrics (task slots, pollers, latencies...)

    entries = [json.loads(line) for line in lines.lines]
    logged = [entry for entry in entries if entry["message"].startswith("appended")]
    assert logged, lines.lines
    assert logged[0]["activity"] == "append_case_events"
    assert logged[0]["workflow_id"] == workflow_id
    assert logged[0]["case_id"] == "case-42"
    assert logged[0]["attempt"] == 2
