"""Rendering the console: Jinja2 templates, who is visiting, and HTML answers for every
failure (the API's JSON error shape is for API clients; the console answers a page)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from projections.calendar import PARIS
from services.api.deps import Runtime, get_runtime
from services.api.errors import ApiError
from services.api.keys import Principal, Role
from services.console import labels
from services.console.session import ConsoleSession, Sessions, principal_of

log = logging.getLogger("recouvre.console")
NARROW_NBSP, NBSP = "\u202f", "\u00a0"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def money(value: Decimal | str | None, currency: str = "EUR") -> str:
    """1234.5 -> "1 234,50 €" (French grouping with a narrow no-break space)."""
    if value is None:
        return "—"
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    symbol = "€" if currency == "EUR" else currency
    return f"{sign}{NARROW_NBSP.join(groups)},{cents}{NBSP}{symbol}"


def day(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


templates.env.filters["money"] = money
templates.env.filters["day"] = day
templates.env.globals["labels"] = labels


class SignInRequired(Exception):
    """The page needs a signed-in operator or auditor: go to /login."""


class CsrfRefused(Exception):
    """A form came without its CSRF token, or with another session's."""


@dataclass
class Visit:
    """Who is asking, with their session (new ones are written on the answer)."""

    request: Request
    runtime: Runtime
    sessions: Sessions
    session: ConsoleSession
    principal: Principal | None
    new_session: bool = False

    @property
    def csrf(self) -> str:
        return self.sessions.csrf_token(self.session)

    @property
    def can_act(self) -> bool:
        """Operators act; auditors read and download."""
        return self.principal is not None and self.principal.role is Role.operator

    @property
    def is_auditor(self) -> bool:
        return self.principal is not None and self.principal.role is Role.auditor

    @property
    def who(self) -> Principal:
        if self.principal is None:
            raise SignInRequired
        return self.principal

    def render(self, name: str, status: int = 200, **context: Any) -> Response:
        response = templates.TemplateResponse(
            self.request, name, {"visit": self, **context}, status_code=status
        )
        response.headers["Cache-Control"] = "no-store"
        self.keep(response)
        return response

    def redirect(self, url: str) -> Response:
        response = RedirectResponse(url, status_code=303)
        self.keep(response)
        return response

    def keep(self, response: Response) -> None:
        if self.new_session:
            self.sessions.write(self.request, response, self.session)

    def restart(self, key_id: str | None) -> None:
        """A new session (sign-in, sign-out): a new nonce, hence a new CSRF token."""
        self.session = ConsoleSession.fresh(key_id)
        self.new_session = True


def sessions_of(request: Request) -> Sessions:
    state = request.app.state
    found: Sessions | None = getattr(state, "console_sessions", None)
    if found is None:
        found = Sessions.for_keys(get_runtime(request).settings.api_keys)
        state.console_sessions = found
    return found


def visit(request: Request) -> Visit:
    """Anyone, signed in or not (the sign-in page)."""
    runtime = get_runtime(request)
    sessions = sessions_of(request)
    session = sessions.read(request)
    principal = principal_of(runtime.keys, session)
    if principal is not None and principal.role is Role.erp:
        principal = None  # an ERP key gets no console
    if session is None:
        return Visit(request, runtime, sessions, ConsoleSession.fresh(), None, new_session=True)
    return Visit(request, runtime, sessions, session, principal)


def signed_in(request: Request) -> Visit:
    found = visit(request)
    if found.principal is None:
        raise SignInRequired
    return found


async def checked_form(request: Request, current: Visit) -> dict[str, str]:
    """The posted form's fields (CSRF checked, then dropped); strings only."""
    form = await request.form()
    if not current.sessions.csrf_ok(current.session, form.get("csrf_token")):
        raise CsrfRefused
    return {
        name: value.strip()
        for name, value in form.multi_items()
        if isinstance(value, str) and name != "csrf_token"
    }


def require_operator(current: Visit) -> Principal:
    principal = current.who
    if principal.role is not Role.operator:
        raise ApiError(
            403, "forbidden", "Ce rôle consulte et télécharge ; seul un opérateur peut agir."
        )
    return principal


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    try:
        current: Visit | None = visit(request)
    except Exception:  # the app's state is unusable: answer without the layout's session
        current = None
    if current is None:
        return Response(f"{status} {title}: {message}", status_code=status, media_type="text/plain")
    return current.render("error.html", status, title=title, message=message)


TITLES = {
    403: "Accès refusé",
    404: "Introuvable",
    409: "Conflit",
    422: "Saisie invalide",
    503: "Service indisponible",
}


class ConsoleRoute(APIRoute):
    """Console routes answer pages: sign-in redirects, HTML error pages, no JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as err:
                wrong = ", ".join(str(e["loc"][-1]) for e in err.errors() if e.get("loc"))
                return _error_page(
                    request, 400, "Adresse invalide", f"Paramètre invalide : {wrong}"
                )
            except SignInRequired:
                return RedirectResponse("/login", status_code=303)
            except CsrfRefused:
                return _error_page(
                    request,
                    403,
                    "Formulaire refusé",
                    "Le jeton CSRF du formulaire manque ou ne correspond pas à votre session. "
                    "Rechargez la page et recommencez.",
                )
            except ApiError as err:
                title = TITLES.get(err.status, "Erreur")
                if err.status == 404:
                    message = "Ce dossier n'existe pas, ou pas pour votre compte."
                else:
                    message = err.message
                response = _error_page(request, err.status, title, message)
                response.headers.update(err.headers)
                return response

        return handler
