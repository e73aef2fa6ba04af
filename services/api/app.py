"""The FastAPI application: the composition root of the HTTP side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from activities.partners.settings import PartnerSettings
from activities.registered_mail import MailevaClient, RegisteredMailSettings
from activities.registered_mail.merci_facteur_client import MerciFacteurClient
from activities.registered_mail.merci_facteur_settings import MerciFacteurSettings
from activities.registered_mail.provider import RegisteredMailError, RegisteredMailProvider
from activities.registered_mail.subscriptions import ensure_subscriptions
from inbound import merci_facteur_notifications, partner_reports, registered_mail_notifications
from inbound.insolvency_watch import keep_watching
from inbound.registered_mail_notifications import RegisteredMailWebhook
from inbound.registered_mail_polling import keep_polling
from inbound.stripe_webhooks import router as stripe_webhook_router
from legal import load_rate_table
from outbound.erp_webhooks.dispatcher import RetryPolicy
from outbound.erp_webhooks.running import keep_sending
from policies.catalog import parse_tenant_policies
from services import portal
from services.api.deps import Runtime
from services.api.errors import install_error_handlers
from services.api.keys import parse_api_keys
from services.api.retention_sweep import keep_sweeping
from services.api.routers import (
    audit,
    case_events,
    cases,
    codec,
    debtor_events,
    debtor_payments,
    debtors,
    health,
    invoices,
    reports,
    tasks,
    webhooks,
    write_off,
)
from services.config import Settings
from services.console import router as console_router
from services.observability.metrics import install_metrics
from services.temporal_client import connect_temporal
from storage.engine import make_engine

log = logging.getLogger("recouvre.api")

DESCRIPTION = """Collection of unpaid invoices under French law.

ERP systems register invoices (`POST /v1/invoices`); each one becomes a durable
case that sends reminders on the legal timeline until it is paid. Authenticate
with `Authorization: Bearer <api key>`; roles: `erp`, `operator`, `auditor`.
"""


async def subscribe(settings: RegisteredMailSettings) -> None:
    """Create and check the provider's notification subscriptions (docs/registered-mail.md);
    a failure is logged, never fatal: statuses are also polled."""
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            report = await ensure_subscriptions(settings, http)
    except (RegisteredMailError, ValueError, httpx.HTTPError) as err:
        log.warning("registered-mail notification subscriptions not ensured: %s", err)
        return
    log.info(
        "registered-mail notification subscriptions to %s: %s",
        report.callback_url,
        ", ".join(f"{c.event_type} {c.action}" for c in report.checks),
    )


def webhook_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        timeout_s=settings.webhook_timeout_s,
        first_retry_s=settings.webhook_first_retry_s,
        max_retry_s=settings.webhook_max_retry_s,
        retry_period_s=settings.webhook_retry_period_s,
        private_targets=settings.webhook_private_targets,
    )


def create_app(
    settings: Settings,
    *,
    registered_mail: RegisteredMailSettings | None = None,
    partners: PartnerSettings | None = None,
) -> FastAPI:
    """Build the app. Its lifespan opens the database engine and a lazy Temporal client,
    so the API starts, and reports 503, even while Temporal is down."""
    if not settings.database_url:
        raise ValueError("DATABASE_URL is required (recouvre run sets it for the embedded one)")
    keys = parse_api_keys(settings.api_keys)
    rates = load_rate_table()  # validated now: a broken table stops start-up, not a request
    tenant_policies = parse_tenant_policies(settings.tenant_policies)
    tenant_sirens = invoices.parse_tenant_sirens(settings.tenant_sirens)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        read_engine = make_engine(settings.database_url, pool_size=5, max_overflow=5)
        temporal = await connect_temporal(settings, lazy=True)
        mail_provider = None
        # `recouvre run` passes the settings it resolved; `recouvre api` reads the environment.
        mail = registered_mail if registered_mail is not None else RegisteredMailSettings()
        if mail.enabled:
            mail_provider = MailevaClient(mail)
            app.state.registered_mail_webhook = RegisteredMailWebhook(
                secret=mail.webhook_secret, provider=mail_provider, login=mail.webhook_login
            )
            if mail.webhook_url:
                # Best effort, in the background: the API serves while the provider answers.
                app.state.subscribing = asyncio.create_task(subscribe(mail))
        if partners is not None:
            app.state.partner_settings = partners
        app.state.runtime = Runtime(
            settings=settings,
            engine=engine,
            temporal=temporal,
            keys=keys,
            rates=rates,
            tenant_policies=tenant_policies,
            tenant_sirens=tenant_sirens,
            read_engine=read_engine,
        )
        polled: list[RegisteredMailProvider] = [] if mail_provider is None else [mail_provider]
        merci_facteur = MerciFacteurSettings()
        if merci_facteur.enabled:
            polled.append(MerciFacteurClient(merci_facteur))
        poll_s = mail.poll_s
        polling = None
        if polled and poll_s:
            polling = asyncio.create_task(keep_polling(app.state.runtime, polled, poll_s))
        background = [] if polling is None else [polling]
        if settings.retention_sweep_s:
            sweep = keep_sweeping(app.state.runtime, settings.retention_sweep_s)
            background.append(asyncio.create_task(sweep))
        if settings.bodacc_check_s > 0:  # the insolvency watch (docs/insolvency-watch.md)
            watch = keep_watching(app.state.runtime, settings.bodacc_check_s)
            background.append(asyncio.create_task(watch))
        if settings.webhook_dispatch_s > 0:  # the ERP webhooks (docs/erp-webhooks.md)
            sending = keep_sending(engine, webhook_policy(settings), settings.webhook_dispatch_s)
            background.append(asyncio.create_task(sending))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.dispose()
            await read_engine.dispose()

    app = FastAPI(title="recouvre", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    install_error_handlers(app)
    install_metrics(app, settings.metrics_db_timeout_s)  # GET /metrics, no auth, not in schema
    app.include_router(health.router)
    app.include_router(invoices.router)
    app.include_router(reports.router)  # GET /v1/cases (list) before /v1/cases/{case_id}
    app.include_router(cases.router)
    app.include_router(write_off.router)
    app.include_router(case_events.router)
    app.include_router(tasks.router)
    app.include_router(debtors.router)
    app.include_router(debtor_payments.router)
    app.include_router(debtor_events.router)
    app.include_router(registered_mail_notifications.router)
    app.include_router(merci_facteur_notifications.router)
    app.include_router(partner_reports.router)
    app.include_router(stripe_webhook_router)  # docs/online-payment.md
    app.include_router(audit.router)
    app.include_router(webhooks.router)
    app.include_router(
        codec.router
    )  # Temporal's codec server at /v1/codec (docs/data-protection.md)
    app.include_router(console_router)  # the operator console's pages (docs/console.md)
    app.include_router(portal.router)  # the debtor portal's pages (docs/portal.md)
    return app
