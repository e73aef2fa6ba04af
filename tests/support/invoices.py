"""Invoice payloads for tests: the API's documented example, each with its own number."""

from __future__ import annotations

import copy
import secrets
import uuid
from typing import Any

from stdnum import luhn

from schemas.invoice import InvoiceIn

_EXAMPLE: dict[str, Any] = InvoiceIn.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]


def fresh_siren() -> str:
    """A valid SIREN no other test uses (8 random digits and their Luhn check digit)."""
    digits = f"{secrets.randbelow(10**8):08d}"
    return digits + luhn.calc_check_digit(digits)


def invoice_payload(**overrides: Any) -> dict[str, Any]:
    """The example of POST /v1/invoices with a fresh number and, unless ``debtor`` is given,
    a debtor of its own (a fresh SIREN: invoices of one SIREN are one debtor's account);
    keyword arguments replace fields."""
    body = copy.deepcopy(_EXAMPLE)
    body["invoice_number"] = f"F-TEST-{uuid.uuid4().hex[:10]}"
    body["debtor"]["siren"] = fresh_siren()
    body.update(overrides)
    return body
