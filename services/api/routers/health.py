"""GET /healthz: is the service able to take invoices right now?"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.api.deps import RuntimeDep
from services.api.errors import RETRY_AFTER_S

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 3.0


async def _database_ok(runtime: RuntimeDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "down"; the probe must not raise
        return False
    return True


async def _temporal_ok(runtime: RuntimeDep) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await runtime.temporal.service_client.check_health(
                timeout=timedelta(seconds=CHECK_TIMEOUT_S)
            )
    except Exception:  # any failure means "down"; the probe must not raise
        return False


@router.get("/healthz", operation_id="health")
async def health(runtime: RuntimeDep) -> JSONResponse:
    """200 when PostgreSQL and Temporal both answer, 503 naming what is down (with
    Retry-After). No auth."""
    database, temporal = await asyncio.gather(_database_ok(runtime), _temporal_ok(runtime))
    body = {
        "status": "ok" if database and temporal else "degraded",
        "database": "ok" if database else "down",
        "temporal": "ok" if temporal else "down",
    }
    if database and temporal:
        return JSONResponse(status_code=200, content=body)
    return JSONResponse(status_code=503, content=body, headers={"Retry-After": str(RETRY_AFTER_S)})
