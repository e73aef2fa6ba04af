"""Starting a payment on Stripe Checkout for the debtor's whole open balance
(services/api/stripe_checkout.py), against the real stripe-mock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.deps import Runtime
from services.api.errors import ApiError
from services.api.stripe_checkout import start_checkout
from tests.payments.conftest import (
    CANCEL_URL,
    SUCCESS_URL,
    debtor_with_invoices,
    payment_rows,
    read_case,
)
from tests.support.service import Service


async def test_a_checkout_is_for_the_whole_open_balance_shared_by_c_civ_1342_10(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor = await debtor_with_invoices(
        service, [("200.00", "2026-11-15"), ("100.00", "2026-10-15")]
    )
    newer, older = debtor.case_ids
    balances = {c: Decimal((await read_case(service, c))["balance"]) for c in debtor.case_ids}

    url = await start_checkout(
        payments_runtime, "acme", debtor.debtor_id, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
    )

    assert url is not None and url.startswith("https://"), url  # stripe-mock's fixture URL
    [row] = await payment_rows(engine, debtor.debtor_id)
    assert row.payment_id.startswith("pay-") and row.tenant == "acme"
    assert (row.provider, row.status, row.currency) == ("stripe", "created", "EUR")
    assert row.session_id and row.session_id.startswith("cs_"), "Stripe's session is kept"
    assert row.amount == sum(balances.values())
    shares = [(s["case_id"], Decimal(s["amount"])) for s in row.allocation["shares"]]
    assert shares == [(older, balances[older]), (newer, balances[newer])], (
        "C. civ. 1342-10: the invoice due first is imputed first"
    )
    assert Decimal(row.allocation["unallocated"]) == 0


async def test_each_checkout_is_a_payment_of_its_own(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor = await debtor_with_invoices(service, [("80.00", "2026-10-01")])
    for _ in range(2):
        await start_checkout(
            payments_runtime,
            "acme",
            debtor.debtor_id,
            success_url=SUCCESS_URL,
            cancel_url=CANCEL_URL,
        )
    rows = await payment_rows(engine, debtor.debtor_id)
    assert len({row.payment_id for row in rows}) == 2


async def test_a_tenant_without_stripe_keys_is_offered_no_checkout(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor = await debtor_with_invoices(service, [("50.00", "2026-10-01")], tenant="other")
    url = await start_checkout(
        payments_runtime, "other", debtor.debtor_id, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
    )
    assert url is None
    assert await payment_rows(engine, debtor.debtor_id) == []


async def test_an_unknown_debtor_gets_no_checkout(payments_runtime: Runtime) -> None:
    with pytest.raises(ApiError) as raised:
        await start_checkout(
            payments_runtime,
            "acme",
            "dbt-000000000000000000000000",
            success_url=SUCCESS_URL,
            cancel_url=CANCEL_URL,
        )
    assert raised.value.status == 404


async def test_a_debtor_who_owes_nothing_gets_no_checkout(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor = await debtor_with_invoices(service, [("60.00", "2026-10-01")])
    [case_id] = debtor.case_ids
    async with service.client("erp") as erp:
        paid = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "60.00", "paid_on": "2026-11-02", "reference": "VIR-ALL"},
        )
    assert paid.status_code == 200, paid.text
    await read_case(service, case_id)  # the read model has the payment
    with pytest.raises(ApiError) as raised:
        await start_checkout(
            payments_runtime,
            "acme",
            debtor.debtor_id,
            success_url=SUCCESS_URL,
            cancel_url=CANCEL_URL,
        )
    assert (raised.value.status, raised.value.code) == (409, "no_open_invoice")
    assert await payment_rows(engine, debtor.debtor_id) == []


async def test_stripe_unreachable_is_a_503(
    service: Service, engine: AsyncEngine, payments_runtime: Runtime
) -> None:
    debtor = await debtor_with_invoices(service, [("70.00", "2026-10-01")])
    settings = service.settings.model_copy(update={"stripe_api_base": "http://127.0.0.1:9"})
    offline = Runtime(
        settings=settings,
        engine=engine,
        temporal=payments_runtime.temporal,
        keys={},
        rates=payments_runtime.rates,
    )
    with pytest.raises(ApiError) as raised:
        await start_checkout(
            offline, "acme", debtor.debtor_id, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
        )
    assert raised.value.status == 503
    [row] = await payment_rows(engine, debtor.debtor_id)
    assert row.session_id is None, "no session: nothing can pay this one"
