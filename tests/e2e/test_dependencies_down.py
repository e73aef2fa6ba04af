"""When PostgreSQL or Temporal is down: health says which, and intake records nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from services.api.app import create_app
from services.db.tables import cases
from services.embedded.postgres import start_embedded_postgres
from services.toolchain import temporal_cli
from tests.conftest import Smtp
from tests.e2e.conftest import KEYS, Service, make_settings
from tests.support.invoices import invoice_payload
from tests.support.serving import serve


def _erp(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {KEYS['erp']}"}, timeout=30
    )


async def test_health_is_ok_when_everything_answers(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "temporal": "ok"}


async def test_stopped_temporal_gives_503_and_leaves_nothing_half_created(
    database_url: str, engine: AsyncEngine, smtp: Smtp
) -> None:
    temporal = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=str(temporal_cli())
    )
    settings = make_settings(database_url, temporal.client.service_client.config.target_host, smtp)
    async with serve(create_app(settings)) as base_url, _erp(base_url) as erp:
        assert (await erp.get("/healthz")).json()["temporal"] == "ok"
        await temporal.shutdown()  # the real server process stops

        health = await erp.get("/healthz")
        body = invoice_payload()
        refused = await erp.post("/v1/invoices", json=body)

    assert health.status_code == 503
    assert health.json() == {"status": "degraded", "database": "ok", "temporal": "down"}
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "temporal_unavailable"
    async with engine.connect() as conn:
        left = await conn.scalar(
            select(func.count())
            .select_from(cases)
            .where(cases.c.invoice_number == body["invoice_number"])
        )
    assert left == 0, "a refused invoice must leave no row behind"


async def test_stopped_database_is_reported_by_health(service: Service, smtp: Smtp) -> None:
    folder = Path(tempfile.mkdtemp(prefix="recouvre-pg-down-"))
    url, handle = start_embedded_postgres(folder / "data", keep=False)
    temporal_target = service.dev_env.client.service_client.config.target_host
    settings = make_settings(url, temporal_target, smtp)
    async with serve(create_app(settings)) as base_url, _erp(base_url) as client:
        assert (await client.get("/healthz")).status_code == 200
        handle.cleanup()  # the real PostgreSQL server stops
        health = await client.get("/healthz")
        refused = await client.post("/v1/invoices", json=invoice_payload())
    assert health.status_code == 503
    assert health.json()["database"] == "down"
    assert health.json()["temporal"] == "ok"
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "database_unavailable"
