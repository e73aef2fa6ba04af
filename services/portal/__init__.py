"""The debtor portal: what a debtor opens from the personal link in every reminder.

French, server-rendered, no account: the signed link (activities/portal_link.py) is the
debtor's capability. Mounted by services/api/app.py; see docs/portal.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.portal import decisions, routes

router = APIRouter()
router.include_router(routes.router)  # the debtor's pages, /portail/...
router.include_router(decisions.router)  # the operator's decisions (console session)

__all__ = ["router"]
