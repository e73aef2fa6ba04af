"""Schema evolution on read: stored data is brought up one version at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eventstore.errors import UnsupportedSchemaVersion

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the data of (type, version n) into the data of (type, version n + 1)."""


def upcast(
    event_type: str,
    schema_version: int,
    data: Mapping[str, Any],
    *,
    current_version: int,
    upcasters: Mapping[tuple[str, int], Upcaster],
) -> dict[str, Any]:
    """Chain the upcasters of ``event_type`` from ``schema_version`` up to the current one.

    The stored row is never changed: upcasting happens on every read, on a copy.
    """
    if schema_version > current_version:
        raise UnsupportedSchemaVersion(
            event_type, schema_version, f"newer than this code's v{current_version}"
        )
    upgraded = dict(data)
    for version in range(schema_version, current_version):
        step = upcasters.get((event_type, version))
        if step is None:
            raise UnsupportedSchemaVersion(
                event_type, version, f"no upcaster to v{version + 1} is registered"
            )
        upgraded = step(upgraded)
    return upgraded
