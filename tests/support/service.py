"""The whole service over HTTP (API + worker on the dev server, PostgreSQL, SMTP): keys,
settings and the handle tests get from the session's `service` fixture (tests/conftest.py)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

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


STRIPE_WEBHOOK_SECRET = "whsec_test_recouvre_0123456789"
STRIPE_KEY_SPEC = f"acme=sk_test_123|{STRIPE_WEBHOOK_SECRET}"


CASE_READ = re.compile(r"^/v1/cases/([^/]+)$")


@dataclass(frozen=True)
class Service:
    base_url: str
    settings: Settings
    dev_env: WorkflowEnvironment
    positions: dict[str, int] = field(default_factory=dict)
    """The highest position each case's writes answered, shared by every client."""

    def client(self, who: str | None) -> httpx.AsyncClient:
        """A client that reads its writes, as an integration would: every write's answer
        (`case_id`, `position`) is remembered, and a read of that case without its own
        `after_position` or `consistency` asks for at least that position."""
        headers = {"Authorization": f"Bearer {KEYS[who]}"} if who else {}
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=30,
            event_hooks={"request": [self._after_last_write], "response": [self._remember]},
        )

    async def _after_last_write(self, request: httpx.Request) -> None:
        found = CASE_READ.match(request.url.path)
        if request.method != "GET" or found is None or found[1] not in self.positions:
            return
        if {"after_position", "consistency"} & set(request.url.params):
            return
        request.url = request.url.copy_add_param("after_position", self.positions[found[1]])

    async def _remember(self, response: httpx.Response) -> None:
        if response.request.method != "POST" or not response.is_success:
            return
        await response.aread()
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("position"), int):
            case_id = str(body.get("case_id"))
            self.positions[case_id] = max(self.positions.get(case_id, 0), body["position"])


def make_settings(
    database_url: str, temporal_address: str, smtp: Smtp, *, stripe_api_base: str = ""
) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_address,
        TEMPORAL_TASK_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}",
        SMTP_HOST=smtp.host,
        SMTP_PORT=smtp.port,
        RECOUVRE_API_KEYS=KEY_SPEC,
        TEMPORAL_RPC_TIMEOUT_S=3.0,
        RECOUVRE_READ_YOUR_WRITES_WAIT_S=15.0,
        RECOUVRE_BODACC_CHECK_S=0,  # no internet: tests drive the watch against the sandbox
        RECOUVRE_STRIPE_KEYS=STRIPE_KEY_SPEC,  # tenant acme takes card payments; other does not
        RECOUVRE_STRIPE_API_BASE=stripe_api_base,  # stripe-mock (tests/support/stripe_mock.py)
        RECOUVRE_PORTAL_SECRET="portal-secret-for-tests-0123456789",
        RECOUVRE_PORTAL_BASE_URL="http://portal.test",  # tests/portal swaps in the served host
        # ERP webhooks: seconds, not days, so a test sees the retries and the abandon.
        RECOUVRE_WEBHOOK_DISPATCH_S=0.2,
        RECOUVRE_WEBHOOK_TIMEOUT_S=1.0,
        RECOUVRE_WEBHOOK_FIRST_RETRY_S=0.5,
        RECOUVRE_WEBHOOK_MAX_RETRY_S=2.0,
        RECOUVRE_WEBHOOK_RETRY_PERIOD_S=8.0,
        RECOUVRE_WEBHOOK_PRIVATE_TARGETS=True,  # the test receivers listen on 127.0.0.1
    )
