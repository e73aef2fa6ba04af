"""Local stand-ins for outside providers, speaking their real APIs (tests, demos, `recouvre run`).

- ``registered_mail_server``: Maileva's registered-mail API, with scheduled delivery events
  and signed webhooks (``start_sandbox_registered_mail``).
"""

from __future__ import annotations

from sandboxes.registered_mail_server import (
    SandboxCredentials,
    SandboxHandle,
    SandboxSchedule,
    outcome_by_name,
    start_sandbox_registered_mail,
)

__all__ = [
    "SandboxCredentials",
    "SandboxHandle",
    "SandboxSchedule",
    "outcome_by_name",
    "start_sandbox_registered_mail",
]
