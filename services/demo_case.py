"""The demo case `make run` registers, so that a new user has a case to work in the
console at once: a B2B invoice on the `demo` policy (reminders after seconds, not days),
registered through the API itself with the printed ERP key, one per day (the same day
again is the same invoice: 200, nothing new)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

import httpx

log = logging.getLogger("recouvre.demo")

READY_WITHIN_S = 60.0


def demo_invoice(today: date) -> dict[str, Any]:
    """Today's demo invoice: 20 days overdue, for a fictitious debtor whose mail the
    embedded mailbox receives."""
    return {
        "invoice_number": f"DEMO-{today:%Y%m%d}",
        "issue_date": str(today - timedelta(days=50)),
        "due_date": str(today - timedelta(days=20)),
        "currency": "EUR",
        "amount_due": "1200.00",
        "policy": "demo",
        "debtor": {
            "kind": "business",
            "name": "Durand SARL (démo)",
            "siren": "732829320",
            "email": "compta@durand.example",
            "address": {
                "line1": "12 rue de la Paix",
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
        },
    }


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
