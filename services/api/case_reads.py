"""Read a case: from the read model (the view its workflow last published, table
``case_views``) by default, or live from the workflow on request.

The read model answers without a worker, so a busy or stopped worker never fails a read;
it says which journal position the view reflects. A write answers with its position: a
read given ``after_position`` waits (RECOUVRE_READ_YOUR_WRITES_WAIT_S at most) until the
view reflects it, then answers in any case, marking whether it caught up.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from projections.case_view_store import StoredView, load_case_view
from schemas.case import CaseView
from services.api.case_access import case_handle, case_state
from services.api.debtor_names import named_view
from services.api.deps import Runtime

POLL_S = 0.02
"""How often a read waiting for its position looks at the read model again."""


class Consistency(StrEnum):
    read_model = "read_model"
    live = "live"


class ReadInfo(BaseModel):
    """Where the view came from and how recent it is."""

    source: Consistency = Field(
        description="read_model: the view the case's workflow last published; live: asked "
        "of the workflow now"
    )
    position: int = Field(description="The journal position the view reflects")
    revision: int | None = Field(
        default=None, description="The read model's revision of the view (null when live)"
    )
    recorded_at: datetime | None = Field(
        default=None, description="When the workflow published this view (null when live)"
    )
    after_position: int | None = Field(
        default=None, description="The position the request asked for, if any"
    )
    caught_up: bool = Field(
        description="False when the view is older than `after_position` (the case's worker "
        "has not published the write yet: read again later, or ask `consistency=live`)"
    )


async def read_case(
    runtime: Runtime,
    tenant: str,
    case_id: str,
    consistency: Consistency = Consistency.read_model,
    after_position: int | None = None,
) -> tuple[CaseView, ReadInfo]:
    """The case and how it was read; 404 for another tenant's case or no case."""
    if consistency is Consistency.read_model:
        stored = await _stored_view(runtime, tenant, case_id, after_position)
        if stored is not None:
            return await named_view(runtime, tenant, stored.view), ReadInfo(
                source=Consistency.read_model,
                position=stored.position,
                revision=stored.revision,
                recorded_at=stored.recorded_at,
                after_position=after_position,
                caught_up=after_position is None or stored.position >= after_position,
            )
    # Asked live, or a case that never published a view (started before the read model).
    view = await case_state(runtime, await case_handle(runtime, tenant, case_id))
    return await named_view(runtime, tenant, view), ReadInfo(
        source=Consistency.live,
        position=view.position,
        after_position=after_position,
        caught_up=after_position is None or view.position >= after_position,
    )


async def _stored_view(
    runtime: Runtime, tenant: str, case_id: str, after_position: int | None
) -> StoredView | None:
    deadline = time.monotonic() + runtime.settings.read_your_writes_wait_s
    while True:
        async with runtime.reads.connect() as conn:
            stored = await load_case_view(conn, tenant, case_id)
        behind = (
            stored is not None and after_position is not None and stored.position < after_position
        )
        if not behind or time.monotonic() >= deadline:
            return stored
        await asyncio.sleep(POLL_S)
