"""RECOUVRE_LOG_FORMAT=json: one JSON object per line, with the case and workflow when known."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

from services.api.case_ids import case_id_for
from services.observability.logs import JsonFormatter, log_context


def _record(message: str = "hello %s", *args: Any, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("recouvre.test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def _format(record: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry: dict[str, Any] = json.loads(line)
    return entry


def test_a_line_has_the_core_fields_and_the_record_extras() -> None:
    entry = _format(_record("sent %s", "reminder-1", case_id="c-1", workflow_id="wf-1"))
    assert entry["level"] == "INFO"
    assert entry["logger"] == "recouvre.test"
    assert entry["message"] == "sent reminder-1"
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    assert (entry["case_id"], entry["workflow_id"]) == ("c-1", "wf-1")
    assert list(entry)[:4] == ["time", "level", "logger", "message"]


def test_temporal_extras_become_fields_and_the_case_id_follows_the_workflow_id() -> None:
    activity_details = {
        "activity_id": "3",
        "activity_type": "send_email",
        "attempt": 2,
        "workflow_id": "invoice:acme:F-2026-0001",
        "workflow_run_id": "run-1",
        "workflow_type": "CollectionCaseWorkflow",
    }
    entry = _format(_record(temporal_activity=activity_details))
    assert entry["workflow_id"] == "invoice:acme:F-2026-0001"
    assert entry["run_id"] == "run-1"
    assert entry["activity"] == "send_email"
    assert entry["attempt"] == 2
    assert entry["case_id"] == case_id_for("acme", "F-2026-0001")
    assert "temporal_activity" not in entry
    flow = _format(_record(temporal_workflow={"workflow_id": "invoice:acme:A:B", "run_id": "r"}))
    assert flow["case_id"] == case_id_for("acme", "A:B")  # numbers may hold a colon


def test_the_log_context_fills_in_and_a_record_extra_wins() -> None:
    with log_context(case_id="from-context", activity="send_letter", attempt=None):
        entry = _format(_record(workflow_id="wf-9"))
        explicit = _format(_record(case_id="explicit"))
    assert (entry["case_id"], entry["activity"], entry["workflow_id"]) == (
        "from-context",
        "send_letter",
        "wf-9",
    )
    assert "attempt" not in entry
    assert explicit["case_id"] == "explicit"
    assert "case_id" not in _format(_record())  # the context ends with the block


def test_exceptions_and_odd_values_still_make_one_json_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info(), detail=object(), level="x")
        record.exc_info = sys.exc_info()
    entry = _format(record)
    assert "ValueError: bad" in entry["exception"]
    assert entry["detail"].startswith("<object")
    assert entry["level"] == "INFO"  # an extra cannot overwrite a core field


def test_configure_logging_json_writes_json_lines_for_recouvre_and_uvicorn() -> None:
    script = (
        "import logging, uvicorn.config, logging.config\n"
        "from services.observability.logs import configure_logging\n"
        "configure_logging('json')\n"
        "logging.getLogger('recouvre.x').info('hi', extra={'case_id': 'c-7'})\n"
        "logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)\n"
        "logging.getLogger('uvicorn.error').info('Started server process')\n"
        "logging.getLogger('uvicorn.access').info('dropped: recouvre.access says it')\n"
        "logging.getLogger('recouvre.access').info('GET /healthz 200', extra={'status': 200})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["logger"], e["message"]) for e in entries] == [
        ("recouvre.x", "hi"),
        ("uvicorn.error", "Started server process"),
        ("recouvre.access", "GET /healthz 200"),
    ]
    assert entries[0]["case_id"] == "c-7"
    assert entries[2]["status"] == 200
    assert done.stdout == ""
