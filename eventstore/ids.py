"""Deterministic event ids, so a retried activity never records a fact twice."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("3b1f7c52-9a0e-5d64-8f2b-6c4e1d7a0b93")


def event_id_for(stream_id: str, step_key: str) -> uuid.UUID:
    """The id of the event a stream records for a step (uuid5: same inputs, same id).

    ``step_key`` names the occurrence, not the type: e.g. ``"reminder_1"`` or
    ``"payment/VIR-123"``. A workflow derives the id before calling its activity, so
    every retry of that activity appends the same id and the store keeps it once.
    """
    if "\x00" in stream_id or "\x00" in step_key:
        raise ValueError("stream_id and step_key must not contain NUL")
    return uuid.uuid5(_NAMESPACE, f"{stream_id}\x00{step_key}")
