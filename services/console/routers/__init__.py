"""The console's pages, one router per area, all answering HTML (ConsoleRoute)."""

from __future__ import annotations

from fastapi import APIRouter

from services.console.routers import assets, audit, auth, cases, reports, worklist

router = APIRouter(include_in_schema=False)
for area in (assets, auth, worklist, cases, reports, audit):
    router.include_router(area.router)

__all__ = ["router"]
