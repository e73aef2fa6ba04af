"""The one way recouvre connects to Temporal: with the pydantic data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from services.config import Settings


async def connect_temporal(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client for the configured namespace. ``lazy`` defers the connection to the first call,
    so the API can start (and report 503) while Temporal is down. ``runtime``: the SDK's
    (e.g. one exporting its metrics to Prometheus, see services/observability); None, the
    process's default."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
        runtime=runtime,
    )
