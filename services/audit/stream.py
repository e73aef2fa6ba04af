"""A stream as an auditor sees it: the rows as stored, verified link by link.

The rows are read raw, not through the typed reader: an auditor must see an altered row
as it now is (even if it no longer fits its class), and the verification runs on the
very rows returned, read in one statement.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore import rows
from eventstore.verify import verify_chain
from services.audit.models import ChainVerification, StoredEventOut, StreamExport


def case_stream_id(case_id: str) -> str:
    """The event stream of a case: one stream per case, named by its case id."""
    return case_id


async def export_stream(engine: AsyncEngine, stream_id: str) -> StreamExport:
    """Every event of the stream in version order, and the verification of its chain."""
    async with engine.connect() as conn:
        found = await rows.stream_rows(conn, stream_id)
    return StreamExport(
        stream_id=stream_id,
        verification=ChainVerification.of(verify_chain(stream_id, found)),
        events=[StoredEventOut.of(row) for row in found],
    )
