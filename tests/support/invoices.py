"""Invoice payloads for tests: the API's documented example, each with its own number."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from schemas.invoice import InvoiceIn

_EXAMPLE: dict[str, Any] = InvoiceIn.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]


def invoice_payload(**overrides: Any) -> dict[str, Any]:
    """The example of POST /v1/invoices with a fresh number; keyword arguments replace fields."""
    body = copy.deepcopy(_EXAMPLE)
    body["invoice_number"] = f"F-TEST-{uuid.uuid4().hex[:10]}"
    body.update(overrides)
    return body
