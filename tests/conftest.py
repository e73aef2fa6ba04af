"""Real components for the whole suite, started once per session.

PostgreSQL: DATABASE_URL if set, else an embedded pgserver in a temporary folder.
SMTP: recouvre's own Maildir SMTP server on a free port.
Temporal: the dev server (built by the bootstrap) and the time-skipping test server.
Nothing here is a fake: tests talk to the same servers `make run` uses.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from services.api.app import create_app
from services.embedded.mailbox_server import start_mailbox_server
from services.embedded.postgres import start_embedded_postgres
from services.toolchain import temporal_cli, test_server
from services.worker import running_worker
from storage.engine import make_engine
from storage.migrate import upgrade_to_head
from tests.support.service import Service, make_settings
from tests.support.serving import free_port, serve
from tests.support.smtp import Smtp

pytest_plugins = ["tests.support.stripe_mock"]  # the session's stripe-mock

BOUNCING_DOMAIN = "bounce.example"
"""Mail to this domain is refused by the test SMTP server, as an unknown domain would be."""


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A migrated, real PostgreSQL database for the session."""
    url = os.environ.get("DATABASE_URL")
    handle = None
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="recouvre-pg-"))
        url, handle = start_embedded_postgres(folder / "data", keep=False)
    await upgrade_to_head(url)
    yield url
    if handle is not None:
        handle.cleanup()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def smtp() -> Iterator[Smtp]:
    """recouvre's real SMTP server, storing into a temporary Maildir."""
    maildir = Path(tempfile.mkdtemp(prefix="recouvre-mail-"))
    port = free_port()
    controller = start_mailbox_server(maildir, port=port, refuse_domains=(BOUNCING_DOMAIN,))
    yield Smtp("127.0.0.1", port, maildir)
    controller.stop()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server (real engine, in-memory), with the pydantic converter."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(temporal_cli()),
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=WAL"],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server: months pass in milliseconds. One per module:
    its clock only moves forward, and a whole suite of multi-year timelines would carry it
    past the API's date window (schemas/bounds.py)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(test_server()),
        # The SDK waits 5 s by default: too short on a loaded CI machine (seen once).
        test_server_startup_timeout=timedelta(seconds=60),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def service(
    database_url: str,
    engine: AsyncEngine,
    smtp: Smtp,
    dev_env: WorkflowEnvironment,
    stripe_mock: str,
) -> AsyncIterator[Service]:
    target = dev_env.client.service_client.config.target_host
    settings = make_settings(database_url, target, smtp, stripe_api_base=stripe_mock)
    async with (
        # No background projector: the projection tests drive and rebuild it themselves.
        running_worker(dev_env.client, settings, engine, projector=False),
        serve(create_app(settings)) as base_url,
    ):
        yield Service(base_url, settings, dev_env)


__all__ = ["Smtp"]
