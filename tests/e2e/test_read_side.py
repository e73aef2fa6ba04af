"""Invoices through the API -> workflow facts -> event store -> projections -> reports."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore
from projections.projector import project_batch
from tests.e2e.conftest import Service
from tests.support.invoices import invoice_payload


async def _listed(
    operator: httpx.AsyncClient, engine: AsyncEngine, debtor: str
) -> list[dict[str, Any]]:
    for _ in range(100):
        await project_batch(engine, EventStore(engine))  # what the worker's projector does
        page = (await operator.get("/v1/cases", params={"debtor": debtor})).json()
        if page["items"] and page["items"][0]["balance"] == "700.00":
            items: list[dict[str, Any]] = page["items"]
            return items
        await asyncio.sleep(0.2)
    raise AssertionError(f"the case list never showed the payment: {page}")


async def test_a_paid_part_shows_in_the_case_list_and_the_aged_balance(
    service: Service, engine: AsyncEngine
) -> None:
    body = invoice_payload(amount_due="1000.00", due_date="2026-09-30", issue_date="2026-09-01")
    debtor = f"Lecture {body['invoice_number']}"
    body["debtor"].update(kind="consumer", name=debtor)  # consumers are grouped by name
    del body["debtor"]["siren"]
    async with service.client("erp") as erp, service.client("operator") as operator:
        case_id = (await erp.post("/v1/invoices", json=body)).json()["case_id"]
        paid = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "300.00", "paid_on": "2026-10-15", "reference": "VIR-R"},
        )
        assert paid.status_code == 200, paid.text
        [row] = await _listed(operator, engine, debtor)
        aged = await operator.get(
            "/v1/reports/aged-balance", params={"as_of": "2026-11-15", "by": "debtor"}
        )
        async with service.client("other_operator") as other:
            other_tenant = await other.get("/v1/cases", params={"debtor": debtor})

    assert (row["case_id"], row["invoice_number"]) == (case_id, body["invoice_number"])
    assert row["amount_due"] == "1000.00"
    assert aged.status_code == 200, aged.text
    mine = [g for g in aged.json()["debtors"] if g["debtor_name"] == debtor]
    assert len(mine) == 1
    assert mine[0]["days_31_60"] == "700.00", "due 30/09, 46 days overdue on 15/11"
    assert other_tenant.json()["items"] == []
