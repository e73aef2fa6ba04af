"""Embedded PostgreSQL (pgserver) for `make run` and tests when DATABASE_URL is not set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pgserver


def start_embedded_postgres(data_dir: Path, *, keep: bool = True) -> tuple[str, Any]:
    """Start (or re-attach to) a PostgreSQL server whose data lives in ``data_dir``.

    Returns its URL and a handle; ``handle.cleanup()`` stops it, and deletes the data
    when ``keep`` is False (tests).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    mode = "stop" if keep else "delete"
    server = pgserver.get_server(data_dir.resolve(), cleanup_mode=mode)  # type: ignore[attr-defined]
    return str(server.get_uri()), server
