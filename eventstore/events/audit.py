"""Facts about who looked at what: every auditor read leaves a trace in its tenant's log."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from eventstore.events.base import DomainEvent


class AuditedRead(StrEnum):
    """The auditor endpoints, frozen here: stored facts outlive the API's routes."""

    case = "case"
    """GET /v1/cases/{case_id} (the live state)."""
    case_events = "case_events"
    """GET /v1/cases/{case_id}/events (the event stream and its chain)."""
    case_history = "case_history"
    """GET /v1/cases/{case_id}/history (the Temporal workflow history)."""
    case_dossier = "case_dossier"
    """GET /v1/cases/{case_id}/dossier (the evidence bundle)."""
    replay = "replay"
    """POST /v1/audit/replay (histories of one or many cases, replayed)."""
    write_off_report = "write_off_report"
    """GET /v1/cases/{case_id}/write-off (the tax and accounting report)."""


class AuditorRead(DomainEvent):
    """An auditor read a case's records (or replayed several), through the API.

    Appended to the stream ``audit:{tenant}``, so the trail of reads is hash-chained
    like any case: a read cannot be removed or back-dated without breaking the chain.
    """

    event_type: ClassVar[str] = "AuditorRead"

    what: AuditedRead
    case_id: str | None = Field(default=None, max_length=64, description="None: several cases")
    case_ids: tuple[str, ...] = Field(
        default=(), max_length=200, description="The cases a batch read touched (replay)"
    )
    role: str = Field(min_length=1, max_length=32)
    tenant: str = Field(min_length=1, max_length=64)
    at: AwareDatetime
