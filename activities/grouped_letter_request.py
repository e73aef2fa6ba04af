"""What the debtor's conversation asks of the postal channels: one letter, several invoices
(the statement of account of reminder 3, or one formal notice by registered post)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from activities.channel_requests import ChannelRequest
from schemas.money import Balance


class GroupedLetterRequest(BaseModel):
    idempotency_key: str
    """``<debtor_id>/<channel>/<n>``: the letter's own key (outbox, provider)."""
    tenant: str
    debtor_id: str
    channel: Literal["letter", "registered_letter"]
    items: list[ChannelRequest] = Field(min_length=2)
    """Each invoice's own letter, as its case would have posted it alone: the outbox gets
    one row per item under the item's key (the case's dossier shows the letter, and a later
    post under the item's key finds it done: nothing is posted twice)."""
    workflow_ids: list[str] = Field(default_factory=list)
    """Per item, its case's workflow: the provider's statuses go to every case."""
    line_totals: list[Balance] = Field(default_factory=list)
    """Per item, what its line claims: the letter's total is their sum."""
