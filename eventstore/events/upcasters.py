"""recouvre's upcasters: each brings stored data of (type, version n) to version n + 1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventstore.upcasting import Upcaster


def reminder_sent_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """ReminderSent v1 had no channel: every reminder was an email then."""
    return {**data, "channel": "email"}


UPCASTERS: Mapping[tuple[str, int], Upcaster] = {
    ("ReminderSent", 1): reminder_sent_v1_to_v2,
}
