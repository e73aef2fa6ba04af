"""The Temporal worker: runs case workflows and their activities."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.channel_activities import ChannelActivities
from activities.email_activities import EmailActivities, SmtpSettings
from activities.event_activities import EventActivities
from eventstore.store import EventStore
from projections.projector import run_projector
from services.config import Settings
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import workflow_runner

WORKFLOWS = [CollectionCaseWorkflow]


def smtp_settings(settings: Settings) -> SmtpSettings:
    host, port = settings.smtp_target
    return SmtpSettings(
        host=host,
        port=port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        creditor_name=settings.creditor_name,
        payment_instructions=settings.payment_instructions,
        payment_link=settings.payment_link,
    )


def channel_activities(channels: ChannelActivities) -> list[Callable[..., Any]]:
    """The non-email channels, each a named activity."""
    return [
        channels.send_letter,
        channels.send_registered_letter,
        channels.create_phone_task,
        channels.hand_off_case,
        channels.prepare_court_file,
        channels.declare_claim,
    ]


def build_worker(client: Client, settings: Settings, engine: AsyncEngine) -> Worker:
    """A worker on the case task queue with every workflow and activity of recouvre."""
    email = EmailActivities(smtp_settings(settings), engine)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            email.send_email,
            *channel_activities(ChannelActivities(engine)),
            EventActivities(EventStore(engine)).append_case_events,
        ],
        workflow_runner=workflow_runner(),
    )


@contextlib.asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, engine: AsyncEngine
) -> AsyncIterator[Worker]:
    """The worker and the projector (which keeps the read models up to date), running
    together until the block exits; both stop cleanly."""
    worker = build_worker(client, settings, engine)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(worker.run()),
        asyncio.create_task(run_projector(engine, EventStore(engine), stop)),
    ]
    try:
        yield worker
    finally:
        stop.set()
        await worker.shutdown()
        for task in tasks:
            with contextlib.suppress(Exception):
                await task
