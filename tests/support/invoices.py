"""Invoice payloads for tests: each call gets its own invoice number."""

from __future__ import annotations

import uuid
from typing import Any


def invoice_payload(**overrides: Any) -> dict[str, Any]:
    """The issue's example invoice with a fresh number; keyword arguments replace fields."""
    body: dict[str, Any] = {
        "invoice_number": f"F-TEST-{uuid.uuid4().hex[:10]}",
        "issue_date": "2026-10-01",
        "due_date": "2026-10-31",
        "currency": "EUR",
        "amount_due": "1200.00",
        "debtor": {
            "kind": "business",
            "name": "Durand SARL",
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
    body.update(overrides)
    return body
