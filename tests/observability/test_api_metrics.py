"""GET /metrics on the API: requests by route template and status, intakes by outcome,
the projection lag read at scrape time (NaN when the database cannot answer)."""

from __future__ import annotations

import math
import uuid

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.observability.metrics import ApiMetrics, intake_outcome, projection_lag
from storage.engine import make_engine
from storage.tables import events
from tests.observability.prom import Samples, parse_samples, sample
from tests.support.invoices import invoice_payload
from tests.support.service import Service


async def _scrape(service: Service) -> Samples:
    async with service.client(None) as anonymous:  # no key: /metrics is public
        response = await anonymous.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse_samples(response.text)


async def test_metrics_count_requests_by_route_and_intakes_by_outcome(service: Service) -> None:
    before = await _scrape(service)
    body = invoice_payload()
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=body)
        replayed = await erp.post("/v1/invoices", json=body)
        conflict = await erp.post("/v1/invoices", json={**body, "amount_due": "999.00"})
        invalid = await erp.post("/v1/invoices", json={**body, "currency": "nope"})
    async with service.client("operator") as operator:
        forbidden = await operator.post("/v1/invoices", json=invoice_payload())
        case_id = created.json()["case_id"]
        read = await operator.get(f"/v1/cases/{case_id}")
        unknown = await operator.get(f"/nowhere/{uuid.uuid4()}")
    statuses = [r.status_code for r in (created, replayed, conflict, invalid, forbidden)]
    assert statuses == [201, 200, 409, 422, 403]
    assert (read.status_code, unknown.status_code) == (200, 404)
    after = await _scrape(service)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    for outcome in ("created", "replayed", "conflict", "invalid", "unauthorized"):
        assert delta("recouvre_invoices_total", outcome=outcome) == 1, outcome
    assert delta("recouvre_invoices_total", outcome="unavailable") == 0
    requests = "recouvre_http_requests_total"
    assert delta(requests, method="POST", route="/v1/invoices", status="201") == 1
    assert delta(requests, method="POST", route="/v1/invoices", status="422") == 1
    assert delta(requests, method="GET", route="/v1/cases/{case_id}", status="200") == 1
    assert delta(requests, method="GET", route="unmatched", status="404") == 1
    assert delta(requests, method="GET", route="/metrics", status="200") == 1
    assert (
        delta(
            "recouvre_http_request_duration_seconds_count",
            method="GET",
            route="/v1/cases/{case_id}",
        )
        == 1
    )
    # the route template, never the raw path: one series per route, whatever the ids
    labels = {value for _name, pairs in after for key, value in pairs if key == "route"}
    assert not any(case_id in route or "nowhere" in route for route in labels)
    lag = sample(after, "recouvre_projection_lag_events")
    assert math.isfinite(lag) and lag >= 0
    assert math.isfinite(sample(after, "recouvre_projection_lag_seconds"))
    assert sample(after, "process_resident_memory_bytes") > 0


async def test_metrics_is_left_out_of_the_openapi_schema(service: Service) -> None:
    async with service.client(None) as anonymous:
        schema = (await anonymous.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_projection_lag_counts_the_events_beyond_the_checkpoint(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(events))).scalar_one()
    behind, age = await projection_lag(engine, 2.0)
    assert 0 <= behind <= total
    assert age >= 0
    if behind == 0:
        assert age == 0  # nothing waiting, nothing old


async def test_projection_lag_is_nan_when_the_database_does_not_answer() -> None:
    metrics = ApiMetrics(CollectorRegistry())
    unreachable = make_engine("postgresql://nobody:x@127.0.0.1:1/none")  # port 1: refused
    try:
        await metrics.refresh(unreachable, 1.0)
    finally:
        await unreachable.dispose()
    samples = parse_samples(metrics.exposition().decode())
    assert math.isnan(sample(samples, "recouvre_projection_lag_events"))
    assert math.isnan(sample(samples, "recouvre_projection_lag_seconds"))


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (201, "created"),
        (200, "replayed"),
        (409, "conflict"),
        (422, "invalid"),
        (400, "invalid"),
        (503, "unavailable"),
        (401, "unauthorized"),
        (500, "error"),
    ],
)
def test_intake_outcome_follows_the_status(status: int, outcome: str) -> None:
    assert intake_outcome(status) == outcome
