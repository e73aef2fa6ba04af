"""Case and workflow ids, derived from the business key (tenant, invoice number)."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6f0f3c1e-8d1b-5a4e-9c1f-2b7d3e5a9c40")


def case_id_for(tenant: str, invoice_number: str) -> str:
    """Stable: the same invoice of the same tenant always has the same case id."""
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}\x00{invoice_number}"))


def workflow_id_for(tenant: str, invoice_number: str) -> str:
    """Readable in the Temporal UI, and unique per invoice."""
    return f"invoice:{tenant}:{invoice_number}"
