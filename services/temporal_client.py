"""The one way recouvre connects to Temporal: with the pydantic data converter and, when
payload encryption is on (services/payload_codec.py), the encryption codec."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime

from services.config import Settings
from services.payload_codec import data_converter


async def connect_temporal(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client for the configured namespace. ``lazy`` defers the connection to the first call,
    so the API can start (and report 503) while Temporal is down. ``runtime``: the SDK's
    (e.g. one exporting its metrics to Prometheus, see services/observability); None, the
    process's default. The data converter comes from the settings
    (RECOUVRE_PAYLOAD_ENCRYPTION, RECOUVRE_PAYLOAD_KEYS): the API and the workers, reading
    the same settings, encrypt and decrypt alike."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        lazy=lazy,
        runtime=runtime,
    )
