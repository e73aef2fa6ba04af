"""The API's Prometheus metrics: ``GET /metrics`` (no auth, not in the OpenAPI schema).

A middleware counts every request by method, route template (``/v1/cases/{case_id}``,
never the raw path, so the series stay few) and status, and the intakes by outcome, read
from the status of ``POST /v1/invoices``. The projection lag is read from the database
when Prometheus scrapes, within RECOUVRE_METRICS_DB_TIMEOUT_S; when that fails (database
down, too slow) the lag gauges read NaN rather than an old value.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.projector import current_checkpoint
from services.observability.logs import ACCESS_LOGGER

log = logging.getLogger("recouvre.metrics")
access_log = logging.getLogger(ACCESS_LOGGER)

INTAKE_ROUTE = ("POST", "/v1/invoices")
INTAKE_OUTCOMES = (
    "created",
    "replayed",
    "conflict",
    "invalid",
    "unavailable",
    "unauthorized",
    "error",
)
UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route matched (404s of unknown paths): one series."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LAG_CAP = 1_000_000
"""The lag counts at most this many events, so a scrape stays cheap during a rebuild."""
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_LAG_SQL = text(
    "SELECT"
    " (SELECT count(*) FROM (SELECT 1 FROM events"
    "   WHERE (tx_id, position) > (:tx_id, :position) LIMIT :cap) AS behind) AS events,"
    " (SELECT extract(epoch FROM now() - recorded_at) FROM events"
    "   WHERE (tx_id, position) > (:tx_id, :position)"
    "   ORDER BY tx_id, position LIMIT 1) AS age_s"
)
"""Events in the store beyond the projector's checkpoint, in the global order
(tx_id, position), and the age of the first of them."""


def intake_outcome(status: int) -> str:
    """What a ``POST /v1/invoices`` status says happened to the invoice."""
    if status == 201:
        return "created"
    if status == 200:
        return "replayed"
    if status == 409:
        return "conflict"
    if status in (400, 413, 415, 422):
        return "invalid"
    if status == 503:
        return "unavailable"
    if status in (401, 403):
        return "unauthorized"
    return "error"


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class ApiMetrics:
    """The API process's metrics, in a registry of their own (one per app)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        if registry is None:  # the process's own: memory, CPU, file descriptors, GC
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.requests = Counter(
            "recouvre_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "recouvre_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.invoices = Counter(
            "recouvre_invoices",
            "POST /v1/invoices by outcome (from the response status)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in INTAKE_OUTCOMES:
            self.invoices.labels(outcome)  # every outcome exported, at 0 until it happens
        self.projection_lag = Gauge(
            "recouvre_projection_lag_events",
            "Events in the store beyond the projector's checkpoint (NaN: could not read)",
            registry=self.registry,
        )
        self.projection_lag_seconds = Gauge(
            "recouvre_projection_lag_seconds",
            "Age of the oldest event the projector has not applied; 0 when none (NaN: could "
            "not read)",
            registry=self.registry,
        )
        self.projection_lag.set(math.nan)
        self.projection_lag_seconds.set(math.nan)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)
        if (method, route) == INTAKE_ROUTE:
            self.invoices.labels(intake_outcome(status)).inc()

    async def refresh(self, engine: AsyncEngine | None, timeout_s: float) -> None:
        """Read the projection lag now; NaN when it cannot be read in ``timeout_s``."""
        events, age = math.nan, math.nan
        if engine is not None:
            try:
                async with asyncio.timeout(timeout_s):
                    events, age = await projection_lag(engine, timeout_s)
            except Exception as err:  # the metrics must answer even when the store does not
                log.warning("projection lag unavailable: %s: %s", type(err).__name__, err)
        self.projection_lag.set(events)
        self.projection_lag_seconds.set(age)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


async def projection_lag(engine: AsyncEngine, timeout_s: float) -> tuple[float, float]:
    """(events beyond the checkpoint, capped at LAG_CAP; age in seconds of the first)."""
    async with engine.connect() as conn:
        await conn.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"),
            {"ms": f"{max(1, int(timeout_s * 1000))}ms"},
        )
        checkpoint = await current_checkpoint(conn)
        row = (
            await conn.execute(
                _LAG_SQL,
                {"tx_id": checkpoint.tx_id, "position": checkpoint.position, "cap": LAG_CAP},
            )
        ).one()
    return float(row.events), float(row.age_s or 0.0)


class MetricsMiddleware:
    """Counts each HTTP request (and writes its ``recouvre.access`` line in JSON mode)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless the app answers: an exception becomes a 500 further out

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = time.perf_counter() - start
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = route_template(scope)
            self.metrics.observe(method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                _access_line(scope, method, route, status, elapsed)


def _access_line(scope: Scope, method: str, route: str, status: int, elapsed: float) -> None:
    extra: dict[str, Any] = {
        "method": method,
        "route": route,
        "path": scope.get("path"),
        "status": status,
        "duration_ms": round(elapsed * 1000, 1),
    }
    case_id = (scope.get("path_params") or {}).get("case_id")
    if case_id:
        extra["case_id"] = case_id
    access_log.info("%s %s %s %.0f ms", method, route, status, elapsed * 1000, extra=extra)


def install_metrics(app: FastAPI, db_timeout_s: float) -> ApiMetrics:
    """Count ``app``'s requests and serve them on ``GET /metrics``."""
    metrics = ApiMetrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def get_metrics(request: Request) -> Response:
        runtime = getattr(request.app.state, "runtime", None)
        await metrics.refresh(getattr(runtime, "engine", None), db_timeout_s)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return metrics


__all__ = [
    "ApiMetrics",
    "MetricsMiddleware",
    "install_metrics",
    "intake_outcome",
    "route_template",
]
