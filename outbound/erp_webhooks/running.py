"""The outbox and the dispatcher, run together (by the API process: services/api/app.py)."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore
from outbound.erp_webhooks.dispatcher import RetryPolicy, keep_dispatching
from outbound.erp_webhooks.outbox import follow


async def keep_sending(engine: AsyncEngine, policy: RetryPolicy, poll_s: float) -> None:
    """Queue and send webhooks every ``poll_s`` until cancelled."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(follow(engine, EventStore(engine), stop, poll_s)),
        asyncio.create_task(keep_dispatching(engine, policy, stop, poll_s)),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
