"""GET /assets/{name}: the console's CSS and JavaScript, from the app, never a CDN."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from services.api.errors import ApiError
from services.console.assets import ASSETS, missing_assets
from services.console.pages import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)


@router.get("/assets/{name}")
async def asset(name: str) -> FileResponse:
    found = ASSETS.get(name)
    if found is None or not found.path.is_file():
        if found is not None:
            missing_assets()  # logs which, and the fix
        raise ApiError(404, "not_found", f"no asset {name}")
    return FileResponse(
        found.path, media_type=found.media_type, headers={"Cache-Control": "public, max-age=3600"}
    )
