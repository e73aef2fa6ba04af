"""A local partner (collection agency and commissaires de justice in one) speaking recouvre's
partner API, for tests, demos and ``recouvre run``.

    POST /v1/mandates          bearer key + Idempotency-Key; body: the hand-off package
                               201 new, 200 same key and body again, 409 same key other body
    GET  /v1/mandates/{ref}    the mandate and its reports
    GET  /v1/mandates          every mandate (``?idempotency_key=`` to filter)

Each mandate is then moved along ``PartnerSchedule`` (sandboxes/partner_reports.py) and
every step is reported to recouvre's ``POST /v1/partners/{kind}/reports``, signed.

It runs in its own thread, with its own event loop (uvicorn's), so it serves the same way to
synchronous code, to a test's event loop and next to ``recouvre run``'s servers; ``stop()``
ends it. Mandates live in memory: a restart forgets them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from activities.partners.package import HandoffPackage
from activities.partners.settings import (
    HANDOFF_PARTNERS,
    PartnerSettings,
    format_webhook_secrets,
    parse_webhook_secrets,
)
from sandboxes.partner_reports import PartnerSchedule, Reporter, SandboxMandate

DEFAULT_API_KEY = "sandbox-partner-key"
_PREFIXES = {
    "agency": "AG",
    "commissaire_small_claims": "PC",
    "commissaire_enforcement": "EX",
}


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message}},
        headers=headers or None,
    )


class _Store:
    """The sandbox's mandates (touched only from the server's event loop)."""

    def __init__(self) -> None:
        self.by_reference: dict[str, SandboxMandate] = {}
        self.by_key: dict[str, str] = {}
        self.failures_left = 0


def create_partner_app(
    api_key: str,
    callback_url: str | None,
    webhook_secrets: Mapping[tuple[str, str], str],
    schedule: PartnerSchedule,
) -> FastAPI:
    """The sandbox partner as an ASGI app (``start_sandbox_partner`` serves it)."""
    store = _Store()
    store.failures_left = schedule.fail_first_creates
    reporter = Reporter(schedule, callback_url, webhook_secrets)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await reporter.open()
        try:
            yield
        finally:
            await reporter.close()

    app = FastAPI(title="recouvre sandbox partner", lifespan=lifespan)

    def authorized(authorization: str | None) -> bool:
        expected = f"Bearer {api_key}".encode()
        return hmac.compare_digest(expected, (authorization or "").encode())

    @app.post("/v1/mandates", status_code=201)
    async def create_mandate(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Any:
        if not authorized(authorization):
            return _error(401, "unauthorized", "unknown API key", **{"WWW-Authenticate": "Bearer"})
        if store.failures_left > 0:
            store.failures_left -= 1
            return _error(503, "unavailable", "sandbox: simulated outage", **{"Retry-After": "0"})
        if not idempotency_key:
            return _error(400, "bad_request", "the Idempotency-Key header is required")
        body = await request.body()
        try:
            package = HandoffPackage.model_validate_json(body)
        except ValidationError as err:
            return _error(422, "validation_error", str(err)[:1000])
        if package.idempotency_key != idempotency_key:
            return _error(422, "validation_error", "Idempotency-Key differs from the package's key")
        digest = hashlib.sha256(body).hexdigest()
        known = store.by_key.get(idempotency_key)
        if known is not None:
            mandate = store.by_reference[known]
            if mandate.body_sha256 != digest:
                return _error(
                    409,
                    "idempotency_conflict",
                    f"Idempotency-Key {idempotency_key!r} was used with another body",
                )
            return JSONResponse(mandate.view(), headers={"Idempotent-Replayed": "true"})
        reference = f"SBX-{_PREFIXES[package.partner_kind]}-{secrets.token_hex(5)}"
        mandate = SandboxMandate(
            reference=reference,
            partner_kind=package.partner_kind,
            tenant=package.tenant,
            idempotency_key=idempotency_key,
            case_id=package.case_id,
            package=package.model_dump(mode="json"),
            body_sha256=digest,
            created_at=datetime.now(UTC),
        )
        store.by_reference[reference] = mandate
        store.by_key[idempotency_key] = reference
        reporter.follow(mandate)
        return JSONResponse(mandate.view(), status_code=201)

    @app.get("/v1/mandates/{reference}")
    async def get_mandate(
        reference: str, authorization: Annotated[str | None, Header()] = None
    ) -> Any:
        if not authorized(authorization):
            return _error(401, "unauthorized", "unknown API key", **{"WWW-Authenticate": "Bearer"})
        mandate = store.by_reference.get(reference)
        if mandate is None:
            return _error(404, "not_found", f"no mandate {reference}")
        return mandate.view()

    @app.get("/v1/mandates")
    async def list_mandates(
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: str | None = None,
    ) -> Any:
        if not authorized(authorization):
            return _error(401, "unauthorized", "unknown API key", **{"WWW-Authenticate": "Bearer"})
        mandates = [
            m.view()
            for m in store.by_reference.values()
            if idempotency_key is None or m.idempotency_key == idempotency_key
        ]
        return {"mandates": mandates}

    return app


@dataclass
class SandboxPartner:
    """A running sandbox partner: ``url`` is its base URL; ``stop()`` ends it (idempotent)."""

    url: str
    api_key: str
    webhook_secrets: dict[tuple[str, str], str]
    """(tenant, partner kind) -> the secret the sandbox signs that pair's reports with."""
    _server: uvicorn.Server
    _thread: threading.Thread
    _socket: socket.socket

    def settings(self, base: PartnerSettings | None = None) -> PartnerSettings:
        """``base`` (default: from the environment) with every partner kind pointing here and
        the sandbox's webhook secrets added to ``base``'s (PARTNER_WEBHOOK_SECRETS)."""
        base = base if base is not None else PartnerSettings()
        merged = parse_webhook_secrets(base.webhook_secrets)
        for pair, secret in self.webhook_secrets.items():
            if secret not in merged.get(pair, ()):
                merged[pair] = (*merged.get(pair, ()), secret)
        return base.model_copy(
            update={
                "agency_url": self.url,
                "agency_api_key": self.api_key,
                "commissaire_url": self.url,
                "commissaire_api_key": self.api_key,
                "enforcement_url": self.url,
                "enforcement_api_key": self.api_key,
                "webhook_secrets": format_webhook_secrets(merged),
            }
        )

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def start_sandbox_partner(
    host: str = "127.0.0.1",
    port: int = 0,
    callback_url: str | None = None,
    webhook_secrets: Mapping[tuple[str, str], str] | None = None,
    schedule: PartnerSchedule | None = None,
    api_key: str = DEFAULT_API_KEY,
    *,
    startup_timeout_s: float = 10.0,
) -> SandboxPartner:
    """Serve the sandbox partner on ``host:port`` (0: a free port) in a daemon thread.

    ``callback_url``: recouvre's base URL (reports go to ``/v1/partners/{kind}/reports``), or a
    URL containing ``{partner_kind}``; None: reports are only listed, never sent.
    ``webhook_secrets`` ((tenant, partner kind) -> secret) signs them (``X-Recouvre-Signature``);
    a mandate whose pair has none is not reported. Returns once the server accepts
    connections."""
    secrets_by_pair = dict(webhook_secrets or {})
    if callback_url is not None and not secrets_by_pair:
        raise ValueError("the sandbox partner needs webhook secrets to sign its reports")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port: int = sock.getsockname()[1]
    app = create_partner_app(api_key, callback_url, secrets_by_pair, schedule or PartnerSchedule())
    config = uvicorn.Config(
        app, host=host, port=bound_port, log_level="warning", lifespan="on", loop="asyncio"
    )
    server = uvicorn.Server(config)

    def serve() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=serve, name="partner-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the sandbox partner did not start on {host}:{bound_port}")
        time.sleep(0.01)
    return SandboxPartner(
        url=f"http://{host}:{bound_port}",
        api_key=api_key,
        webhook_secrets=secrets_by_pair,
        _server=server,
        _thread=thread,
        _socket=sock,
    )


