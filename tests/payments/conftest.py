"""The online payment rig: the session's service (its stripe-mock, tenant acme's Stripe
keys) and a runtime like the API's for ``start_checkout``, which the portal calls in
process; a debtor with open invoices registered through the API; Stripe's events signed
by hand, as Stripe documents its signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from legal import load_rate_table
from services.api.deps import Runtime
from services.temporal_client import connect_temporal
from storage.tables import online_payments
from tests.support.invoices import fresh_siren, invoice_payload
from tests.support.service import STRIPE_WEBHOOK_SECRET, Service

SUCCESS_URL = "https://portal.example/paid"
CANCEL_URL = "https://portal.example/cancelled"


@pytest.fixture(scope="module")
async def payments_runtime(service: Service, engine: AsyncEngine) -> AsyncIterator[Runtime]:
    yield Runtime(
        settings=service.settings,
        engine=engine,
        temporal=await connect_temporal(service.settings),
        keys={},
        rates=load_rate_table(),
    )


@dataclass(frozen=True)
class Debtor:
    debtor_id: str
    case_ids: list[str]
    """In the order of the amounts given."""


def _debtor_body() -> dict[str, Any]:
    token = uuid.uuid4().hex[:8]
    return {
        "kind": "business",
        "name": f"Menuiserie Caron {token}",
        "siren": fresh_siren(),
        "email": f"compta.{token}@caron.example",
        "address": {
            "line1": f"3 rue du Bois {token}",
            "postal_code": "80000",
            "city": "Amiens",
            "country": "FR",
        },
    }


async def read_case(
    service: Service, case_id: str, *, live: bool = False, who: str = "operator"
) -> dict[str, Any]:
    """The case as an operator reads it (``live``: from its workflow)."""
    params = {"consistency": "live"} if live else {}
    async with service.client(who) as operator:
        response = await operator.get(f"/v1/cases/{case_id}", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def debtor_with_invoices(
    service: Service, invoices: list[tuple[str, str]], *, tenant: str = "acme"
) -> Debtor:
    """One debtor of ``tenant`` (acme or other), one case per (amount, due date), registered
    as the ERP does."""
    erp, operator = ("erp", "operator") if tenant == "acme" else ("other_erp", "other_operator")
    debtor = _debtor_body()
    async with service.client(erp) as client:
        created = [
            await client.post(
                "/v1/invoices",
                json=invoice_payload(
                    policy="demo",
                    debtor=debtor,
                    amount_due=amount,
                    issue_date="2026-09-01",
                    due_date=due,
                ),
            )
            for amount, due in invoices
        ]
    assert all(c.status_code == 201 for c in created), [c.text for c in created]
    case_ids = [c.json()["case_id"] for c in created]
    views = [await read_case(service, c, who=operator) for c in case_ids]  # in the read model
    assert len({v["debtor_id"] for v in views}) == 1
    return Debtor(views[0]["debtor_id"], case_ids)


async def payment_rows(engine: AsyncEngine, debtor_id: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(online_payments).where(online_payments.c.debtor_id == debtor_id)
        )
        return list(rows)


def stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """``Stripe-Signature`` as Stripe documents it: ``t=<unix time>,v1=<hex>``, the hex
    being HMAC-SHA256 keyed with the endpoint's secret over ``<t>.<raw body>``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def session_event(
    event_type: str,
    payment: Any,
    *,
    amount_total: int | None = None,
    payment_status: str = "paid",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A Checkout Session event for our payment row, shaped as Stripe sends it."""
    cents = int(payment.amount * 100) if amount_total is None else amount_total
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {
            "object": {
                "id": payment.session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": payment_status,
                "amount_total": cents,
                "currency": "eur",
                "client_reference_id": payment.payment_id,
                "metadata": {
                    "payment_id": payment.payment_id,
                    "tenant": payment.tenant,
                    "debtor_id": payment.debtor_id,
                },
            }
        },
    }


async def send_event(
    service: Service,
    event: dict[str, Any],
    *,
    tenant: str = "acme",
    secret: str = STRIPE_WEBHOOK_SECRET,
    signature: str | None = None,
) -> httpx.Response:
    """POST the event to the tenant's webhook URL, signed with ``secret`` (or with the
    ``signature`` given)."""
    payload = json.dumps(event).encode()
    header = signature or stripe_signature(payload, secret, int(time.time()))
    async with service.client(None) as stripe:
        return await stripe.post(
            f"/v1/payments/stripe/{tenant}/webhook",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
