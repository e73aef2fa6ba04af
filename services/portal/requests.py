"""What a debtor asks through the portal that an operator decides (table
``portal_requests``): a proposed payment plan, corrected contact details.

The payload may carry an address or a phone number: it is sealed with the debtor's data
key (storage/debtor_vault.py), so erasing the debtor makes it unreadable like the rest.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.debtor_vault import ERASED_TEXT, DebtorVault
from storage.tables import portal_requests

Kind = Literal["payment_plan", "contact_details"]
PURPOSE = "portal_request"
PENDING, ACCEPTED, REFUSED = "pending", "accepted", "refused"


@dataclass(frozen=True)
class PortalRequest:
    request_id: str
    tenant: str
    debtor_id: str
    kind: str
    payload: dict[str, Any] | None
    """None once the debtor is erased (the sealed payload cannot be opened)."""
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None


def new_request_id() -> str:
    return "prq-" + secrets.token_hex(12)


async def add_request(
    conn: AsyncConnection,
    vault: DebtorVault,
    tenant: str,
    debtor_id: str,
    kind: Kind,
    payload: dict[str, Any],
) -> str:
    """Record a pending request, its payload sealed; its id."""
    request_id = new_request_id()
    sealed = await vault.seal_text(conn, tenant, debtor_id, PURPOSE, json.dumps(payload))
    await conn.execute(
        portal_requests.insert().values(
            request_id=request_id,
            tenant=tenant,
            debtor_id=debtor_id,
            kind=kind,
            payload=sealed,
            status=PENDING,
        )
    )
    return request_id


async def list_requests(
    conn: AsyncConnection,
    vault: DebtorVault,
    tenant: str,
    *,
    debtor_id: str | None = None,
    status: str | None = PENDING,
    limit: int = 200,
) -> list[PortalRequest]:
    """The tenant's requests (one debtor's, if named), oldest first, payloads opened."""
    query = select(portal_requests).where(portal_requests.c.tenant == tenant)
    if debtor_id is not None:
        query = query.where(portal_requests.c.debtor_id == debtor_id)
    if status is not None:
        query = query.where(portal_requests.c.status == status)
    rows = await conn.execute(query.order_by(portal_requests.c.created_at).limit(limit))
    found = []
    for row in rows:
        plain = await vault.open_text(conn, tenant, row.debtor_id, PURPOSE, row.payload)
        payload = None if plain == ERASED_TEXT else json.loads(plain)
        found.append(
            PortalRequest(
                request_id=row.request_id,
                tenant=row.tenant,
                debtor_id=row.debtor_id,
                kind=row.kind,
                payload=payload,
                status=row.status,
                created_at=row.created_at,
                decided_at=row.decided_at,
                decided_by=row.decided_by,
                decision_note=row.decision_note,
            )
        )
    return found


async def decide_request(
    conn: AsyncConnection,
    tenant: str,
    request_id: str,
    status: Literal["accepted", "refused"],
    by: str,
    note: str | None,
) -> bool:
    """Mark a pending request decided; False if it is not pending (decided already, or
    another tenant's)."""
    done = await conn.execute(
        update(portal_requests)
        .where(
            portal_requests.c.tenant == tenant,
            portal_requests.c.request_id == request_id,
            portal_requests.c.status == PENDING,
        )
        .values(status=status, decided_at=datetime.now(UTC), decided_by=by, decision_note=note)
        .returning(portal_requests.c.request_id)
    )
    return done.first() is not None
