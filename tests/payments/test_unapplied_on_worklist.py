"""Money received and shown nowhere would be a lie by omission: a debtor pays by card an
invoice the ERP reports paid by transfer meanwhile; Stripe's event cannot be applied to
the closed case, and the operator finds the payment on the console's worklist."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.deps import Runtime
from services.api.stripe_checkout import start_checkout
from tests.console.conftest import browser, context, page, sign_in
from tests.payments.conftest import (
    CANCEL_URL,
    SUCCESS_URL,
    debtor_with_invoices,
    payment_rows,
    read_case,
    send_event,
    session_event,
)
from tests.support.service import Service

__all__ = ["browser", "context", "page"]
NBSP = "\u00a0"


async def test_a_card_payment_for_an_invoice_paid_meanwhile_is_listed_to_allocate(
    page: Page, service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor = await debtor_with_invoices(service, [("215.00", "2026-10-15")])
    [case_id] = debtor.case_ids
    url = await start_checkout(
        payments_runtime, "acme", debtor.debtor_id, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
    )
    assert url is not None
    [payment] = await payment_rows(engine, debtor.debtor_id)
    async with service.client("erp") as erp:  # the transfer arrives first
        paid = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "215.00", "paid_on": "2026-11-20", "reference": "VIR-DOUBLE"},
        )
    assert paid.status_code == 200 and paid.json()["stage"] == "closed", paid.text

    confirmed = await send_event(service, session_event("checkout.session.completed", payment))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["outcome"] in ("paid_not_all_applied", "not_applied")
    view = await read_case(service, case_id, live=True)
    assert [p["reference"] for p in view["payments"]] == ["VIR-DOUBLE"], "not applied twice"

    await sign_in(page, "operator")
    card = page.locator(f'#unapplied-payments li[data-payment-id="{payment.payment_id}"]')
    await expect(card).to_contain_text(f"215,00{NBSP}€")
    await expect(card).to_contain_text(f"stripe/{payment.payment_id}")
    await expect(card.get_by_role("link", name="dossier 1")).to_have_attribute(
        "href", f"/cases/{case_id}"
    )
