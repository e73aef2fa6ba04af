"""Reaching a debtor's conversation from a case: signal-with-start, once per request."""

from __future__ import annotations

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy

from activities.conversation_requests import ContactRequest, ConversationStart, conversation_id

CONVERSATION_WORKFLOW = "DebtorConversation"
"""The workflow type (workflows/debtor_conversation.py), named, so activities do not import
the workflow layer."""


@activity.defn(name="request_contact")
async def request_contact(start: ConversationStart, request: ContactRequest) -> str:
    """Hand ``request`` to the debtor's conversation, starting it if it is not running.
    A retry may deliver the signal twice: the conversation ignores a key it has seen.
    Returns the conversation's workflow id."""
    workflow_id = conversation_id(start.tenant, start.debtor_id)
    await activity.client().start_workflow(
        CONVERSATION_WORKFLOW,
        start,
        id=workflow_id,
        task_queue=activity.info().task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="contact_due",
        start_signal_args=[request],
    )
    return workflow_id
