"""The workflow sandbox, with the pure validation libraries our records use passed through."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Imported lazily by pydantic while validating e-mail addresses and SIRENs: deterministic,
# side-effect free, and safe to share with the host rather than re-import per workflow run.
PASSTHROUGH = ("email_validator", "idna", "stdnum", "dns")


def workflow_runner() -> SandboxedWorkflowRunner:
    """The runner every worker of recouvre uses."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
