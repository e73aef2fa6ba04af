"""Stripe Checkout for the debtor portal: a session for the debtor's open balance.

The balance and its allocation (C. civ. 1342-10) are computed now, when the debtor chooses
to pay, and stored with the payment (``online_payments``): the webhook that reports the
payment (inbound/stripe_webhooks.py) applies exactly the shares the debtor was shown,
whatever happened to the invoices' order in between. Our own ``payment_id`` travels in the
session's metadata and ``client_reference_id``, and is the request's idempotency key: the
webhook finds the payment by it, never by Stripe's ids.

Each tenant is its own Stripe account: each call builds a client with that tenant's key
(nothing global such as ``stripe.api_key`` is set), pointed at RECOUVRE_STRIPE_API_BASE
when given (stripe-mock in the tests). Nothing personal is sent to Stripe: the line item
names the payment, not the debtor.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import stripe
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from legal.allocation import Allocation, allocate_payment
from projections.case_view_store import debtor_case_views
from services.api.debtor_payment_apply import open_invoices
from services.api.deps import Runtime
from services.api.errors import ApiError
from services.api.stripe_keys import StripeKeys, keys_of
from storage.debtor_vault import UnknownDebtor
from storage.tables import online_payments

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

log = logging.getLogger("recouvre.api.stripe")

PARIS = ZoneInfo("Europe/Paris")
PROVIDER = "stripe"
CURRENCY = "EUR"
STRIPE_TIMEOUT_S = 20.0
LINE_ITEM_NAME = "Règlement de vos factures en attente"


def new_payment_id() -> str:
    """``pay-`` and 24 hex digits: short enough that ``stripe:<id>@<tenant>`` fits the
    100 characters of an event's ``by``."""
    return f"pay-{secrets.token_hex(12)}"


def cents(amount: Decimal) -> int:
    """Stripe's smallest currency unit; the amounts here have two decimals at most."""
    return int((amount * 100).to_integral_value())


def tenant_keys(runtime: Runtime, tenant: str) -> StripeKeys | None:
    """The tenant's Stripe keys; 503 when RECOUVRE_STRIPE_KEYS cannot be read."""
    try:
        return keys_of(runtime.settings.stripe_keys, tenant)
    except ValueError as err:
        log.error("online payments unavailable: %s", err)
        raise ApiError(503, "unavailable", "online payment is misconfigured") from None


def stripe_client(
    runtime: Runtime, keys: StripeKeys
) -> tuple[stripe.StripeClient, stripe.HTTPXClient]:
    """A client of the tenant's account and its HTTP client (to close after use)."""
    http = stripe.HTTPXClient(timeout=STRIPE_TIMEOUT_S)
    base = runtime.settings.stripe_api_base.rstrip("/")
    client = stripe.StripeClient(
        keys.secret_key,
        base_addresses={"api": base} if base else None,
        http_client=http,
        max_network_retries=1,
    )
    return client, http


async def _open_balance(runtime: Runtime, tenant: str, debtor_id: str) -> Allocation:
    """The allocation of the debtor's whole open balance, paid today (Europe/Paris)."""
    async with runtime.engine.connect() as conn:
        try:
            await runtime.debtors.record(conn, tenant, debtor_id)
        except UnknownDebtor:
            raise ApiError(404, "not_found", f"debtor_id: no debtor {debtor_id}") from None
        invoices = open_invoices(await debtor_case_views(conn, tenant, [debtor_id]))
    balance = sum((invoice.balance for invoice in invoices), Decimal("0.00"))
    if not invoices or balance <= 0:
        raise ApiError(409, "no_open_invoice", "debtor_id: the debtor owes nothing")
    return allocate_payment(invoices, balance, datetime.now(PARIS).date())


async def start_checkout(
    runtime: Runtime, tenant: str, debtor_id: str, *, success_url: str, cancel_url: str
) -> str | None:
    """Create a Checkout session for the debtor's whole open balance and return the URL to
    send the debtor to; None when the tenant has no Stripe keys (transfer only).

    404: no such debtor; 409: the debtor owes nothing; 503: Stripe did not answer (the
    payment row stays ``created`` without a session: nothing can pay it)."""
    keys = tenant_keys(runtime, tenant)
    if keys is None:
        return None
    allocation = await _open_balance(runtime, tenant, debtor_id)
    payment_id = new_payment_id()
    async with runtime.engine.begin() as conn:
        await conn.execute(
            insert(online_payments).values(
                payment_id=payment_id,
                tenant=tenant,
                debtor_id=debtor_id,
                provider=PROVIDER,
                amount=allocation.amount,
                currency=CURRENCY,
                allocation=allocation.model_dump(mode="json"),
                status="created",
            )
        )
    # payment_method_types: the explicit list the Checkout API documents and stripe-mock
    # validates; the SDK's typed params (API 2026-10-28) list only its successor
    # allowed_payment_method_types, hence the cast.
    params: dict[str, Any] = {
        "mode": "payment",
        "payment_method_types": ["card", "sepa_debit"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": CURRENCY.lower(),
                    "unit_amount": cents(allocation.amount),
                    "product_data": {"name": LINE_ITEM_NAME},
                },
            }
        ],
        "metadata": {"payment_id": payment_id, "tenant": tenant, "debtor_id": debtor_id},
        "client_reference_id": payment_id,
        "locale": "fr",
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    client, http = stripe_client(runtime, keys)
    try:
        session = await client.v1.checkout.sessions.create_async(
            cast("SessionCreateParams", params), {"idempotency_key": payment_id}
        )
    except stripe.StripeError as err:
        log.warning(
            "stripe checkout for %s of %s failed: %s", payment_id, tenant, type(err).__name__
        )
        raise ApiError(503, "provider_unavailable", "the payment provider did not answer") from None
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(online_payments)
            .where(online_payments.c.payment_id == payment_id)
            .values(session_id=session.id)
        )
    if not session.url:
        raise ApiError(503, "provider_unavailable", "the payment provider gave no checkout URL")
    return session.url
