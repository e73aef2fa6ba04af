"""Rendering the portal: its own templates (the console's filters and stylesheet), and
an HTML page in French for every failure, so a debtor never meets JSON or a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from services.api.errors import ApiError
from services.console.pages import day, money

log = logging.getLogger("recouvre.portal")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["money"] = money
templates.env.filters["day"] = day

TITLES = {
    400: "Adresse invalide",
    403: "Formulaire refusé",
    404: "Introuvable",
    409: "Action impossible pour le moment",
    422: "Saisie invalide",
    503: "Service momentanément indisponible",
}


class FormRefused(Exception):
    """A form that did not come from the portal's own page (another origin, no nonce)."""


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A portal page: never cached (it shows a debtor's claim), never framed, and the
    address (a capability) never sent on to another site (same-origin: the browser still
    names the portal as Origin of its forms)."""
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", status, title=title, message=message)


class PortalRoute(APIRoute):
    """Portal routes answer pages: a French error page for whatever goes wrong."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError:
                return error_page(
                    request,
                    400,
                    TITLES[400],
                    "Cette adresse n'est pas celle d'une page du portail.",
                )
            except FormRefused:
                return error_page(
                    request,
                    403,
                    TITLES[403],
                    "Ce formulaire ne vient pas de la page de votre dossier. Rouvrez le lien "
                    "reçu par courriel et recommencez.",
                )
            except ApiError as err:
                message = (
                    "Le service ne répond pas pour le moment. Réessayez dans quelques minutes."
                    if err.status >= 500
                    else err.message
                )
                response = error_page(
                    request, err.status, TITLES.get(err.status, "Erreur"), message
                )
                response.headers.update(err.headers)
                return response

        return handler
