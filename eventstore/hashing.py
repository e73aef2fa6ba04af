"""Content hashes that chain each stream's events: change one, and the chain breaks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from eventstore.records import StoredEvent

GENESIS_HASH = "0" * 64
"""The prev_hash of version 1 of every stream."""


def _refuse_floats(value: Any) -> None:
    # A float may not survive the trip through JSONB digit for digit; amounts are strings.
    if isinstance(value, float):
        raise TypeError(f"floats cannot be hashed reproducibly: {value!r}; use a string")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            _refuse_floats(item)


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: one byte string per value."""
    _refuse_floats(value)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def content_hash(event: StoredEvent) -> str:
    """sha256 (hex) of everything an auditor relies on in a row, prev_hash included.

    Covering prev_hash makes the stream a chain: rewriting one event (even with its hash
    recomputed) changes every later hash up to the head. Covering position and
    recorded_at means the order and the time of a fact cannot be moved either.
    """
    content = {
        "position": event.position,
        "event_id": str(event.event_id),
        "type": event.event_type,
        "schema_version": event.schema_version,
        "stream_id": event.stream_id,
        "version": event.version,
        "data": event.data,
        "metadata": event.metadata,
        "recorded_at": event.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(canonical_json(content)).hexdigest()
