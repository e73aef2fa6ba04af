"""The workflow sandbox, with the deterministic modules our workflows use passed through.

For every workflow run, and every replay, the sandbox re-imports the module that defines the
workflow and whatever that module imports that is not passed through. A module passed
through is handed over as the host already imported it: no per-run import (nor, where no
bytecode cache is written, compilation), and the same classes and enums inside the sandbox
as outside. Only modules that are deterministic and keep no module-level state a workflow
could change belong here: pure functions over the case, pydantic models, enums, constant
tables, exception classes.

The case workflow's own modules (``WORKFLOW_MODULES``) are never listed. The SDK re-imports
the module named by the workflow class's ``__module__`` (workflows/collection_case.py) for
every run unless it is configured as passed through, and a module configured here is passed
through with everything under it: so no entry may be one of these modules or a package
containing them (tests/unit/test_workflow_sandbox.py checks both). Note that this list is
not all that passes modules through: what a workflow file imports inside
``workflow.unsafe.imports_passed_through()`` is passed through too, as collection_case.py
does today for its mixins (which keep no state of their own: the case lives on the
instance).
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

WORKFLOW_MODULES = (
    "workflows.collection_case",
    "workflows.case_messages",
    "workflows.case_steps",
    "workflows.case_activities",
    "workflows.case_base",
    "workflows.debtor_conversation",
)
"""The case workflow's definition and the mixins it inherits: never configured here."""

PASSTHROUGH = (
    # pydantic's lazy validators for e-mail addresses and SIRENs, and the legal clock with
    # the `holidays` library (which reads its translations through gettext/locale once per
    # year; its per-year cache is deterministic).
    "email_validator",
    "idna",
    "stdnum",
    "dns",
    "holidays",
    "legal",
    # Pydantic models, enums and French formatting: the case, its events, invoices, policies.
    "schemas",
    # The domain events a workflow builds, their uuid5 ids and the append request models
    # (eventstore.events imports no SQLAlchemy; the store itself is not listed).
    "eventstore.events",
    "eventstore.ids",
    "eventstore.records",
    # Activities are referenced by the workflow (methods to call, request and receipt
    # models), never run in it: the SDK advises passing them through.
    "activities",
    # The case workflow's helpers: pure functions of the case state, frozen dataclasses,
    # read-only tables and exception classes.
    "workflows.case_reducer",
    "workflows.facts",
    "workflows.event_preparation",
    "workflows.planner",
    "workflows.claim",
    "workflows.einvoicing",
    "workflows.payment_rules",
    "workflows.step_requests",
    "workflows.retry_policies",
    "workflows.contact_caps",
)
"""Modules shared with the host rather than re-imported per workflow run."""


def workflow_runner() -> SandboxedWorkflowRunner:
    """The runner every worker of recouvre uses."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
