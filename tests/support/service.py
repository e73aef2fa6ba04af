"""The whole service over HTTP (API + worker on the dev server, PostgreSQL, SMTP): keys,
settings and the handle tests get from the session's `service` fixture (tests/conftest.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from temporalio.testing import WorkflowEnvironment

from services.api.keys import key_id
from services.config import Settings
from tests.support.smtp import Smtp

KEYS = {
    "erp": "erp-key-acme-0123456789",
    "operator": "operator-key-acme-0123456789",
    "auditor": "auditor-key-acme-0123456789",
    "other_erp": "erp-key-other-0123456789",
    "other_operator": "operator-key-other-0123456789",
}
AUDITOR_ACTOR = f"auditor:{key_id(KEYS['auditor'])}@acme"
"""Who the audit trail names for the auditor key: the key's id, never the key."""
KEY_SPEC = ",".join(
    [
        f"{KEYS['erp']}=erp:acme",
        f"{KEYS['operator']}=operator:acme",
        f"{KEYS['auditor']}=auditor:acme",
        f"{KEYS['other_erp']}=erp:other",
        f"{KEYS['other_operator']}=operator:other",
    ]
)


@dataclass(frozen=True)
class Service:
    base_url: str
    settings: Settings
    dev_env: WorkflowEnvironment

    def client(self, who: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {KEYS[who]}"} if who else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


def make_settings(database_url: str, temporal_address: str, smtp: Smtp) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_address,
        TEMPORAL_TASK_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}",
        SMTP_HOST=smtp.host,
        SMTP_PORT=smtp.port,
        RECOUVRE_API_KEYS=KEY_SPEC,
        TEMPORAL_RPC_TIMEOUT_S=3.0,
    )
