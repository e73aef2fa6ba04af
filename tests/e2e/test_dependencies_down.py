"""When PostgreSQL, Temporal or the worker is down: health says which, intake records
nothing, and every call that needs Temporal answers 503 with Retry-After, never 500."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from services.api.app import create_app
from services.api.errors import install_error_handlers
from services.embedded.postgres import start_embedded_postgres
from services.toolchain import temporal_cli
from storage.tables import cases
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
    assert int(health.headers["retry-after"]) >= 1
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "temporal_unavailable"
    assert int(refused.headers["retry-after"]) >= 1
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


async def test_no_worker_running_gives_503_within_the_rpc_timeout(service: Service) -> None:
    """The case's task queue has no worker: Temporal takes the start (it needs no worker)
    but nobody runs the update or a live query. The API gives up after TEMPORAL_RPC_TIMEOUT_S
    (plus a second) with a 503 and Retry-After, and says the request may still apply. A
    plain read needs no worker: it answers from the read model, the case as registered."""
    timeout_s = 2.0
    settings = service.settings.model_copy(
        update={"task_queue": f"no-worker-{uuid.uuid4().hex[:8]}", "temporal_rpc_timeout_s": 2.0}
    )
    async with serve(create_app(settings)) as base_url:
        async with _erp(base_url) as erp:
            created = await erp.post("/v1/invoices", json=invoice_payload())
            assert created.status_code == 201, created.text
            case_id = created.json()["case_id"]
            started = time.monotonic()
            payment = await erp.post(
                f"/v1/cases/{case_id}/payments",
                json={"amount": "1.00", "paid_on": "2026-11-02", "reference": "VIR-NW"},
            )
            update_took = time.monotonic() - started
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {KEYS['operator']}"}, timeout=30
        ) as operator:
            from_read_model = await operator.get(f"/v1/cases/{case_id}")
            started = time.monotonic()
            read = await operator.get(f"/v1/cases/{case_id}", params={"consistency": "live"})
            query_took = time.monotonic() - started
    assert from_read_model.status_code == 200, from_read_model.text
    assert from_read_model.json()["read"] == {
        **from_read_model.json()["read"],
        "source": "read_model",
        "position": 0,
        "revision": 0,
    }
    assert from_read_model.json()["balance"] == "1200.00"
    assert from_read_model.json()["pending_actions"] is None
    await service.dev_env.client.get_workflow_handle(created.json()["workflow_id"]).terminate()
    for response, took in ((payment, update_took), (read, query_took)):
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "temporal_unavailable"
        assert error["details"]["reason"] in {"timeout", "no_worker"}, error
        assert int(response.headers["retry-after"]) >= timeout_s
        assert took < timeout_s + 2.5, f"answered after {took:.1f} s"


class _SqlState(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


RAISED: dict[str, BaseException] = {
    "update-timeout": WorkflowUpdateRPCTimeoutOrCancelledError(),
    "asyncio-timeout": TimeoutError(),
    "deadline": RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b""),
    "unavailable": RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""),
    "no-poller": RPCError(
        "no poller seen for task queue recently", RPCStatusCode.FAILED_PRECONDITION, b""
    ),
    "failing-task": RPCError(
        "Unable to perform workflow execution update due to Workflow Task in failed state.",
        RPCStatusCode.FAILED_PRECONDITION,
        b"",
    ),
    "numeric-overflow": DBAPIError("INSERT ...", {}, _SqlState("22003")),
    "other-db-error": DBAPIError("INSERT ...", {}, _SqlState("42P01")),
}


def _raising_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{name}")
    async def _raise(name: str) -> dict[str, Any]:
        raise RAISED[name]

    return app


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("update-timeout", 503, "timeout"),
        ("asyncio-timeout", 503, "timeout"),
        ("deadline", 503, "timeout"),
        ("unavailable", 503, "unreachable"),
        ("no-poller", 503, "no_worker"),
        ("failing-task", 503, "workflow_failing"),
        ("numeric-overflow", 422, None),
        ("other-db-error", 500, None),
    ],
)
async def test_errors_that_escape_a_router_get_their_precise_answer(
    name: str, status: int, reason: str | None
) -> None:
    """The last line of defence (services/api/errors.py), for what a router did not map:
    Temporal timeouts are 503 with Retry-After, never the generic 500; a value PostgreSQL
    refuses as data is the caller's 422."""
    transport = httpx.ASGITransport(app=_raising_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(f"/raise/{name}")
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if status == 503:
        assert error["code"] == "temporal_unavailable"
        assert error["details"]["reason"] == reason
        assert int(response.headers["retry-after"]) >= 1
    elif status == 422:
        assert error["code"] == "validation_error"
        assert error["details"][0]["field"] == "request"
    else:
        assert error["code"] == "internal_error"
