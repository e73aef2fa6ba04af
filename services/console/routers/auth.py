"""Sign-in with an API key, sign-out. ERP keys get no console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.api.keys import Role
from services.console.pages import ConsoleRoute, Visit, checked_form, visit
from services.console.session import find_key

router = APIRouter(route_class=ConsoleRoute)
VisitDep = Annotated[Visit, Depends(visit)]


@router.get("/login")
async def login_page(current: VisitDep) -> Response:
    if current.principal is not None:
        return current.redirect("/")
    return current.render("login.html")


@router.post("/login")
async def login(request: Request, current: VisitDep) -> Response:
    form = await checked_form(request, current)
    principal = find_key(current.runtime.keys, form.get("api_key", ""))
    if principal is None:
        return current.render("login.html", 401, error="Clé inconnue.")
    if principal.role is Role.erp:
        return current.render(
            "login.html",
            403,
            error="Une clé ERP n'ouvre pas la console : utilisez une clé opérateur ou auditeur.",
        )
    current.restart(principal.key_id)
    return current.redirect("/")


@router.post("/logout")
async def logout(request: Request, current: VisitDep) -> Response:
    await checked_form(request, current)
    current.restart(None)
    return current.redirect("/login")
