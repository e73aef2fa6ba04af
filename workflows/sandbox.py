"""The workflow sandbox, with the pure validation libraries our records use passed through."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Deterministic libraries safe to share with the host rather than re-import per workflow run:
# pydantic's lazy validators for e-mail addresses and SIRENs, and the legal clock with the
# `holidays` library (which reads its translations through gettext/locale once per year).
PASSTHROUGH = ("email_validator", "idna", "stdnum", "dns", "holidays", "legal")


def workflow_runner() -> SandboxedWorkflowRunner:
    """The runner every worker of recouvre uses."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
