"""Checked-in workflow histories: recorded on demand, replayed by every test run.

Record again with `RECOUVRE_RECORD_HISTORIES=1 make pytest` only when a workflow change is
meant to be incompatible (and then version it): old histories must keep replaying.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle

HISTORIES = Path(__file__).parents[1] / "histories"


async def record_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """Write the workflow's history to tests/histories/<name>.json when recording is asked."""
    if not os.environ.get("RECOUVRE_RECORD_HISTORIES"):
        return
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
