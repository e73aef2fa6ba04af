"""Logs: readable lines by default, one JSON object per line with RECOUVRE_LOG_FORMAT=json.

Each JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, then
whatever is known of the context: ``case_id``, ``workflow_id``, ``run_id``, ``activity``,
``attempt`` (from the Temporal loggers' ``temporal_activity`` / ``temporal_workflow``
extras, from ``log_context`` set by the activity interceptor, or from a call's own
``extra``), ``method``, ``route``, ``path``, ``status``, ``duration_ms`` for API requests
(logger ``recouvre.access``), and ``exception`` with the traceback. Any other ``extra``
key is kept under its own name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from services.api.case_ids import case_id_for

ACCESS_LOGGER = "recouvre.access"
"""The API's request lines (method, route, status, duration): in JSON mode only, where they
replace uvicorn's access lines (which know the raw path but not the route)."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("recouvre_log_context", default=_EMPTY)

_STANDARD = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
_SKIPPED = frozenset(
    {
        "temporal_activity",  # read below, field by field
        "temporal_workflow",
        "activity_info",  # whole Info objects (full_*_info_on_extra): too big for a line
        "workflow_info",
        "color_message",  # uvicorn's coloured copy of the message
    }
)
_CORE = ("time", "level", "logger", "message")


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (None values ignored) to every record logged inside the block, in
    this task and the ones it starts."""
    token = _context.set(
        MappingProxyType(
            {**_context.get(), **{key: value for key, value in fields.items() if value is not None}}
        )
    )
    try:
        yield
    finally:
        _context.reset(token)


def _temporal_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    flow = getattr(record, "temporal_workflow", None)
    if isinstance(flow, Mapping):
        fields.update(
            workflow_id=flow.get("workflow_id"),
            run_id=flow.get("run_id"),
            workflow_type=flow.get("workflow_type"),
        )
    act = getattr(record, "temporal_activity", None)
    if isinstance(act, Mapping):
        fields.update(
            workflow_id=act.get("workflow_id"),
            run_id=act.get("workflow_run_id"),
            activity=act.get("activity_type"),
            attempt=act.get("attempt"),
        )
    return {key: value for key, value in fields.items() if value is not None}


def case_id_of_workflow(workflow_id: object) -> str | None:
    """The case id of a case workflow's id (``invoice:<tenant>:<invoice number>``)."""
    if not isinstance(workflow_id, str):
        return None
    kind, _, rest = workflow_id.partition(":")
    tenant, _, number = rest.partition(":")
    if kind != "invoice" or not tenant or not number:
        return None
    return case_id_for(tenant, number)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = dict(_context.get())
        fields.update(_temporal_fields(record))
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _SKIPPED and not key.startswith("_"):
                fields[key] = value
        if "case_id" not in fields and (case_id := case_id_of_workflow(fields.get("workflow_id"))):
            fields["case_id"] = case_id
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in fields.items() if key not in _CORE)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def uvicorn_json_config() -> dict[str, Any]:
    """uvicorn's logging config for JSON mode: its own lines as JSON, its access lines
    dropped (``recouvre.access`` writes them, with the route)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "default": {
                "formatter": "json",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
            },
            "access": {"class": "logging.NullHandler"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Set up the process's logging once, at start-up (``recouvre`` commands)."""
    if log_format != "json":
        logging.basicConfig(level=level, format=TEXT_FORMAT)
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.WARNING)  # uvicorn's lines do it
        return
    import uvicorn.config
    from temporalio import activity, workflow

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    logging.captureWarnings(True)  # Python warnings as JSON lines too (logger py.warnings)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
    # uvicorn.Config applies its module default when it is built (the runner, `recouvre
    # api`): swap its content in place so both get the JSON one.
    uvicorn.config.LOGGING_CONFIG.clear()
    uvicorn.config.LOGGING_CONFIG.update(uvicorn_json_config())
    # The Temporal loggers put their context in ``extra``, read into fields above; not
    # also into the message.
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
