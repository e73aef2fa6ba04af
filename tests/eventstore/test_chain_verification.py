"""An auditor detects a row altered behind the store's back, and where."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore import rows
from eventstore.hashing import GENESIS_HASH, content_hash
from eventstore.store import EventStore
from eventstore.verify import ChainProblem, verify_chain
from tests.eventstore.factories import a_case, new_stream


async def _tamper(engine: AsyncEngine, statement: str, params: dict[str, Any]) -> None:
    """What a DBA could do: lift the guard, edit a row, put the guard back, in one go."""
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
        await conn.execute(text(statement), params)
        await conn.execute(text("ALTER TABLE events ENABLE ALWAYS TRIGGER events_append_only"))
    async with engine.connect() as conn:
        mode = "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'events_append_only'"
        assert (await conn.execute(text(mode))).scalar_one() == "A", "guard must be back on"


async def test_an_intact_stream_verifies_with_its_count_and_head_hash(store: EventStore) -> None:
    stream_id = new_stream()
    recorded = await store.append(stream_id, a_case(), expected_version=0)

    report = await store.verify_stream(stream_id)

    assert report.ok and report.first_break is None
    assert (report.count, report.head_hash) == (4, recorded[-1].content_hash)
    assert recorded[0].prev_hash == GENESIS_HASH
    links = [(r.prev_hash, r.content_hash) for r in recorded]
    assert all(prev == before[1] for (prev, _), before in zip(links[1:], links, strict=False))


async def test_an_altered_payment_amount_is_reported_at_that_version(
    store: EventStore, engine: AsyncEngine
) -> None:
    stream_id = new_stream()
    await store.append(stream_id, a_case(), expected_version=0)

    await _tamper(
        engine,
        "UPDATE events SET data = jsonb_set(data, '{amount}', '\"12.00\"')"
        " WHERE stream_id = :s AND version = 3",
        {"s": stream_id},
    )
    report = await store.verify_stream(stream_id)

    assert not report.ok and report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (
        3,
        ChainProblem.content_hash_mismatch,
    ), report
    assert report.count == 2, "versions 1 and 2 are still proven"


async def test_a_rewrite_that_recomputes_its_own_hash_breaks_the_next_link(
    store: EventStore, engine: AsyncEngine
) -> None:
    stream_id = new_stream()
    recorded = await store.append(stream_id, a_case(), expected_version=0)
    async with engine.connect() as conn:
        second = (await rows.stream_rows(conn, stream_id))[1]
    forged = replace(second, metadata={**second.metadata, "actor": "someone-else"})
    forged_hash = content_hash(forged)

    await _tamper(
        engine,
        "UPDATE events SET metadata = jsonb_set(metadata, '{actor}', '\"someone-else\"'),"
        " content_hash = :h WHERE stream_id = :s AND version = 2",
        {"s": stream_id, "h": forged_hash},
    )
    report = await store.verify_stream(stream_id)

    assert report.first_break is not None
    assert report.first_break.version == 3
    assert report.first_break.problem is ChainProblem.prev_hash_mismatch
    assert (report.first_break.expected, report.first_break.found) == (
        forged_hash,
        recorded[1].content_hash,
    )


async def test_a_removed_event_is_reported_as_a_missing_version(
    store: EventStore, engine: AsyncEngine
) -> None:
    # Deleting for real would also leave a hole in the shared log; drop the row on read.
    stream_id = new_stream()
    await store.append(stream_id, a_case(), expected_version=0)
    async with engine.connect() as conn:
        stored = await rows.stream_rows(conn, stream_id)

    report = verify_chain(stream_id, [row for row in stored if row.version != 2])

    assert report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (
        2,
        ChainProblem.missing_version,
    )
