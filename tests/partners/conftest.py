"""Real servers for the partner tests: sandbox partners (their own threads), a webhook app
with the partner router on uvicorn, and a case worker on the Temporal dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from activities.partners import HttpPartnerClient, PartnerSettings
from inbound.partner_reports import PartnerInbound, get_partner_inbound, router
from sandboxes.partner_server import (
    PartnerSchedule,
    SandboxPartner,
    start_sandbox_partner,
)
from services.api.errors import install_error_handlers
from tests.conftest import Smtp
from tests.partners.support import WEBHOOK_SECRETS
from tests.support.cases import CaseRig, case_worker, smtp_settings
from tests.support.serving import serve


def partner_settings(sandbox: SandboxPartner, **changes: object) -> PartnerSettings:
    base = PartnerSettings(webhook_secrets=WEBHOOK_SECRETS, backoff_s=0.01, timeout_s=5.0)
    return sandbox.settings(base).model_copy(update=changes)


@pytest.fixture(scope="session")
def quiet_partner() -> Iterator[SandboxPartner]:
    """A sandbox partner that never reports (its mandates stay as created)."""
    sandbox = start_sandbox_partner(schedule=PartnerSchedule(reports=False))
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def quiet_client(quiet_partner: SandboxPartner) -> HttpPartnerClient:
    return HttpPartnerClient.from_settings(partner_settings(quiet_partner))


@pytest.fixture(scope="session")
async def webhook_url(engine: AsyncEngine, dev_env: WorkflowEnvironment) -> AsyncIterator[str]:
    """recouvre's inbound endpoint, served by a small app that includes the router."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    inbound = PartnerInbound(
        engine=engine,
        temporal=dev_env.client,
        settings=PartnerSettings(webhook_secrets=WEBHOOK_SECRETS, webhook_tolerance_s=300),
    )
    app.dependency_overrides[get_partner_inbound] = lambda: inbound
    async with serve(app) as base_url:
        yield base_url


@pytest.fixture(scope="session")
async def rig(
    dev_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> AsyncIterator[CaseRig]:
    async with case_worker(dev_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        yield rig
