"""The operator console: server-rendered French pages on the API's own code paths.

Mounted by services/api/app.py (``app.include_router(console.router)``); see
docs/console.md.
"""

from __future__ import annotations

from services.console.routers import router

__all__ = ["router"]
