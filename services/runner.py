"""`recouvre run`: the whole service on one machine, on the embedded defaults.

Starts PostgreSQL (unless DATABASE_URL), the Temporal dev server (unless
TEMPORAL_ADDRESS), the mailbox SMTP server (unless SMTP_HOST), the sandboxes, then the
worker processes (RECOUVRE_WORKERS) and the projector process, supervised, and serves the
API in this process; Ctrl-C stops them all. Data lives under var/ and survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from datetime import UTC, datetime
from typing import Any

import uvicorn

from activities.partners.settings import PartnerSettings
from activities.postal_mail import PostalMailSettings
from activities.registered_mail import RegisteredMailSettings
from sandboxes.bodacc_server import start_sandbox_bodacc
from sandboxes.maileva_mail_server import start_sandbox_maileva_mail
from sandboxes.partner_server import start_embedded_partner
from sandboxes.registered_mail_server import start_sandbox_registered_mail
from services.api.app import create_app
from services.api.keys import load_or_generate_keys, parse_api_keys
from services.config import Settings
from services.demo_case import register_demo_case
from services.embedded.mailbox_server import start_mailbox_server
from services.embedded.postgres import start_embedded_postgres
from services.embedded.temporal_server import start_temporal_dev_server, stop_process
from services.supervisor import (
    Child,
    default_worker_count,
    recouvre_command,
    settings_env,
    supervised,
)
from storage.migrate import upgrade_to_head

log = logging.getLogger("recouvre.run")


def _banner(
    settings: Settings,
    registered_mail_url: str,
    postal_mail_url: str,
    partners: PartnerSettings,
    children: list[Child],
) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    lines = [
        "",
        "recouvre is running. Ctrl-C stops everything; data stays in "
        f"{settings.var_dir.resolve()}.",
        f"  Processes    API here; {', '.join(child.name for child in children)} apart",
        f"  Console      {api}/  (sign in with the operator or auditor key below)",
        *(
            [f"  Demo case    invoice DEMO-{datetime.now(UTC).date():%Y%m%d} (policy demo)"]
            if settings.demo_case
            else []
        ),
        f"  API docs     {api}/docs",
        f"  Health       {api}/healthz",
        f"  Temporal UI  http://127.0.0.1:{settings.temporal_ui_port}"
        if settings.embedded_temporal
        else f"  Temporal     {settings.temporal_target}",
        f"  Mailbox      {settings.mail_dir.resolve()} (Maildir; `.venv/bin/recouvre mailbox`)"
        if settings.embedded_smtp
        else f"  SMTP relay   {settings.smtp_host}:{settings.smtp_port}",
        f"  Registered mail  {registered_mail_url} (Maileva API; sandbox unless configured)",
        f"  Simple letters   {postal_mail_url or 'recorded only'} (Maileva mail API)",
        f"  Partners     agency {partners.agency_url}, commissaire {partners.commissaire_url}",
        f"  BODACC       {settings.bodacc_url} (insolvency watch; sandbox unless configured)",
        f"  Portal       {settings.portal_base_url}/portail/<token> (the link in each reminder)",
        "  ERP webhooks  /v1/webhooks/subscriptions (docs/erp-webhooks.md)",
        "  API keys (Authorization: Bearer <key>):",
    ]
    for key, principal in parse_api_keys(settings.api_keys).items():
        lines.append(f"    {principal.role.value:<9} tenant {principal.tenant:<10} {key}")
    return "\n".join(lines) + "\n"


async def run_service(settings: Settings) -> None:
    """Start every component, serve until interrupted, then stop them in reverse order."""
    var = settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    if not settings.api_keys:
        settings = settings.model_copy(update={"api_keys": load_or_generate_keys(var / "api-keys")})
    async with contextlib.AsyncExitStack() as stack:
        if not settings.database_url:
            url, pg = await asyncio.to_thread(start_embedded_postgres, var / "pg")
            stack.callback(pg.cleanup)
            settings = settings.model_copy(update={"database_url": url})
        await upgrade_to_head(settings.database_url)
        if settings.embedded_temporal:
            temporal_process = await start_temporal_dev_server(
                var / "temporal.db",
                "127.0.0.1",
                settings.temporal_port,
                settings.temporal_ui_port,
                var / "temporal.log",
            )
            stack.push_async_callback(stop_process, temporal_process)
        if settings.embedded_smtp:
            smtp = start_mailbox_server(settings.mail_dir, port=settings.smtp_port)
            stack.callback(smtp.stop)
        api_url = f"http://127.0.0.1:{settings.api_port}"
        mail = RegisteredMailSettings()
        mail_sandbox = None
        if not mail.enabled:  # the embedded default: a local service speaking Maileva's API
            mail_sandbox = await asyncio.to_thread(
                start_sandbox_registered_mail,
                "127.0.0.1",
                settings.registered_mail_sandbox_port,
                f"{api_url}/v1/webhooks/registered-mail",
                secrets.token_urlsafe(32),
                state_dir=var / "registered-mail",
            )
            stack.callback(mail_sandbox.stop)
            mail = mail_sandbox.settings()
        postal = PostalMailSettings()
        if not os.environ.get("POSTAL_MAIL_PROVIDER_URL") and mail_sandbox is not None:
            # Simple letters through a local service speaking Maileva's mail API, logged in
            # at the registered-mail sandbox's token endpoint (one account, as at Maileva).
            postal_sandbox = await asyncio.to_thread(
                start_sandbox_maileva_mail, "127.0.0.1", 0, shared_auth=mail_sandbox
            )
            stack.callback(postal_sandbox.stop)
            postal = postal_sandbox.settings()
        partners = PartnerSettings()
        if not partners.enabled:  # the embedded default: a local agency / commissaire
            tenants = {p.tenant for p in parse_api_keys(settings.api_keys).values()}
            partner_sandbox, partners = await asyncio.to_thread(
                start_embedded_partner, partners, api_url, tenants
            )
            stack.callback(partner_sandbox.stop)
        if "bodacc_url" not in settings.model_fields_set:  # unless RECOUVRE_BODACC_URL is set
            bodacc = await asyncio.to_thread(start_sandbox_bodacc)  # docs/insolvency-watch.md
            stack.callback(bodacc.stop)
            settings = settings.model_copy(update={"bodacc_url": bodacc.url})
        if "webhook_private_targets" not in settings.model_fields_set:  # a local demo
            settings = settings.model_copy(update={"webhook_private_targets": True})
        if "portal_base_url" not in settings.model_fields_set:  # unless set: this API
            settings = settings.model_copy(update={"portal_base_url": api_url})  # docs/portal.md
        children = _children(settings, mail, postal, partners)
        await stack.enter_async_context(supervised(children))
        app = create_app(settings, registered_mail=mail, partners=partners)
        server = uvicorn.Server(_uvicorn_config(settings, app))
        print(
            _banner(settings, mail.provider_url, postal.provider_url, partners, children),
            flush=True,
        )
        # uvicorn replays the Ctrl-C it caught once it has stopped serving; let that one
        # (and any impatient second one) wait for the workers and servers to stop in order.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _stopping)
        erp_keys = [
            k for k, p in parse_api_keys(settings.api_keys).items() if p.role.value == "erp"
        ]
        if settings.demo_case and erp_keys:  # today's demo invoice, once the API answers
            demo = asyncio.create_task(
                register_demo_case(api_url, erp_keys[0], datetime.now(UTC).date())
            )
            stack.callback(demo.cancel)
        await server.serve()
        log.info("stopping: the workers and the projector, then the servers")


def _stopping(sig: int, _frame: object) -> None:
    log.info("still stopping (signal %s): the processes are shutting down in order", sig)


def _children(
    settings: Settings,
    mail: RegisteredMailSettings,
    postal: PostalMailSettings,
    partners: PartnerSettings,
) -> list[Child]:
    """The worker processes and the projector process, with the settings the runner
    resolved (embedded PostgreSQL, dev server, mailbox, sandboxes) in their environment."""
    host, port = settings.smtp_target
    env = {
        **os.environ,
        **settings_env(settings),
        **settings_env(mail),
        **settings_env(postal),
        **settings_env(partners),
        "TEMPORAL_ADDRESS": settings.temporal_target,
        "SMTP_HOST": host,
        "SMTP_PORT": str(port),
    }
    count = settings.workers or default_worker_count()
    workers = [
        Child(f"worker-{n}", recouvre_command("worker"), {**env, **_worker_env(settings, n)})
        for n in range(1, count + 1)
    ]
    return [*workers, Child("projector", recouvre_command("projector"), env)]


def _worker_env(settings: Settings, n: int) -> dict[str, str]:
    """Worker n's own settings: no projector (it has its process), and, with
    RECOUVRE_WORKER_METRICS_PORT=P, its metrics on P + 2(n-1) (the SDK's on the next)."""
    env = {"RECOUVRE_RUN_PROJECTOR": "false"}
    if settings.worker_metrics_port:
        env["RECOUVRE_WORKER_METRICS_PORT"] = str(settings.worker_metrics_port + 2 * (n - 1))
    return env


def _uvicorn_config(settings: Settings, app: Any) -> uvicorn.Config:
    kwargs: dict[str, Any] = {"host": settings.api_host, "port": settings.api_port}
    return uvicorn.Config(app, log_level="info", **kwargs)
