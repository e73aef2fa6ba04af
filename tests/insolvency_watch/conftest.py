"""The insolvency watch's rig: a BODACC sandbox served over HTTP, and a runtime like the
API's (the session service's settings, its database, Temporal with its data converter)
whose BODACC is that sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from legal import load_rate_table
from sandboxes.bodacc_server import BodaccSandbox
from services.api.deps import Runtime
from services.temporal_client import connect_temporal
from tests.support.service import Service
from tests.support.serving import serve


@dataclass(frozen=True)
class Bodacc:
    sandbox: BodaccSandbox
    url: str


@pytest.fixture(scope="module")
async def bodacc() -> AsyncIterator[Bodacc]:
    sandbox = BodaccSandbox()
    async with serve(sandbox.app) as url:
        yield Bodacc(sandbox, url)


@pytest.fixture(scope="module")
async def watch_runtime(service: Service, engine: AsyncEngine, bodacc: Bodacc) -> Runtime:
    settings = service.settings.model_copy(update={"bodacc_url": bodacc.url})
    return Runtime(
        settings=settings,
        engine=engine,
        temporal=await connect_temporal(settings),
        keys={},
        rates=load_rate_table(),
    )
