"""The console's static files: its own (static/) and the pinned npm packages the bootstrap
fetched into the user cache (deploy/bootstrap.sh, step 5). Served by the app itself, never
from a CDN; a page works without them (forms are plain HTML), it just loses the live
filters and the charts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from services.toolchain import cache_dir

log = logging.getLogger("recouvre.console")
HERE = Path(__file__).parent
STATIC = HERE / "static"
HTMX_VERSION = "2.0.11"
CHART_JS_VERSION = "4.6.1"
"""Keep in step with deploy/bootstrap.sh (npm_asset lines)."""


@dataclass(frozen=True)
class Asset:
    path: Path
    media_type: str


def _npm(package: str, version: str, inner: str) -> Path:
    return cache_dir() / "npm" / f"{package}-{version}" / "package" / inner


JS = "text/javascript; charset=utf-8"
ASSETS: dict[str, Asset] = {
    "htmx.min.js": Asset(_npm("htmx.org", HTMX_VERSION, "dist/htmx.min.js"), JS),
    "chart.umd.min.js": Asset(_npm("chart.js", CHART_JS_VERSION, "dist/chart.umd.min.js"), JS),
    "console.js": Asset(STATIC / "console.js", JS),
    "console.css": Asset(STATIC / "console.css", "text/css; charset=utf-8"),
}
"""Every file the console serves under /assets/, by name: nothing else is reachable."""


def missing_assets() -> list[str]:
    """Names of the assets not on disk (the bootstrap has not run)."""
    gone = [name for name, asset in ASSETS.items() if not asset.path.is_file()]
    if gone:
        log.warning("console assets missing (run `make bootstrap`): %s", ", ".join(gone))
    return gone
