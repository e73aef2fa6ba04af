"""Stripe's webhooks: ``POST /v1/payments/stripe/{tenant}/webhook``.

Each tenant configures this URL, with its own tenant name, as a webhook endpoint of its
Stripe account (docs/online-payment.md); the events are checked with that tenant's signing
secret (the ``Stripe-Signature`` header, as ``stripe.Webhook.construct_event`` checks it:
HMAC-SHA256 of ``{t}.{body}``, within five minutes). No API key: the signature is the
authentication.

What an event does:

- ``checkout.session.completed`` with ``payment_status`` ``paid`` (a card), or
  ``checkout.session.async_payment_succeeded`` (a SEPA debit, days later): the payment
  started on the portal (``online_payments``, found by our ``metadata.payment_id``) is
  recorded on the debtor's invoices with the allocation stored at checkout, as the debtor
  payment ``stripe/{payment_id}`` (services/api/debtor_payment_apply.py), then marked paid.
  An amount other than the one the session was created for is not applied
  (``amount_mismatch``: an operator looks at it).
- ``checkout.session.async_payment_failed``: the payment is marked failed.
- anything else: acknowledged, ``ignored``.

Each event is processed once (``provider_events``, by Stripe's event id): a redelivery is
answered 200 with the outcome of the first. The event is recorded only once its outcome
is final, so a 503 (Temporal or the database unreachable while applying) leaves it
unrecorded and Stripe's retry applies it; the shares already applied are not applied
again (each case applies update ``payment/stripe/{payment_id}/{amount}`` once).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import stripe
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from legal.allocation import Allocation
from services.api.debtor_payment_apply import DebtorPaymentIn, record_debtor_payment
from services.api.deps import Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse
from services.api.stripe_checkout import PROVIDER, cents, tenant_keys
from storage.tables import online_payments, provider_events

log = logging.getLogger("recouvre.api.stripe_webhooks")

router = APIRouter(prefix="/v1/payments/stripe", tags=["payments"])

PARIS = ZoneInfo("Europe/Paris")
SIGNATURE_HEADER = "Stripe-Signature"
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
FAILED_EVENT = "checkout.session.async_payment_failed"
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 503)
}
Tenant = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", max_length=64)]


class StripeWebhookAck(BaseModel):
    """What recouvre made of the event (Stripe shows it in the endpoint's delivery log)."""

    event_id: str
    outcome: str
    """paid, paid_not_all_applied, not_applied, pending, already_paid, amount_mismatch,
    unknown_payment, failed, ignored."""
    duplicate: bool = False


def verified_event(payload: bytes, signature: str | None, webhook_secret: str) -> dict[str, Any]:
    """The event, once its signature checks (400 naming the header when it does not)."""
    if not signature:
        raise ApiError(400, "bad_request", f"{SIGNATURE_HEADER}: missing header")
    try:
        stripe.Webhook.construct_event(payload, signature, webhook_secret)
    except stripe.SignatureVerificationError:
        raise ApiError(
            400, "bad_request", f"{SIGNATURE_HEADER}: the signature does not verify"
        ) from None
    except ValueError:
        raise ApiError(400, "bad_request", "body: not a JSON Stripe event") from None
    event = json.loads(payload)
    if not isinstance(event, dict):
        raise ApiError(400, "bad_request", "body: not a Stripe event object")
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise ApiError(400, "bad_request", "id: missing or not an event id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        raise ApiError(400, "bad_request", "type: missing or not an event type")
    return event


async def _recorded(conn: AsyncConnection, event_id: str) -> str | None:
    found = await conn.execute(
        select(provider_events.c.outcome).where(
            provider_events.c.provider == PROVIDER, provider_events.c.event_id == event_id
        )
    )
    outcome: str | None = found.scalar_one_or_none()
    return outcome


async def _record(
    conn: AsyncConnection, tenant: str, event: dict[str, Any], outcome: str
) -> tuple[str, bool]:
    """Record the event's outcome; (the recorded outcome, whether another delivery of the
    same event recorded it first)."""
    fresh = (
        await conn.execute(
            insert(provider_events)
            .values(
                provider=PROVIDER,
                event_id=event["id"],
                tenant=tenant,
                event_type=event["type"],
                outcome=outcome,
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(provider_events.c.outcome)
        )
    ).first()
    if fresh is not None:
        return outcome, False
    return await _recorded(conn, event["id"]) or outcome, True


def _session(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    found = data.get("object") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def _payment_id(session: dict[str, Any]) -> str | None:
    metadata = session.get("metadata")
    found = metadata.get("payment_id") if isinstance(metadata, dict) else None
    found = found or session.get("client_reference_id")
    return found if isinstance(found, str) and len(found) <= 40 else None


async def _payment_row(conn: AsyncConnection, tenant: str, session: dict[str, Any]) -> Any | None:
    """Our payment row the session names, if it is this tenant's (locked)."""
    payment_id = _payment_id(session)
    metadata = session.get("metadata")
    named_tenant = metadata.get("tenant") if isinstance(metadata, dict) else None
    if payment_id is None or named_tenant not in (None, tenant):
        return None
    row = (
        await conn.execute(
            select(online_payments)
            .where(
                online_payments.c.payment_id == payment_id,
                online_payments.c.provider == PROVIDER,
            )
            .with_for_update()
        )
    ).first()
    return row if row is not None and row.tenant == tenant else None


async def _apply_paid(runtime: Runtime, tenant: str, event: dict[str, Any]) -> tuple[str, bool]:
    session = _session(event)
    async with runtime.engine.begin() as conn:
        row = await _payment_row(conn, tenant, session)
        if row is None:
            log.warning("stripe event %s names no payment of %s", event["id"], tenant)
            return await _record(conn, tenant, event, "unknown_payment")
        currency = str(session.get("currency") or "").upper()
        if session.get("amount_total") != cents(row.amount) or currency != row.currency:
            log.warning("stripe event %s: amount differs from %s's", event["id"], row.payment_id)
            return await _record(conn, tenant, event, "amount_mismatch")
        if row.status == "paid":
            return await _record(conn, tenant, event, "already_paid")
        if (
            event["type"] == "checkout.session.completed"
            and session.get("payment_status") != "paid"
        ):
            return await _record(conn, tenant, event, "pending")  # a debit: async_payment_*
        # The day it was first reported paid, kept: a retry records the same payment.
        paid_at = row.paid_at or datetime.now(UTC)
        await conn.execute(
            update(online_payments)
            .where(online_payments.c.payment_id == row.payment_id)
            .values(paid_at=paid_at)
        )
    payment = DebtorPaymentIn(
        amount=row.amount,
        paid_on=paid_at.astimezone(PARIS).date(),
        reference=f"stripe/{row.payment_id}",
    ).model_copy(update={"by": f"stripe:{row.payment_id}@{tenant}"})
    try:
        result = await record_debtor_payment(
            runtime,
            tenant,
            row.debtor_id,
            payment,
            allocation=Allocation.model_validate(row.allocation),
        )
    except ApiError as err:
        if err.status >= 500:
            raise  # not recorded: Stripe retries the event
        log.warning("stripe payment %s not applied: %s", row.payment_id, err.code)
        outcome = "not_applied"
    else:
        unapplied = [share.case_id for share in result.shares if not share.applied]
        if unapplied:
            log.warning("stripe payment %s: not applied to %s", row.payment_id, unapplied)
        outcome = "paid_not_all_applied" if unapplied else "paid"
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(online_payments)
            .where(online_payments.c.payment_id == row.payment_id)
            .values(status="paid", provider_event_id=event["id"])
        )
        return await _record(conn, tenant, event, outcome)


async def _mark_failed(runtime: Runtime, tenant: str, event: dict[str, Any]) -> tuple[str, bool]:
    async with runtime.engine.begin() as conn:
        row = await _payment_row(conn, tenant, _session(event))
        if row is None:
            return await _record(conn, tenant, event, "unknown_payment")
        if row.status == "paid":
            return await _record(conn, tenant, event, "already_paid")
        await conn.execute(
            update(online_payments)
            .where(online_payments.c.payment_id == row.payment_id)
            .values(status="failed", provider_event_id=event["id"])
        )
        return await _record(conn, tenant, event, "failed")


@router.post(
    "/{tenant}/webhook",
    status_code=200,
    response_model=StripeWebhookAck,
    responses=RESPONSES,
    summary="Webhook from Stripe (Stripe-Signature)",
)
async def stripe_webhook(tenant: Tenant, request: Request, runtime: RuntimeDep) -> StripeWebhookAck:
    """One signed Stripe event for the tenant's account; 200 once processed (or already);
    400 when the signature does not verify; 404 for a tenant without Stripe keys; 503 when
    the payment could not be applied yet (Stripe retries)."""
    keys = tenant_keys(runtime, tenant)
    if keys is None:
        raise ApiError(404, "not_found", f"tenant: {tenant} takes no online payment")
    event = verified_event(
        await request.body(), request.headers.get(SIGNATURE_HEADER), keys.webhook_secret
    )
    async with runtime.engine.connect() as conn:
        previous = await _recorded(conn, event["id"])
    if previous is not None:
        return StripeWebhookAck(event_id=event["id"], outcome=previous, duplicate=True)
    if event["type"] in PAID_EVENTS:
        outcome, duplicate = await _apply_paid(runtime, tenant, event)
    elif event["type"] == FAILED_EVENT:
        outcome, duplicate = await _mark_failed(runtime, tenant, event)
    else:
        async with runtime.engine.begin() as conn:
            outcome, duplicate = await _record(conn, tenant, event, "ignored")
    return StripeWebhookAck(event_id=event["id"], outcome=outcome, duplicate=duplicate)
