"""What the auditor endpoints return (and the replay request they take)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eventstore.records import StoredEvent
from eventstore.verify import ChainReport

MAX_REPLAY_CASES = 200


class StoredEventOut(BaseModel):
    """One row of the event log exactly as stored: everything its content hash covers."""

    position: int
    stream_id: str
    version: int
    event_id: UUID
    type: str
    schema_version: int = Field(description="The version the row was written with")
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    content_hash: str
    prev_hash: str

    @classmethod
    def of(cls, row: StoredEvent) -> StoredEventOut:
        return cls(
            position=row.position,
            stream_id=row.stream_id,
            version=row.version,
            event_id=row.event_id,
            type=row.event_type,
            schema_version=row.schema_version,
            data=row.data,
            metadata=row.metadata,
            recorded_at=row.recorded_at,
            content_hash=row.content_hash,
            prev_hash=row.prev_hash,
        )


class ChainBreakOut(BaseModel):
    version: int = Field(description="The first version at which the chain does not hold")
    problem: str = Field(description="content_hash_mismatch | prev_hash_mismatch | missing_version")
    expected: str
    found: str


class ChainVerification(BaseModel):
    """Every hash and link recomputed: ok, or the first broken link."""

    ok: bool
    count: int = Field(description="Events proven (those before the break, when broken)")
    head_hash: str = Field(description="content_hash of the last proven event")
    first_break: ChainBreakOut | None = None

    @classmethod
    def of(cls, report: ChainReport) -> ChainVerification:
        broken = report.first_break
        return cls(
            ok=report.ok,
            count=report.count,
            head_hash=report.head_hash,
            first_break=None
            if broken is None
            else ChainBreakOut(
                version=broken.version,
                problem=broken.problem.value,
                expected=broken.expected,
                found=broken.found,
            ),
        )


class StreamExport(BaseModel):
    """A stream's events as stored, and the verification of their chain (one snapshot)."""

    stream_id: str
    verification: ChainVerification
    events: list[StoredEventOut]
    hashing: str = Field(
        default=(
            "content_hash = sha256 of the UTF-8 JSON (sorted keys, no spaces) of {position, "
            "event_id, type, schema_version, stream_id, version, data, metadata, recorded_at "
            "(UTC, ISO 8601, microseconds), prev_hash}; version 1's prev_hash is 64 zeros"
        ),
        description="How to recompute the hashes without recouvre",
    )


class ReplayRequest(BaseModel):
    """Either ``case_ids`` (at most 200) or ``all: true`` (the tenant's cases, 200 at a time:
    pass the answer's ``next_after`` as ``after`` for the next page)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"case_ids": ["5b0c…"]}, {"all": True}]},
    )

    case_ids: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_REPLAY_CASES, description="Cases to replay"
    )
    all: bool = Field(default=False, description="Replay the tenant's cases, in case id order")
    after: str | None = Field(
        default=None, max_length=64, description="With all: start after this case id"
    )
    limit: int = Field(default=MAX_REPLAY_CASES, ge=1, le=MAX_REPLAY_CASES)

    @model_validator(mode="after")
    def _one_selection(self) -> ReplayRequest:
        if self.all and self.case_ids is not None:
            raise ValueError("case_ids: give either case_ids or all, not both")
        if not self.all and self.case_ids is None:
            raise ValueError("case_ids: give case_ids, or all: true")
        if self.after is not None and not self.all:
            raise ValueError("after: only with all: true")
        if self.case_ids is not None and any(not 1 <= len(c) <= 64 for c in self.case_ids):
            raise ValueError("case_ids: each id has 1 to 64 characters")
        return self


class ReplayCaseResult(BaseModel):
    case_id: str
    workflow_id: str | None = None
    run_id: str | None = None
    events: int | None = Field(default=None, description="Length of the replayed history")
    ok: bool
    error: str | None = Field(default=None, description="Why the replay failed, as the SDK said")
    error_type: str | None = Field(
        default=None, description="e.g. NondeterminismError, or not_found, history_unavailable"
    )


class ReplayTotals(BaseModel):
    requested: int
    replayed: int
    ok: int
    failed: int


class ReplayReport(BaseModel):
    """Each case's history replayed against the workflow code this server runs."""

    results: list[ReplayCaseResult]
    totals: ReplayTotals
    next_after: str | None = Field(
        default=None, description="With all: more cases remain after this case id"
    )


class AuditorReadOut(BaseModel):
    version: int
    what: str
    case_id: str | None
    case_ids: list[str]
    role: str
    tenant: str
    at: datetime
    recorded_at: datetime
    content_hash: str


class AuditorReads(BaseModel):
    """The latest reads of this tenant's auditors, newest first, and the trail's chain."""

    stream_id: str
    reads: list[AuditorReadOut]
    verification: ChainVerification
