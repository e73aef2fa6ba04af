"""Hand a recorded hand-off to its partner, exactly once per idempotency key.

``deliver_handoff`` is meant to run inside the ``hand_off_case`` activity, after the outbox row
is recorded (the caller passes the recorded body):

1. if ``partner_handoffs`` already holds the partner's reference for the key, it is returned
   and the partner is not called;
2. otherwise the package is built and the row committed as ``pending`` first (so a report that
   arrives while the mandate is being created finds its hand-off);
3. under that row's lock the partner is called with the key as ``Idempotency-Key`` and the
   package recorded in step 2 (the recorded package stands, as the recorded body does), and its
   reference is stored. A retry after a crash, even one after the partner accepted the
   mandate, asks again with the same key and body and gets the same mandate back.

Errors are ``ApplicationError``s by ``type``: ``PartnerUnavailable`` and ``PartnerAuthFailed``
may be retried; ``PartnerRejected``, ``PartnerNotConfigured``, ``PartnerMismatch`` and
``IdempotencyConflict`` may not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channel_requests import ChannelReceipt, ChannelRequest
from activities.partners.client import (
    Mandate,
    PartnerAuthFailed,
    PartnerClient,
    PartnerNotConfigured,
    PartnerRejected,
    PartnerUnavailable,
)
from activities.partners.package import HandoffPackage, build_package
from activities.partners.settings import handoff_partner
from storage.debtor_vault import DebtorVault
from storage.tables import channel_outbox, partner_handoffs

log = logging.getLogger("recouvre.partners")

PENDING = "pending"
SUBMITTED = "submitted"
MAX_REFERENCE = 64


def history_entry(status: str, source: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "at": datetime.now(UTC).isoformat(), "source": source, **extra}


def _activity_workflow_id() -> str | None:
    return activity.info().workflow_id if activity.in_activity() else None


def _fail(message: str, kind: str, *, retryable: bool = False) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=not retryable)


async def deliver_handoff(
    engine: AsyncEngine,
    client: PartnerClient,
    request: ChannelRequest,
    document_body: str,
    *,
    workflow_id: str | None = None,
) -> str:
    """Hand ``request``'s case to its partner (once per key); return the partner's reference.

    ``document_body`` is the rendered hand-off document (the outbox row's body). ``workflow_id``
    is the case's workflow, for the partner's reports; inside an activity it defaults to the
    calling workflow, elsewhere the reports find it through the ``cases`` table."""
    reference, _ = await _deliver(engine, client, request, document_body, workflow_id)
    return reference


async def handoff_to_partner(
    engine: AsyncEngine,
    client: PartnerClient,
    request: ChannelRequest,
    receipt: ChannelReceipt,
    vault: DebtorVault | None = None,
) -> ChannelReceipt:
    """For ``hand_off_case``: deliver the hand-off recorded for ``request`` (``receipt`` is the
    outbox's) and return a receipt whose reference is the partner's. The recorded document
    is opened with the debtor's data key when it was sealed (``vault``)."""
    async with engine.connect() as conn:
        body = (
            await conn.execute(
                select(channel_outbox.c.body).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).scalar_one()
        if vault is not None:
            body = await vault.open_text(conn, request.tenant, request.debtor_id, "outbox", body)
    reference, duplicate = await _deliver(engine, client, request, body, None)
    return ChannelReceipt(
        reference=reference,
        recorded_at=receipt.recorded_at,
        duplicate=receipt.duplicate and duplicate,
        summary=f"{receipt.summary} [{request.partner} {reference}]",
    )


async def _deliver(
    engine: AsyncEngine,
    client: PartnerClient,
    request: ChannelRequest,
    document_body: str,
    workflow_id: str | None,
) -> tuple[str, bool]:
    try:
        kind = handoff_partner(request.partner)
    except ValueError as err:
        raise _fail(f"request {request.idempotency_key!r}: {err}", "PartnerMismatch") from err
    key = request.idempotency_key
    workflow_id = workflow_id or _activity_workflow_id()
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(partner_handoffs).where(partner_handoffs.c.idempotency_key == key)
            )
        ).first()
    if row is not None:
        _check_same(request, row)
        if row.partner_reference is not None:
            log.info(
                "hand-off %s already with %s as %s", key, row.partner_kind, row.partner_reference
            )
            return row.partner_reference, True
    if not client.supports(kind):
        raise _fail(f"no partner is configured for {kind!r}", "PartnerNotConfigured")
    if row is None:
        package = await build_package(engine, request, document_body)
        async with engine.begin() as conn:
            await conn.execute(
                insert(partner_handoffs)
                .values(
                    idempotency_key=key,
                    case_id=request.case_id,
                    tenant=request.tenant,
                    step=request.step,
                    workflow_id=workflow_id,
                    partner_kind=kind,
                    status=PENDING,
                    status_history=[history_entry(PENDING, "recouvre")],
                    package=package.model_dump(mode="json"),
                    package_sha256=package.sha256,
                    document_sha256=package.document.sha256,
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(partner_handoffs)
                .where(partner_handoffs.c.idempotency_key == key)
                .with_for_update()
            )
        ).one()
        _check_same(request, row)
        if row.partner_reference is not None:
            return row.partner_reference, True
        package = HandoffPackage.model_validate(row.package)
        mandate = await _create(client, package)
        now = datetime.now(UTC)
        entry = history_entry(
            SUBMITTED, kind, reference=mandate.reference, replayed=mandate.replayed
        )
        await conn.execute(
            update(partner_handoffs)
            .where(partner_handoffs.c.idempotency_key == key)
            .values(
                partner_reference=mandate.reference,
                status=SUBMITTED,
                submitted_at=now,
                updated_at=now,
                workflow_id=row.workflow_id or workflow_id,
                status_history=[*row.status_history, entry],
            )
        )
    log.info("hand-off %s delivered to %s as %s", key, kind, mandate.reference)
    return mandate.reference, False


async def _create(client: PartnerClient, package: HandoffPackage) -> Mandate:
    key, kind = package.idempotency_key, package.partner_kind
    try:
        mandate = await client.create_mandate(package)
    except PartnerRejected as err:
        raise _fail(f"{kind} refused hand-off {key!r}: {err}", "PartnerRejected") from err
    except PartnerAuthFailed as err:
        raise _fail(
            f"{kind} refused recouvre's API key for {key!r}: {err}",
            "PartnerAuthFailed",
            retryable=True,
        ) from err
    except PartnerNotConfigured as err:
        raise _fail(str(err), "PartnerNotConfigured") from err
    except PartnerUnavailable as err:
        raise _fail(
            f"{kind} unavailable for {key!r}: {err}", "PartnerUnavailable", retryable=True
        ) from err
    if mandate.idempotency_key != key:
        raise _fail(
            f"{kind} answered hand-off {key!r} with the mandate of {mandate.idempotency_key!r}",
            "PartnerRejected",
        )
    if not mandate.reference or len(mandate.reference) > MAX_REFERENCE:
        raise _fail(
            f"{kind} returned an unusable reference {mandate.reference!r} for {key!r}",
            "PartnerRejected",
        )
    return mandate


def _check_same(request: ChannelRequest, row: Any) -> None:
    if row.case_id != request.case_id or row.partner_kind != request.partner:
        raise _fail(
            f"idempotency key {request.idempotency_key!r} was handed to {row.partner_kind!r} for "
            f"case {row.case_id!r}; refusing to reuse it for {request.partner!r} on case "
            f"{request.case_id!r}",
            "IdempotencyConflict",
        )
