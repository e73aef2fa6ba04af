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
from activities.conversation_activities import request_contact
from activities.email_activities import EmailActivities, SmtpSettings
from activities.event_activities import EventActivities
from activities.partners import HttpPartnerClient
from activities.partners.settings import PartnerSettings
from activities.portal_link import portal_links
from activities.postal_mail import PostalMailSettings
from activities.postal_mail import provider_from_settings as postal_provider
from activities.registered_mail import RegisteredMailSettings
from activities.registered_mail.roster import RegisteredMailRoster
from eventstore.store import EventStore
from projections.projector import run_projector
from services.config import Settings
from services.debtor_keys import debtor_vault
from services.observability.activity_metrics import (
    ActivityMetrics,
    ActivityMetricsInterceptor,
    sdk_metrics_runtime,
    serve_worker_metrics,
)
from services.temporal_client import connect_temporal
from workflows.collection_case import CollectionCaseWorkflow
from workflows.debtor_conversation import DebtorConversationWorkflow
from workflows.sandbox import workflow_runner

WORKFLOWS = [CollectionCaseWorkflow, DebtorConversationWorkflow]


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
        portal=portal_links(
            settings.portal_base_url,
            settings.portal_secret,
            settings.var_dir,
            settings.portal_link_days,
        ),
    )


def channel_activities(channels: ChannelActivities) -> list[Callable[..., Any]]:
    """The non-email channels, each a named activity."""
    return [
        channels.send_letter,
        channels.send_registered_letter,
        channels.send_grouped_letter,
        channels.create_phone_task,
        channels.hand_off_case,
        channels.prepare_court_file,
        channels.declare_claim,
    ]


def build_worker(
    client: Client,
    settings: Settings,
    engine: AsyncEngine,
    *,
    registered_mail: RegisteredMailSettings | None = None,
    postal_mail: PostalMailSettings | None = None,
    partners: PartnerSettings | None = None,
    metrics: ActivityMetrics | None = None,
) -> Worker:
    """A worker on the case task queue with every workflow and activity of recouvre.

    Registered mail, simple letters and partner hand-offs go to the configured providers
    (REGISTERED_MAIL_*, POSTAL_MAIL_*, PARTNER_*, or the sandboxes `recouvre run` starts);
    without them they are only recorded.
    Every activity attempt is counted into ``metrics`` (the process's, unless given).
    """
    vault = debtor_vault(settings)
    smtp = smtp_settings(settings)
    email = EmailActivities(smtp, engine, vault)
    mail_settings = registered_mail or RegisteredMailSettings()
    partner_settings = partners or PartnerSettings()
    channels = ChannelActivities(
        engine,
        registered_mail_roster=RegisteredMailRoster.from_settings(maileva=mail_settings),
        postal_mail=postal_provider(postal_mail or PostalMailSettings()),
        partners=HttpPartnerClient.from_settings(partner_settings)
        if partner_settings.enabled
        else None,
        vault=vault,
        portal=smtp.portal,  # letters to the debtor carry the same link as its emails
    )
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            email.send_email,
            email.send_grouped_email,
            request_contact,
            *channel_activities(channels),
            *EventActivities(EventStore(engine), engine).activities(),
        ],
        workflow_runner=workflow_runner(),
        interceptors=[ActivityMetricsInterceptor(metrics)],
    )


async def connect_worker_client(settings: Settings) -> Client:
    """The worker process's Temporal client. With RECOUVRE_WORKER_METRICS_PORT=N it first
    serves the activity metrics on N and connects through a runtime exporting the SDK's
    metrics on N+1 (one runtime per process: call this once)."""
    serve_worker_metrics(settings)
    return await connect_temporal(settings, runtime=sdk_metrics_runtime(settings))


@contextlib.asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    engine: AsyncEngine,
    *,
    registered_mail: RegisteredMailSettings | None = None,
    partners: PartnerSettings | None = None,
    projector: bool = True,
) -> AsyncIterator[Worker]:
    """The worker and (unless ``projector`` is False) the projector that keeps the read
    models up to date, running together until the block exits; both stop cleanly."""
    worker = build_worker(
        client, settings, engine, registered_mail=registered_mail, partners=partners
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run())]
    if projector:
        tasks.append(asyncio.create_task(run_projector(engine, EventStore(engine), stop)))
    try:
        yield worker
    finally:
        stop.set()
        await worker.shutdown()
        for task in tasks:
            with contextlib.suppress(Exception):
                await task
