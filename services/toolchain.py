"""Where the Temporal binaries are: an explicit setting, then PATH, then the user cache.

deploy/bootstrap.sh builds or fetches into the same cache folders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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


# A real Temporal cluster (tests/cluster, benchmarks/intake_cluster.py): temporal-server and
# temporal-sql-tool built by deploy/build_cluster.sh, with the module's PostgreSQL schemas.
TEMPORAL_SERVER_VERSION = "1.29.1"


def cluster_dir() -> Path:
    """Where deploy/build_cluster.sh puts the server, the SQL tool and the schemas."""
    return cache_dir() / f"temporal-server-{TEMPORAL_SERVER_VERSION}"


def _cluster_binary(env: str, name: str) -> Path:
    explicit = os.environ.get(env)
    if explicit:
        return Path(explicit)
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    cached = cluster_dir() / name
    if cached.exists():
        return cached
    raise FileNotFoundError(f"{name} not found: run `make bootstrap` or set {env}")


def temporal_server() -> Path:
    """`temporal-server` (go.temporal.io/server/cmd/server): TEMPORAL_SERVER, PATH, cache."""
    return _cluster_binary("TEMPORAL_SERVER", "temporal-server")


def temporal_sql_tool() -> Path:
    """`temporal-sql-tool` (go.temporal.io/server/cmd/tools/sql), resolved the same way."""
    return _cluster_binary("TEMPORAL_SQL_TOOL", "temporal-sql-tool")


def temporal_schema_dir() -> Path:
    """The server's PostgreSQL schemas (``…/postgresql/v12/{temporal,visibility}``):
    TEMPORAL_SCHEMA_DIR (a folder holding ``postgresql/``), else the cache's copy."""
    explicit = os.environ.get("TEMPORAL_SCHEMA_DIR")
    folder = Path(explicit) if explicit else cluster_dir() / "schema"
    if (folder / "postgresql" / "v12").is_dir():
        return folder
    raise FileNotFoundError(
        f"Temporal PostgreSQL schemas not found in {folder}: run `make bootstrap` "
        "or set TEMPORAL_SCHEMA_DIR to the server module's schema/ folder"
    )


def postgres_with_contrib() -> Path:
    """The bin/ folder of a PostgreSQL server whose extensions include btree_gin, which
    Temporal's SQL visibility schema needs (the embedded pgserver ships no contrib):
    TEMPORAL_POSTGRES_BIN, else Debian's /usr/lib/postgresql/<newest>/bin, else pg_config's."""
    explicit = os.environ.get("TEMPORAL_POSTGRES_BIN")
    if explicit:
        return Path(explicit)
    candidates: list[tuple[Path, Path]] = []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name)
        )
        candidates += [(v / "bin", Path("/usr/share/postgresql") / v.name) for v in versions]
    pg_config = shutil.which("pg_config")
    if pg_config:
        asked = [
            subprocess.run([pg_config, flag], capture_output=True, text=True).stdout.strip()
            for flag in ("--bindir", "--sharedir")
        ]
        candidates.append((Path(asked[0]), Path(asked[1])))
    for bin_dir, share_dir in candidates:
        contrib = share_dir / "extension" / "btree_gin.control"
        if (bin_dir / "pg_ctl").exists() and contrib.exists():
            return bin_dir
    raise FileNotFoundError(
        "no PostgreSQL server with contrib (btree_gin) for the Temporal cluster: "
        "`apt-get install postgresql` or set TEMPORAL_POSTGRES_BIN"
    )


STRIPE_MOCK_VERSION = "0.203.0"


def stripe_mock() -> Path:
    """`stripe-mock` (github.com/stripe/stripe-mock): STRIPE_MOCK, PATH, then the cache."""
    explicit = os.environ.get("STRIPE_MOCK")
    if explicit:
        return Path(explicit)
    on_path = shutil.which("stripe-mock")
    if on_path:
        return Path(on_path)
    cached = cache_dir() / f"stripe-mock-{STRIPE_MOCK_VERSION}" / "stripe-mock"
    if cached.exists():
        return cached
    raise FileNotFoundError("stripe-mock not found: run `make bootstrap` or set STRIPE_MOCK")
