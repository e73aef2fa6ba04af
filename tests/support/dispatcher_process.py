"""The ERP webhooks' outbox and dispatcher (outbound/erp_webhooks/running.py) in an OS
process of their own, so a fault test can SIGKILL them in the middle of deliveries and
start them again: the API normally runs them in its lifespan, where a kill would also
take the API down.

`python -m tests.support.dispatcher_process` reads DATABASE_URL and the
RECOUVRE_WEBHOOK_* settings from the environment, as the API does (services/config.py),
and builds the same retry policy (services/api/app.py ``webhook_policy``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from outbound.erp_webhooks.dispatcher import RetryPolicy
from outbound.erp_webhooks.running import keep_sending
from services.api.app import webhook_policy
from services.config import Settings
from storage.engine import make_engine

REPO = Path(__file__).resolve().parents[2]


def start_dispatcher_process(
    database_url: str, policy: RetryPolicy, poll_s: float, log_file: Path
) -> subprocess.Popen[bytes]:
    """The outbox and the dispatcher, sending every ``poll_s`` with ``policy``; what they
    log goes to the end of ``log_file`` (a restart adds to it)."""
    paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    variables = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(paths),
        "DATABASE_URL": database_url,
        "RECOUVRE_WEBHOOK_DISPATCH_S": str(poll_s),
        "RECOUVRE_WEBHOOK_TIMEOUT_S": str(policy.timeout_s),
        "RECOUVRE_WEBHOOK_FIRST_RETRY_S": str(policy.first_retry_s),
        "RECOUVRE_WEBHOOK_MAX_RETRY_S": str(policy.max_retry_s),
        "RECOUVRE_WEBHOOK_RETRY_PERIOD_S": str(policy.retry_period_s),
        "RECOUVRE_WEBHOOK_PRIVATE_TARGETS": "true" if policy.private_targets else "false",
    }
    with log_file.open("ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.dispatcher_process"],
            cwd=REPO,
            env=variables,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _main() -> None:
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        await keep_sending(engine, webhook_policy(settings), settings.webhook_dispatch_s)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(_main())
