"""recouvre on a real Temporal cluster: temporal-server (frontend, history, matching, worker
in one process, 4 history shards) on a PostgreSQL of its own with SQL visibility, every port
on 127.0.0.1 (services/embedded/temporal_cluster.py). recouvre's worker and API point at it by
TEMPORAL_ADDRESS, exactly as in a deployment; recouvre's own tables stay on the session's
PostgreSQL (DATABASE_URL), as a deployment keeps them apart from Temporal's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from services.api.app import create_app
from services.config import Settings
from services.embedded.temporal_cluster import ClusterPostgres, TemporalCluster, running_cluster
from services.temporal_client import connect_temporal
from services.worker import running_worker
from tests.support.service import KEYS, make_settings
from tests.support.serving import serve
from tests.support.smtp import Smtp


@dataclass(frozen=True)
class ClusterService:
    base_url: str
    settings: Settings
    temporal: Client

    def client(self, who: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {KEYS[who]}"}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TemporalCluster]:
    """A fresh cluster: a new PostgreSQL, both databases created and migrated by
    temporal-sql-tool, the server started; all of it stopped and deleted afterwards."""
    postgres = ClusterPostgres()
    try:
        await postgres.start()
        folder = tmp_path_factory.mktemp("temporal-cluster")
        async with running_cluster(postgres.url, folder, fresh=False) as started:
            yield started
    finally:
        await postgres.close()


@pytest.fixture(scope="module")
async def cluster_service(
    database_url: str, engine: AsyncEngine, smtp: Smtp, cluster: TemporalCluster
) -> AsyncIterator[ClusterService]:
    """recouvre's real worker and API, configured with TEMPORAL_ADDRESS = the cluster."""
    settings = make_settings(database_url, cluster.target, smtp)
    temporal = await connect_temporal(settings)
    async with (
        running_worker(temporal, settings, engine, projector=False),
        serve(create_app(settings)) as base_url,
    ):
        yield ClusterService(base_url, settings, temporal)
