"""The FastAPI application: the composition root of the HTTP side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from legal import load_rate_table
from services.api.deps import Runtime
from services.api.errors import install_error_handlers
from services.api.keys import parse_api_keys
from services.api.routers import (
    audit,
    case_events,
    cases,
    health,
    invoices,
    reports,
    tasks,
)
from services.config import Settings
from services.db.engine import make_engine
from services.temporal_client import connect_temporal

DESCRIPTION = """Collection of unpaid invoices under French law.

ERP systems register invoices (`POST /v1/invoices`); each one becomes a durable
case that sends reminders on the legal timeline until it is paid. Authenticate
with `Authorization: Bearer <api key>`; roles: `erp`, `operator`, `auditor`.
"""


def create_app(settings: Settings) -> FastAPI:
    """Build the app. Its lifespan opens the database engine and a lazy Temporal client,
    so the API starts, and reports 503, even while Temporal is down."""
    if not settings.database_url:
        raise ValueError("DATABASE_URL is required (recouvre run sets it for the embedded one)")
    keys = parse_api_keys(settings.api_keys)
    rates = load_rate_table()  # validated now: a broken table stops start-up, not a request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        temporal = await connect_temporal(settings, lazy=True)
        app.state.runtime = Runtime(
            settings=settings, engine=engine, temporal=temporal, keys=keys, rates=rates
        )
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title="recouvre", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(invoices.router)
    app.include_router(reports.router)  # GET /v1/cases (list) before /v1/cases/{case_id}
    app.include_router(cases.router)
    app.include_router(case_events.router)
    app.include_router(tasks.router)
    app.include_router(audit.router)
    return app
