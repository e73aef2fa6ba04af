"""Stripe's signed events recording the debtor's payment on its invoices
(inbound/stripe_webhooks.py): through the real API, worker, Temporal and PostgreSQL, the
checkout made against stripe-mock, the events signed by hand as Stripe documents."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import create_app
from services.api.deps import Runtime
from services.api.stripe_checkout import start_checkout
from storage.tables import provider_events
from tests.payments.conftest import (
    CANCEL_URL,
    SUCCESS_URL,
    Debtor,
    debtor_with_invoices,
    payment_rows,
    read_case,
    send_event,
    session_event,
    stripe_signature,
)
from tests.support.service import Service
from tests.support.serving import free_port, serve

COMPLETED = "checkout.session.completed"
SUCCEEDED = "checkout.session.async_payment_succeeded"
FAILED = "checkout.session.async_payment_failed"


async def _checkout(
    service: Service, engine: AsyncEngine, runtime: Runtime, invoices: list[tuple[str, str]]
) -> tuple[Debtor, Any]:
    debtor = await debtor_with_invoices(service, invoices)
    url = await start_checkout(
        runtime, "acme", debtor.debtor_id, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
    )
    assert url is not None
    [row] = await payment_rows(engine, debtor.debtor_id)
    return debtor, row


async def _recorded(engine: AsyncEngine, event_id: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(provider_events).where(provider_events.c.event_id == event_id)
        )
        return list(rows)


async def _balances(service: Service, debtor: Debtor) -> list[str]:
    return [(await read_case(service, c, live=True))["balance"] for c in debtor.case_ids]


async def test_a_paid_checkout_pays_each_invoice_once_and_closes_them(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor, payment = await _checkout(
        service, engine, payments_runtime, [("120.00", "2026-10-15"), ("80.00", "2026-11-15")]
    )
    event = session_event(COMPLETED, payment)

    first = await send_event(service, event)
    again = await send_event(service, event)

    assert first.status_code == 200, first.text
    assert first.json() == {"event_id": event["id"], "outcome": "paid", "duplicate": False}
    assert again.status_code == 200, again.text
    assert again.json() == {"event_id": event["id"], "outcome": "paid", "duplicate": True}
    for case_id in debtor.case_ids:
        view = await read_case(service, case_id, live=True)
        assert (view["stage"], view["outcome"], view["balance"]) == ("closed", "paid", "0.00")
        [paid] = view["payments"]  # the redelivery applied nothing
        assert paid["reference"] == f"stripe/{payment.payment_id}"
        assert paid["by"] == f"stripe:{payment.payment_id}@acme"
    [row] = await payment_rows(engine, debtor.debtor_id)
    assert (row.status, row.provider_event_id) == ("paid", event["id"])
    assert row.paid_at is not None
    [recorded] = await _recorded(engine, event["id"])
    assert (recorded.tenant, recorded.event_type, recorded.outcome) == ("acme", COMPLETED, "paid")

    # Another event for the same payment (Stripe sends both kinds for some methods).
    late = await send_event(service, session_event(SUCCEEDED, payment))
    assert late.status_code == 200 and late.json()["outcome"] == "already_paid"
    for case_id in debtor.case_ids:
        assert len((await read_case(service, case_id, live=True))["payments"]) == 1


async def test_a_bad_signature_is_refused_and_changes_nothing(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor, payment = await _checkout(service, engine, payments_runtime, [("90.00", "2026-10-15")])
    event = session_event(COMPLETED, payment)

    forged = await send_event(service, event, secret="whsec_not_the_tenants")
    unsigned = await send_event(service, event, signature="t=1,v1=00")
    stale = await send_event(
        service,
        event,
        signature=stripe_signature(b"{}", "whsec_not_the_tenants", int(time.time()) - 3600),
    )

    for refused in (forged, unsigned, stale):
        assert refused.status_code == 400, refused.text
        assert "Stripe-Signature" in refused.json()["error"]["message"]
    assert await _recorded(engine, event["id"]) == []
    [row] = await payment_rows(engine, debtor.debtor_id)
    assert (row.status, row.paid_at) == ("created", None)
    assert await _balances(service, debtor) == ["90.00"]

    # The genuine delivery still applies: the refusals recorded nothing.
    genuine = await send_event(service, event)
    assert genuine.status_code == 200 and genuine.json()["outcome"] == "paid", genuine.text


async def test_an_amount_other_than_the_checkouts_is_not_applied(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor, payment = await _checkout(
        service, engine, payments_runtime, [("150.00", "2026-10-15"), ("50.00", "2026-10-20")]
    )
    event = session_event(COMPLETED, payment, amount_total=int(payment.amount * 100) - 1)

    answered = await send_event(service, event)

    assert answered.status_code == 200, answered.text
    assert answered.json()["outcome"] == "amount_mismatch"
    assert await _balances(service, debtor) == ["150.00", "50.00"]
    [row] = await payment_rows(engine, debtor.debtor_id)
    assert row.status == "created"
    [recorded] = await _recorded(engine, event["id"])
    assert recorded.outcome == "amount_mismatch"


async def test_a_sepa_debit_is_applied_when_it_succeeds(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor, payment = await _checkout(service, engine, payments_runtime, [("75.00", "2026-10-15")])

    completed = await send_event(
        service, session_event(COMPLETED, payment, payment_status="unpaid")
    )
    assert completed.status_code == 200 and completed.json()["outcome"] == "pending"
    assert await _balances(service, debtor) == ["75.00"], "not paid until the debit clears"

    succeeded = await send_event(service, session_event(SUCCEEDED, payment))
    assert succeeded.status_code == 200 and succeeded.json()["outcome"] == "paid", succeeded.text
    assert await _balances(service, debtor) == ["0.00"]


async def test_a_failed_sepa_debit_marks_the_payment_failed(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor, payment = await _checkout(service, engine, payments_runtime, [("65.00", "2026-10-15")])

    failed = await send_event(service, session_event(FAILED, payment))

    assert failed.status_code == 200 and failed.json()["outcome"] == "failed", failed.text
    [row] = await payment_rows(engine, debtor.debtor_id)
    assert row.status == "failed"
    assert await _balances(service, debtor) == ["65.00"]


async def test_other_events_and_unknown_payments_are_acknowledged_only(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor, payment = await _checkout(service, engine, payments_runtime, [("55.00", "2026-10-15")])
    other = {**session_event(COMPLETED, payment), "type": "charge.refunded"}
    stranger = session_event(COMPLETED, payment)
    stranger["data"]["object"]["metadata"]["payment_id"] = "pay-000000000000000000000000"
    stranger["data"]["object"]["client_reference_id"] = None

    ignored = await send_event(service, other)
    unknown = await send_event(service, stranger)

    assert ignored.status_code == 200 and ignored.json()["outcome"] == "ignored"
    assert unknown.status_code == 200 and unknown.json()["outcome"] == "unknown_payment"
    assert await _balances(service, debtor) == ["55.00"]


async def test_a_tenant_without_stripe_keys_has_no_webhook(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    _, payment = await _checkout(service, engine, payments_runtime, [("45.00", "2026-10-15")])
    event = session_event(COMPLETED, payment)
    for tenant in ("other", "nobody"):
        answered = await send_event(service, event, tenant=tenant)
        assert answered.status_code == 404, answered.text
    assert await _recorded(engine, event["id"]) == []


async def test_a_payment_that_cannot_be_applied_yet_is_left_for_stripes_retry(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    """While Temporal is unreachable the event answers 503 and is not recorded as
    processed: Stripe's next delivery applies it."""
    debtor, payment = await _checkout(
        service, engine, payments_runtime, [("110.00", "2026-10-15"), ("40.00", "2026-10-20")]
    )
    event = session_event(COMPLETED, payment)
    no_temporal = service.settings.model_copy(
        update={"temporal_address": f"127.0.0.1:{free_port()}", "temporal_rpc_timeout_s": 1.0}
    )
    async with serve(create_app(no_temporal)) as base_url:
        refused = await send_event(Service(base_url, no_temporal, service.dev_env), event)

    assert refused.status_code == 503, refused.text
    assert await _recorded(engine, event["id"]) == []
    [row] = await payment_rows(engine, debtor.debtor_id)
    assert row.status == "created"

    retried = await send_event(service, event)
    assert retried.status_code == 200 and retried.json()["outcome"] == "paid", retried.text
    assert await _balances(service, debtor) == ["0.00", "0.00"]
