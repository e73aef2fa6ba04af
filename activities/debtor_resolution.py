"""The debtor's contact details, fetched by the activity that writes to the debtor.

A case's requests name the debtor by id (``debtor_id``; recipients as ``debtor:<id>``), so
Temporal's history holds no name, email or street; the activity opens the identity from the
vault just before rendering, and seals what it stores (mail copies, letters) with the
debtor's data key. Requests of cases opened before the debtor accounts carry the identity
themselves and pass through unchanged.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.exceptions import ApplicationError

from activities.channel_requests import ChannelRequest
from activities.debtor_contact import identity_context, recipient_of
from activities.email_request import EmailRequest
from schemas.invoice import Debtor
from storage.debtor_vault import DebtorErased, DebtorVault, UnknownDebtor


def _vault(vault: DebtorVault | None) -> DebtorVault:
    if vault is None:
        raise ApplicationError(
            "this worker has no debtor vault: it cannot read a debtor's contact details",
            type="NoDebtorVault",
        )
    return vault


async def identity(
    vault: DebtorVault | None, conn: AsyncConnection, tenant: str, debtor_id: str
) -> Debtor:
    """The debtor's identity; an erased or unknown debtor is a failure retrying cannot fix."""
    try:
        return await _vault(vault).identity(conn, tenant, debtor_id)
    except DebtorErased as err:
        raise ApplicationError(
            f"debtor {debtor_id} was erased: nothing can be sent to it",
            type="DebtorErased",
            non_retryable=True,
        ) from err
    except UnknownDebtor as err:
        raise ApplicationError(
            f"debtor {debtor_id} is unknown to tenant {tenant}",
            type="UnknownDebtor",
            non_retryable=True,
        ) from err


async def resolved_email(
    vault: DebtorVault | None, conn: AsyncConnection, request: EmailRequest
) -> EmailRequest:
    """``request`` with the debtor's address and name filled in."""
    if request.debtor_id is None:
        return request
    debtor = await identity(vault, conn, request.tenant, request.debtor_id)
    return request.model_copy(update={"to": str(debtor.email), "debtor_name": debtor.name})


async def resolved_channel(
    vault: DebtorVault | None, conn: AsyncConnection, request: ChannelRequest
) -> ChannelRequest:
    """``request`` with the debtor's identity in its context and, when the debtor is the
    recipient, its name and postal address."""
    if request.debtor_id is None:
        return request
    debtor = await identity(vault, conn, request.tenant, request.debtor_id)
    update: dict[str, object] = {"context": {**request.context, **identity_context(debtor)}}
    if request.recipient.debtor_id is not None:
        update["recipient"] = recipient_of(debtor)
    return request.model_copy(update=update)
