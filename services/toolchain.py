"""Where the Temporal binaries are: an explicit setting, then PATH, then the user cache.

deploy/bootstrap.sh builds or fetches into the same cache folders.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TEMPORAL_VERSION = "1.5.1"
TEST_SERVER_VERSION = "1.32.1"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recouvre"


def temporal_cli() -> Path:
    """The `temporal` CLI (dev server). Raises FileNotFoundError with the fix if absent."""
    explicit = os.environ.get("TEMPORAL_CLI")
    if explicit:
        return Path(explicit)
    on_path = shutil.which("temporal")
    if on_path:
        return Path(on_path)
    cached = cache_dir() / f"temporal-{TEMPORAL_VERSION}" / "temporal"
    if cached.exists():
        return cached
    raise FileNotFoundError("Temporal CLI not found: run `make bootstrap` or set TEMPORAL_CLI")


def test_server() -> Path:
    """Launcher of Temporal's time-skipping test server (Java)."""
    explicit = os.environ.get("TEMPORAL_TEST_SERVER")
    if explicit:
        return Path(explicit)
    cached = cache_dir() / f"test-server-{TEST_SERVER_VERSION}" / "temporal-test-server"
    if cached.exists():
        return cached
    raise FileNotFoundError("Temporal test server not found: run `make bootstrap`")
