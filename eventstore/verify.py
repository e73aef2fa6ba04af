"""Walk a stream's hash chain and say where, if anywhere, it was broken."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from eventstore.hashing import GENESIS_HASH, content_hash
from eventstore.records import StoredEvent


class ChainProblem(StrEnum):
    content_hash_mismatch = "content_hash_mismatch"
    """The row's content no longer matches its stored hash: the row was altered."""
    prev_hash_mismatch = "prev_hash_mismatch"
    """The row does not point to the stored hash of the event before it."""
    missing_version = "missing_version"
    """Versions are not 1, 2, 3...: a row was removed (or the stream never started)."""


@dataclass(frozen=True, slots=True)
class ChainBreak:
    version: int
    """The first version at which the chain does not hold."""
    problem: ChainProblem
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of checking one stream; ``ok`` when no link is broken."""

    stream_id: str
    count: int
    """Events checked (all of them when ok; those before the break otherwise)."""
    head_hash: str
    """content_hash of the last good event: anchor it elsewhere to detect a rewrite."""
    first_break: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_chain(stream_id: str, rows: Iterable[StoredEvent]) -> ChainReport:
    """Recompute each row's hash and link, in version order; stop at the first break."""
    count, previous = 0, GENESIS_HASH
    for row in rows:
        expected_version = count + 1
        if row.version != expected_version:
            found = ChainBreak(
                expected_version,
                ChainProblem.missing_version,
                str(expected_version),
                str(row.version),
            )
            return ChainReport(stream_id, count, previous, found)
        if row.prev_hash != previous:
            found = ChainBreak(
                row.version, ChainProblem.prev_hash_mismatch, previous, row.prev_hash
            )
            return ChainReport(stream_id, count, previous, found)
        recomputed = content_hash(row)
        if recomputed != row.content_hash:
            found = ChainBreak(
                row.version, ChainProblem.content_hash_mismatch, recomputed, row.content_hash
            )
            return ChainReport(stream_id, count, previous, found)
        count, previous = count + 1, row.content_hash
    return ChainReport(stream_id, count, previous)
