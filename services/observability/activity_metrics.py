"""The worker's metrics: what each activity attempt did, on the worker's own Prometheus port.

An activity interceptor counts every attempt by activity type and result: ``completed``;
``retrying`` (it failed and Temporal will try again); ``failed`` (a non-retryable error,
or the retry policy's last attempt: the step stops, the workflow records a StepFailed);
``cancelled`` (timed out or the worker is stopping; Temporal retries it). It also counts
the retried appends to the event store and the failed steps, and puts the activity, its
workflow and its case on every log record written during the attempt.

With RECOUVRE_WORKER_METRICS_PORT=N a worker serves these on ``http://host:N/metrics``
and the Temporal SDK's own metrics (task slots, poll latencies, schedule-to-start...) on
port N+1; each worker process needs its own N.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from services.config import Settings
from services.observability.logs import log_context

log = logging.getLogger("recouvre.worker.metrics")

APPEND_ACTIVITIES = ("record_case", "append_case_events")
"""The event-store appends (with the case's view, or alone for cases started before the
read model): their retries mean the store refuses or is slow."""
ATTEMPT_BUCKETS = (1, 2, 3, 5, 10, 20, 50, 100)
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class ActivityMetrics:
    """Counters of activity attempts, in ``registry`` (the process's default one)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.activities = Counter(
            "recouvre_activity",
            "Activity attempts by activity type and result "
            "(completed, retrying, failed, cancelled)",
            ["activity", "status"],
            registry=registry,
        )
        self.attempts = Histogram(
            "recouvre_activity_attempt",
            "The attempt number of each activity execution (1: first try)",
            ["activity"],
            buckets=ATTEMPT_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "recouvre_activity_duration_seconds",
            "Time one activity attempt took, by activity type",
            ["activity"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.append_retries = Counter(
            "recouvre_append_retries",
            "Attempts of record_case or append_case_events beyond the first (the event store "
            "refused or timed out the previous one)",
            registry=registry,
        )
        self.failed_steps = Counter(
            "recouvre_failed_steps",
            "Activities that failed for good (non-retryable error or last attempt): the "
            "case's step stops",
            ["activity", "error_type"],
            registry=registry,
        )


@functools.cache
def worker_metrics() -> ActivityMetrics:
    """The process's activity metrics (created once, in the default registry)."""
    return ActivityMetrics()


def error_type(err: BaseException) -> str:
    """The type Temporal matches against ``non_retryable_error_types``."""
    if isinstance(err, ApplicationError) and err.type:
        return err.type
    return type(err).__name__


def attempt_status(err: BaseException, info: activity.Info) -> str:
    """``cancelled``, ``failed`` (no retry will follow) or ``retrying``."""
    if isinstance(err, CancelledError | asyncio.CancelledError):
        return "cancelled"
    if isinstance(err, ApplicationError) and err.non_retryable:
        return "failed"
    policy = info.retry_policy
    if policy is not None:
        if error_type(err) in (policy.non_retryable_error_types or ()):
            return "failed"
        if policy.maximum_attempts > 0 and info.attempt >= policy.maximum_attempts:
            return "failed"
    return "retrying"


def _case_id(args: Sequence[Any]) -> str | None:
    """The case an activity works for: its request's ``case_id`` (or event ``stream_id``)."""
    for arg in args[:1]:
        for name in ("case_id", "stream_id"):
            value = getattr(arg, name, None)
            if isinstance(value, str):
                return value
    return None


class _MeasuredActivity(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: ActivityMetrics) -> None:
        super().__init__(next)
        self._metrics = metrics

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        metrics = self._metrics
        info = activity.info()
        name = info.activity_type
        metrics.attempts.labels(name).observe(info.attempt)
        if name in APPEND_ACTIVITIES and info.attempt > 1:
            metrics.append_retries.inc()
        status = "completed"
        start = time.perf_counter()
        try:
            with log_context(
                activity=name,
                attempt=info.attempt,
                workflow_id=info.workflow_id,
                run_id=info.workflow_run_id,
                case_id=_case_id(input.args),
            ):
                return await self.next.execute_activity(input)
        except BaseException as err:
            status = attempt_status(err, info)
            if status == "failed":
                kind = error_type(err)
                metrics.failed_steps.labels(name, kind).inc()
                log.warning(
                    "activity %s of %s failed for good (%s) on attempt %s",
                    name,
                    info.workflow_id,
                    kind,
                    info.attempt,
                    extra={"activity": name, "workflow_id": info.workflow_id},
                )
            raise
        finally:
            metrics.activities.labels(name, status).inc()
            metrics.duration.labels(name).observe(time.perf_counter() - start)


class ActivityMetricsInterceptor(Interceptor):
    """Counts every activity attempt into ``metrics`` (the process's, unless given)."""

    def __init__(self, metrics: ActivityMetrics | None = None) -> None:
        self.metrics = metrics or worker_metrics()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _MeasuredActivity(next, self.metrics)


def serve_worker_metrics(
    settings: Settings, metrics: ActivityMetrics | None = None
) -> WSGIServer | None:
    """Serve the activity metrics on RECOUVRE_WORKER_METRICS_PORT (a daemon thread), or
    nothing when it is 0. A port already taken is logged, not fatal: the worker works."""
    if not settings.worker_metrics_port:
        return None
    registry = (metrics or worker_metrics()).registry
    try:
        server, _thread = start_http_server(
            settings.worker_metrics_port, settings.worker_metrics_host, registry=registry
        )
    except OSError as err:
        log.warning(
            "worker metrics not served on %s:%s: %s",
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            err,
        )
        return None
    log.info(
        "worker metrics on http://%s:%s/metrics",
        settings.worker_metrics_host,
        settings.worker_metrics_port,
    )
    return server


def sdk_metrics_address(settings: Settings) -> str | None:
    """Where the Temporal SDK's Prometheus endpoint binds: the worker metrics port + 1."""
    if not settings.worker_metrics_port:
        return None
    return f"{settings.worker_metrics_host}:{settings.worker_metrics_port + 1}"


def sdk_metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics to Prometheus, or None (the default
    runtime, no SDK metrics) when worker metrics are off or the port cannot be bound."""
    address = sdk_metrics_address(settings)
    if address is None:
        return None
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except Exception as err:  # the address is taken or invalid: run without SDK metrics
        log.warning("Temporal SDK metrics not served on %s: %s", address, err)
        return None
    log.info("Temporal SDK metrics on http://%s/metrics", address)
    return runtime
