"""`recouvre run`: the whole service on one machine, on the embedded defaults.

Starts PostgreSQL (unless DATABASE_URL), the Temporal dev server (unless
TEMPORAL_ADDRESS), the mailbox SMTP server (unless SMTP_HOST), the worker and
the API; Ctrl-C stops them all. Data lives under var/ and survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import uvicorn

from services.api.app import create_app
from services.api.keys import load_or_generate_keys, parse_api_keys
from services.config import Settings
from services.db.engine import make_engine
from services.db.migrate import upgrade_to_head
from services.embedded.mailbox_server import start_mailbox_server
from services.embedded.postgres import start_embedded_postgres
from services.embedded.temporal_server import start_temporal_dev_server, stop_process
from services.temporal_client import connect_temporal
from services.worker import running_worker

log = logging.getLogger("recouvre.run")


def _banner(settings: Settings) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    lines = [
        "",
        "recouvre is running. Ctrl-C stops everything; data stays in "
        f"{settings.var_dir.resolve()}.",
        f"  API docs     {api}/docs",
        f"  Health       {api}/healthz",
        f"  Temporal UI  http://127.0.0.1:{settings.temporal_ui_port}"
        if settings.embedded_temporal
        else f"  Temporal     {settings.temporal_target}",
        f"  Mailbox      {settings.mail_dir.resolve()} (Maildir; `.venv/bin/recouvre mailbox`)"
        if settings.embedded_smtp
        else f"  SMTP relay   {settings.smtp_host}:{settings.smtp_port}",
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
        engine = make_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        client = await connect_temporal(settings)
        await stack.enter_async_context(running_worker(client, settings, engine))
        server = uvicorn.Server(_uvicorn_config(settings))
        print(_banner(settings), flush=True)
        await server.serve()
        log.info("stopping")


def _uvicorn_config(settings: Settings) -> uvicorn.Config:
    app = create_app(settings)
    kwargs: dict[str, Any] = {"host": settings.api_host, "port": settings.api_port}
    return uvicorn.Config(app, log_level="info", **kwargs)
