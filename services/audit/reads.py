"""The trail of auditor reads: one AuditorRead per read, in the stream ``audit:{tenant}``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore import rows
from eventstore.errors import ConcurrencyConflict
from eventstore.events import AuditedRead, AuditorRead
from eventstore.records import EventMetadata, NewEvent, RecordedEvent
from eventstore.store import EventStore
from eventstore.verify import verify_chain
from services.api.keys import Principal
from services.audit.models import AuditorReadOut, AuditorReads, ChainVerification


def audit_stream_id(tenant: str) -> str:
    """The stream of a tenant's auditor reads."""
    return f"audit:{tenant}"


async def record_read(
    engine: AsyncEngine,
    principal: Principal,
    what: AuditedRead,
    case_id: str | None = None,
    case_ids: Sequence[str] = (),
) -> RecordedEvent:
    """Append the read to its tenant's audit stream.

    The version is read just before appending; another read recorded meanwhile makes the
    append conflict, and it is retried once on the new version. A second conflict is
    raised: the caller must not serve a read it could not record.
    """
    stream_id = audit_stream_id(principal.tenant)
    event = AuditorRead(
        what=what,
        case_id=case_id,
        case_ids=tuple(case_ids),
        role=principal.role.value,
        tenant=principal.tenant,
        at=datetime.now(UTC),
    )
    new = NewEvent.of(
        event,
        event_id=uuid.uuid4(),  # each read is a fact of its own: nothing to deduplicate
        metadata=EventMetadata(tenant=principal.tenant, actor=principal.actor),
    )
    store = EventStore(engine)
    try:
        [recorded] = await store.append(stream_id, [new], await store.stream_version(stream_id))
    except ConcurrencyConflict:
        [recorded] = await store.append(stream_id, [new], await store.stream_version(stream_id))
    return recorded


async def list_reads(engine: AsyncEngine, tenant: str, limit: int) -> AuditorReads:
    """The latest ``limit`` reads, newest first, and the verification of the whole trail.

    Rows are read raw and verified as stored; a row whose data no longer fits AuditorRead
    (altered behind the store's back) is listed with what can be read of it.
    """
    stream_id = audit_stream_id(tenant)
    async with engine.connect() as conn:
        found = await rows.stream_rows(conn, stream_id)
    report = verify_chain(stream_id, found)
    reads = []
    for row in reversed(found[-limit:] if limit else []):
        data = row.data
        reads.append(
            AuditorReadOut(
                version=row.version,
                what=str(data.get("what", "?")),
                case_id=data.get("case_id") if isinstance(data.get("case_id"), str) else None,
                case_ids=[str(c) for c in data.get("case_ids", []) or []],
                role=str(data.get("role", "?")),
                tenant=str(data.get("tenant", tenant)),
                at=_when(data.get("at"), row.recorded_at),
                recorded_at=row.recorded_at,
                content_hash=row.content_hash,
            )
        )
    return AuditorReads(stream_id=stream_id, reads=reads, verification=ChainVerification.of(report))


def _when(value: object, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return fallback
    return fallback
