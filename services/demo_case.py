"""The demo case `make run` registers, so that a new user has a case to work in the
console at once: a B2B invoice on the `demo` policy (reminders after seconds, not days),
registered through the API itself with the printed ERP key, one per day (the same day
again is the same invoice: 200, nothing new)."""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import date, timedelta
from typing import Any

import httpx

from schemas.invoice import InvoiceIn

log = logging.getLogger("recouvre.demo")

READY_WITHIN_S = 60.0


def demo_invoice(today: date) -> dict[str, Any]:
    """Today's demo invoice: the API's documented example (a fictitious debtor whose mail
    the embedded mailbox receives), 20 days overdue, on the demo policy."""
    example: dict[str, Any] = InvoiceIn.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index,assignment]
    body = copy.deepcopy(example)
    body.update(
        invoice_number=f"DEMO-{today:%Y%m%d}",
        issue_date=str(today - timedelta(days=50)),
        due_date=str(today - timedelta(days=20)),
        policy="demo",
    )
    body["debtor"]["name"] = f"{body['debtor']['name']} (démo)"
    return body


async def register_demo_case(api_url: str, erp_key: str, today: date) -> str | None:
    """Wait for the API, register today's demo invoice; its case id, or None (logged)."""
    headers = {"Authorization": f"Bearer {erp_key}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=10) as client:
        deadline = asyncio.get_running_loop().time() + READY_WITHIN_S
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                log.warning("demo case not registered: the API was not ready in time")
                return None
            await asyncio.sleep(0.5)
        answer = await client.post("/v1/invoices", json=demo_invoice(today))
    if answer.status_code not in (200, 201):
        log.warning("demo case not registered: %s %s", answer.status_code, answer.text[:200])
        return None
    case_id = str(answer.json()["case_id"])
    log.info("demo case %s (invoice DEMO-%s): open it in the console", case_id, f"{today:%Y%m%d}")
    return case_id
