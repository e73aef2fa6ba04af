"""How the workflows retry their activities, and how they describe one that failed (shared
by the case and the debtor's conversation)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

# Outside actions retry without an attempt limit while the fault may pass (each attempt
# carries the same idempotency key, so nothing is done twice); an error a retry cannot fix
# is non-retryable, and the step stops with a StepFailed fact instead of being skipped.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=0,
    non_retryable_error_types=["InvalidRecipient", "TemplateNotFound", "WrongChannel"],
)
# Appending facts is idempotent (event ids from the case and journal index): it retries
# until the store takes them, and the timeline waits rather than moving on without them.
APPEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=0,
)


def failure_detail(err: ActivityError) -> str:
    """``<type>: <message>`` of the error the activity raised (what ``ActionRecord.detail``
    says; a refused address reads ``InvalidRecipient: ...``)."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type}: {cause.message}"
    return str(cause or err)
