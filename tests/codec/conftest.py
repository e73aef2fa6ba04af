"""Payload encryption on the real stack: the Temporal dev server of the session, recouvre's
real worker (tests/support/cases.py) on a client with the codec, PostgreSQL and SMTP.

The session's own clients (tests/conftest.py) have no codec; these fixtures build one that
shares their connection, with two keys (the newer encrypts), as a deployment mid-rotation
would have.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from policies.catalog import load_catalog
from schemas.case import CaseView
from services.api.app import create_app
from services.api.routers import codec
from services.config import Settings
from services.payload_codec import data_converter
from services.worker import running_worker
from storage.key_ring import KeyRing
from tests.support.cases import CaseRig, case_worker, smtp_settings
from tests.support.invoices import fresh_siren
from tests.support.service import make_settings
from tests.support.serving import serve
from tests.support.smtp import Smtp
from workflows.collection_case import CollectionCaseWorkflow

NEW_KEY = KeyRing.new_entry("k2026")
OLD_KEY = KeyRing.new_entry("k2025")
KEYS = {
    "erp": "erp-key-codec-0123456789",
    "operator": "operator-key-codec-0123456789",
    "auditor": "auditor-key-codec-0123456789",
}
"""API keys of a tenant of its own: the other suites list their tenant's cases (and replay
them without the keys), so the encrypted cases must not be among them."""
KEY_SPEC = ",".join(f"{key}={role}:codec" for role, key in KEYS.items())


@dataclass(frozen=True)
class Debtor:
    """Personal data no raw history may show: distinctive, ASCII (no JSON escaping)."""

    name: str
    email: str
    phone: str
    street: str

    def payload(self) -> dict[str, object]:
        return {
            "kind": "business",
            "name": self.name,
            "siren": fresh_siren(),
            "email": self.email,
            "phone": self.phone,
            "address": {
                "line1": self.street,
                "postal_code": "69003",
                "city": "Lyon",
                "country": "FR",
            },
        }

    @property
    def secrets(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "phone": self.phone, "street": self.street}


@dataclass(frozen=True)
class EncryptedCase:
    handle: WorkflowHandle[CollectionCaseWorkflow, CaseView]
    debtor: Debtor


@pytest.fixture(scope="session")
def codec_settings(database_url: str, dev_env: WorkflowEnvironment, smtp: Smtp) -> Settings:
    """The e2e settings with payload encryption on: two keys, the first encrypts."""
    target = dev_env.client.service_client.config.target_host
    settings = make_settings(database_url, target, smtp)
    return settings.model_copy(
        update={
            "payload_keys": f"{NEW_KEY},{OLD_KEY}",
            "payload_encryption": True,
            "api_keys": KEY_SPEC,
        }
    )


@pytest.fixture(scope="session")
def codec_client(dev_env: WorkflowEnvironment, codec_settings: Settings) -> Client:
    """The session's connection to the dev server, with recouvre's encrypting converter
    (what connect_temporal gives the API and the workers under these settings)."""
    return Client(**{**dev_env.client.config(), "data_converter": data_converter(codec_settings)})


@pytest.fixture(scope="session")
async def codec_rig(
    codec_client: Client, engine: AsyncEngine, smtp: Smtp
) -> AsyncIterator[CaseRig]:
    """recouvre's real worker (workflow and activities) on the encrypting client."""
    async with case_worker(codec_client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        yield rig


@pytest.fixture(scope="session")
async def encrypted_case(codec_rig: CaseRig) -> EncryptedCase:
    """A demo-policy case that has run its first activities (reminder 1 sent, 5 s in)."""
    token = uuid.uuid4().hex[:8]
    debtor = Debtor(
        name=f"Quatrebarbe Zephyrine {token}",
        email=f"z.quatrebarbe.{token}@glycines.example",
        phone="+33 6 41 27 93 58",
        street=f"17 impasse des Glycines {token}",
    )
    handle = await codec_rig.start(
        datetime.now(UTC), policy=load_catalog()["demo"], debtor=debtor.payload()
    )
    async with asyncio.timeout(60):
        while True:
            view = await handle.query("state", result_type=CaseView)
            if any(a.step == "reminder_1" and a.status == "sent" for a in view.actions):
                break
            await asyncio.sleep(0.25)
    return EncryptedCase(handle, debtor)


@pytest.fixture(scope="session")
async def codec_api(
    codec_settings: Settings, codec_client: Client, engine: AsyncEngine
) -> AsyncIterator[str]:
    """recouvre's API under the encrypting settings, with the codec router mounted (as
    app.py will mount it), and recouvre's worker on its task queue with the same settings:
    the pair `recouvre run` starts, sharing their keys."""
    app = create_app(codec_settings)
    if not any(getattr(r, "path", None) == "/v1/codec/decode" for r in app.routes):
        app.include_router(codec.router)
    async with (
        running_worker(codec_client, codec_settings, engine, projector=False),
        serve(app) as base_url,
    ):
        yield base_url