def start_embedded_partner(
    settings: PartnerSettings, callback_url: str, tenants: Iterable[str]
) -> tuple[SandboxPartner, PartnerSettings]:
    """For ``recouvre run`` when no partner is configured: start the sandbox on
    ``PARTNER_SANDBOX_HOST:PARTNER_SANDBOX_PORT`` with the ``PARTNER_SANDBOX_*`` schedule,
    reporting to ``callback_url`` (the API's base URL). Returns it and the settings the worker's
    client and the API's webhook must both use: endpoints, a key, and a webhook secret for
    every (tenant, partner kind) of ``tenants`` (those of the API keys): the configured one
    (PARTNER_WEBHOOK_SECRETS), else a random one for this run."""
    configured = parse_webhook_secrets(settings.webhook_secrets)
    webhook_secrets: dict[tuple[str, str], str] = {
        pair: values[0] for pair, values in configured.items()
    }
    for tenant in sorted(set(tenants)):
        for kind in HANDOFF_PARTNERS:
            webhook_secrets.setdefault((tenant, kind), secrets.token_urlsafe(32))
    schedule = PartnerSchedule.every(
        settings.sandbox_step_s,
        collected_fraction=settings.sandbox_collected_fraction,
        small_claims_outcome=settings.sandbox_small_claims_outcome,
    )
    sandbox = start_sandbox_partner(
        settings.sandbox_host,
        settings.sandbox_port,
        callback_url,
        webhook_secrets,
        schedule,
        api_key=secrets.token_urlsafe(24),
    )
    return sandbox, sandbox.settings(settings)


__all__ = [
    "PartnerSchedule",
    "SandboxPartner",
    "create_partner_app",
    "start_embedded_partner",
    "start_sandbox_partner",
]
