"""Checked-in workflow histories: recorded on demand, replayed by every test run.

`RECOUVRE_RECORD_HISTORIES=1 make pytest` records the histories that are missing, and
never rewrites one that is checked in: a replay guard only guards while old histories stay
as they were recorded. A workflow change that old histories cannot replay needs a
`workflow.patched` marker, and a new history of its own (a new name).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory

HISTORIES = Path(__file__).parents[1] / "histories"


def write_history(history: WorkflowHistory, name: str) -> None:
    """Write tests/histories/<name>.json when recording is asked and it is not there yet."""
    path = HISTORIES / f"{name}.json"
    if not os.environ.get("RECOUVRE_RECORD_HISTORIES") or path.exists():
        return
    path.write_text(json.dumps(json.loads(history.to_json()), indent=1))


async def record_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """Record the workflow's (latest run's) history under ``name``, once."""
    if not os.environ.get("RECOUVRE_RECORD_HISTORIES"):
        return
    write_history(await handle.fetch_history(), name)
